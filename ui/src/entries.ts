/** The AuditLogEntry of the API, and the GraphQL documents the page sends. */
export interface AuditEntry {
  id: string;
  tenantId: string;
  namespace: string | null;
  resourceType: string;
  resourceId: string;
  action: string;
  eventType: string;
  actor: { type: string; id: string };
  occurredAt: string;
  position: string;
  correlationId: string;
  changes: unknown;
  ip: string | null;
  userAgent: string | null;
  hash: string;
  previousHash: string | null;
}

export interface AuditPage {
  auditLogs: {
    totalCount: number;
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
    edges: { node: AuditEntry }[];
  };
}

export interface Verification {
  ok: boolean;
  tenantId: string;
  checkedEntries: number;
  verifiedUpTo: string;
  lastHash: string | null;
  firstBrokenEntryId: string | null;
  firstBrokenPosition: string | null;
  reason: string | null;
  source: string | null;
}

const ENTRY_FIELDS = `id tenantId namespace resourceType resourceId action eventType actor { type id }
  occurredAt position correlationId changes ip userAgent hash previousHash`;

export const AUDIT_LOGS = `query AuditLogs($filter: AuditLogFilter, $first: Int, $after: String) {
  auditLogs(filter: $filter, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { ${ENTRY_FIELDS} } }
  }
}`;

export const AUDIT_LOG_APPENDED = `subscription AuditLogAppended($filter: AuditLogFilter, $afterPosition: Position) {
  auditLogAppended(filter: $filter, afterPosition: $afterPosition) { ${ENTRY_FIELDS} }
}`;

export const VERIFY_AUDIT_LOG = `query VerifyAuditLog {
  verifyAuditLog { ok tenantId checkedEntries verifiedUpTo lastHash firstBrokenEntryId firstBrokenPosition reason source }
}`;

export const ME = `query Me { me { id type name } }`;

/** Values the filter bar offers; entries of other types still show, and a URL may name any. */
export const RESOURCE_TYPES = ['NAMESPACE', 'FLOW', 'SECRET', 'ROLE', 'BINDING', 'GROUP', 'SERVICE_ACCOUNT', 'API_TOKEN', 'TENANT', 'USER'];
export const ACTIONS = ['CREATE', 'UPDATE', 'DELETE', 'RESTORE', 'GRANT', 'REVOKE', 'ADD_MEMBER', 'REMOVE_MEMBER', 'REVEAL'];
