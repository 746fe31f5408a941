import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import type { AuditEntryView } from '../application/audit.js';
import type { Page } from '../application/pagination.js';
import type { AuditJobView } from '../application/audit-jobs.js';
import type { AuditLedgerService, ConsistencyProofView, InclusionProofView } from '../application/audit-ledger.js';
import type { AuditVerification, VerificationSource } from '../application/audit-verify.js';
import { EVENT_CATALOG, type AuditAction } from '../events/catalog.js';
import type { JsonValue } from '../shared/json.js';
import { PageInfo } from './connection.type.js';
import { EDGE_CURSOR, TENANT_ID } from './descriptions.js';
import { DateTimeScalar, JSONScalar, PositionScalar } from './scalars.js';
import { PrincipalKind } from './user.type.js';

/**
 * The audit log's resource types and actions as enums on outputs (AuditLogFilter keeps String: a
 * GraphQL enum refuses a quoted literal such as `action: "UPDATE"` in a query's text). The resource
 * types are the event catalog's, so a new one shows up here by itself; its description below is
 * then missing, which npm run lint and the schema unit test name.
 */
const RESOURCE_TYPE_DESCRIPTIONS: Record<string, string> = {
  TENANT: 'A tenant.',
  USER: 'A user (instance-level: in the `_instance` trail).',
  NAMESPACE: 'A namespace.',
  FLOW: 'A flow (resourceId `namespace.id`).',
  SECRET: 'A namespace secret (resourceId `namespace/KEY`); never its value.',
  ROLE: 'A custom role.',
  BINDING: 'A binding.',
  GROUP: 'A group or its membership.',
  SERVICE_ACCOUNT: 'A service account.',
  API_TOKEN: 'An API token (never its secret).',
  UNKNOWN: 'An event type this version of the gateway does not know.',
};
const resourceTypes = [...new Set([...Object.values(EVENT_CATALOG).map((info) => info.resourceType), 'UNKNOWN'])].sort();
export const AuditResourceTypeEnum = Object.fromEntries(resourceTypes.map((t) => [t, t])) as Record<string, string>;
registerEnumType(AuditResourceTypeEnum, {
  name: 'AuditResourceType',
  description: 'What kind of thing an audit-log entry is about.',
  valuesConfig: Object.fromEntries(
    resourceTypes.filter((t) => RESOURCE_TYPE_DESCRIPTIONS[t]).map((t) => [t, { description: RESOURCE_TYPE_DESCRIPTIONS[t] }]),
  ),
});

const AUDIT_ACTIONS = {
  CREATE: 'Created (or re-created after a delete).',
  UPDATE: 'Changed: fields, settings, a new revision, disabled or enabled.',
  DELETE: 'Deleted (flows and tenants: soft-deleted).',
  RESTORE: 'Brought back after a delete.',
  GRANT: 'A binding created: a role granted.',
  REVOKE: 'A binding deleted or an API token revoked.',
  ADD_MEMBER: 'A user added to a group.',
  REMOVE_MEMBER: 'A user removed from a group.',
  REVEAL: 'Reserved for reading a secret value; this version records no such event.',
} satisfies Record<AuditAction, string>;
export const AuditActionEnum = Object.fromEntries(Object.keys(AUDIT_ACTIONS).map((a) => [a, a])) as { [A in AuditAction]: A };
registerEnumType(AuditActionEnum, {
  name: 'AuditAction',
  description: 'What an audited event did to its resource.',
  valuesConfig: Object.fromEntries(Object.entries(AUDIT_ACTIONS).map(([a, description]) => [a, { description }])),
});

/** The views' parts the schema names on their own: through the application, never the projection or the ledger. */
type ActorView = AuditEntryView['actor'];
type CheckpointView = InclusionProofView['checkpoint'];

@ObjectType({ description: 'Who caused an event.' })
export class Actor implements ActorView {
  @Field(() => PrincipalKind, { description: 'A user, a service account, or SYSTEM (the gateway or the command line).' }) type!: string;
  @Field(() => ID, {
    description:
      'The user or service account id (`admin`: the bootstrap admin); for SYSTEM, what acted: `bootstrap` (the first start), `cli` (the command line), `system`.',
  })
  id!: string;
}

@ObjectType({ description: 'One event, as the audit log records it. Entries are hash-chained per tenant.' })
export class AuditLogEntry implements AuditEntryView {
  @Field(() => ID, { description: 'The id of the event.' }) id!: string;
  @Field(() => String, { description: 'The tenant, or `_instance` for instance-level events (users).' }) tenantId!: string;
  @Field(() => String, {
    nullable: true,
    description: 'The namespace of the resource; null for resources outside namespaces (roles, users, …).',
  })
  namespace!: string | null;
  @Field(() => AuditResourceTypeEnum, { description: 'What kind of thing changed.' }) resourceType!: string;
  @Field(() => String, { description: 'Its id (a flow: `namespace.id`; see flowNamespace and flowId).' }) resourceId!: string;
  @Field(() => AuditActionEnum, { description: 'What the event did to it.' }) action!: string;
  @Field(() => String, { description: 'The domain event, e.g. FlowCreated or BindingDeleted.' }) eventType!: string;
  @Field(() => Actor, { description: 'Who caused it.' }) actor!: Actor;
  @Field(() => DateTimeScalar, { description: 'When the event was appended.' }) occurredAt!: string;
  @Field(() => PositionScalar, {
    description: 'Its position in the event log: the order of the trail, and `afterPosition` of auditLogAppended.',
  })
  position!: string;
  @Field(() => String, {
    description: 'The correlation id of the request that caused it (X-Correlation-Id), also in its errors and log lines.',
  })
  correlationId!: string;
  @Field(() => JSONScalar, {
    nullable: true,
    description:
      'Before/after of what changed: `{field: {before, after}}` for updates, `{after}` for creations, `{before}` for deletions. Never a secret value.',
  })
  changes!: JsonValue | null;
  @Field(() => String, {
    nullable: true,
    description: 'Client address of the request; null when none (the command line, the gateway itself).',
  })
  ip!: string | null;
  @Field(() => String, { nullable: true, description: 'User-Agent of the request (at most 512 characters); null when none.' })
  userAgent!: string | null;
  @Field(() => String, { description: 'SHA-256 (hex) of the canonical JSON of every other field, previousHash included.' }) hash!: string;
  @Field(() => String, { nullable: true, description: "The previous entry's hash in this tenant's chain; null for the first." })
  previousHash!: string | null;
}

type AuditEdgeView = Page<AuditEntryView>['edges'][number];

@ObjectType({ description: 'One entry of a page of the audit log.' })
export class AuditLogEdge implements AuditEdgeView {
  @Field(() => String, { description: EDGE_CURSOR }) cursor!: string;
  @Field(() => AuditLogEntry, { description: 'The entry.' }) node!: AuditLogEntry;
}

// totalCount: the page's is a promise, counted only when read; type-graphql awaits it.
@ObjectType({ description: 'A page of audit-log entries, newest first (Relay connection).' })
export class AuditLogConnection implements Omit<Page<AuditEntryView>, 'totalCount'> {
  @Field(() => [AuditLogEdge], { description: 'The entries of this page.' }) edges!: AuditLogEdge[];
  @Field(() => PageInfo, { description: 'Whether more follow, and the cursor to ask for them.' }) pageInfo!: PageInfo;
  @Field(() => Int, { description: 'Entries matching the filter that the caller may see, all pages together.' }) totalCount!: number;
}

@ObjectType({ description: 'The result of recomputing a tenant chain from the read model and from the event log.' })
export class AuditLogVerification implements AuditVerification {
  @Field(() => Boolean, { description: 'Every entry checked out: the chain is intact.' }) ok!: boolean;
  @Field(() => String, { description: 'The trail checked: the tenant, or `_instance`.' }) tenantId!: string;
  @Field(() => Int, { description: 'Entries known good: checked by this run, plus (incremental) those verified before it.' })
  checkedEntries!: number;
  @Field(() => Int, { description: 'Entries this run read and checked.' }) newlyCheckedEntries!: number;
  @Field(() => Boolean, { description: 'The run started after the last entry verified before, instead of at the first entry.' })
  incremental!: boolean;
  @Field(() => PositionScalar, { description: 'Position of the last entry verified before this run (0: from the first entry).' })
  verifiedFrom!: string;
  @Field(() => PositionScalar, { description: 'Entries up to this position were checked.' }) verifiedUpTo!: string;
  @Field(() => String, { nullable: true, description: 'Hash of the last entry that checked out.' }) lastHash!: string | null;
  @Field(() => ID, { nullable: true, description: 'The first entry that does not match; null when ok.' }) firstBrokenEntryId!:
    string | null;
  @Field(() => PositionScalar, { nullable: true, description: 'Its position in the log; null when ok.' }) firstBrokenPosition!:
    string | null;
  @Field(() => String, { nullable: true, description: 'What does not match, in words; null when ok.' }) reason!: string | null;
  @Field(() => String, {
    nullable: true,
    description:
      "`readModel`: the stored chain contradicts itself; `eventLog`: the chain or the ledger disagrees with the events the log holds now; `ledger`: the ledger's own store was changed; `checkpoint`: the log no longer reaches a signed root, a signature does not check out, or (with TENANTRY_AUDIT_WITNESS_FILE) a witnessed checkpoint is missing from the store or not extended by the ledger.",
  })
  source!: VerificationSource | null;
  @Field(() => Int, { nullable: true, description: 'Events of the log hashed again and checked against the ledger by this run.' })
  checkedEvents?: number;
  @Field(() => Int, { nullable: true, description: 'Signed checkpoints whose root the log reached, each with a trusted signature.' })
  checkedCheckpoints?: number;
}

@ObjectType({ description: "A signed tree head of a tenant's ledger (Ed25519 over the text form in docs/ledger.md)." })
export class AuditCheckpoint implements CheckpointView {
  @Field(() => String, { description: TENANT_ID }) tenantId!: string;
  @Field(() => Int, { description: 'Events covered: the first `size` events of the tenant, in log order.' }) size!: number;
  @Field(() => String, { description: 'Merkle tree root (RFC 9162, SHA-256), hex.' }) rootHash!: string;
  @Field(() => DateTimeScalar, { description: 'When it was signed.' }) signedAt!: string;
  @Field(() => String, { description: 'First 16 hex digits of SHA-256 of the signing public key (SPKI DER).' }) keyId!: string;
  @Field(() => String, { description: 'Ed25519 signature, base64.' }) signature!: string;
}

type TrustedKeyView = ReturnType<AuditLedgerService['keys']>['trusted'][number];

// current: added by the resolver (auditSigningKeys), the key that signs new checkpoints.
@ObjectType({ description: 'A public key that signs (or signed) checkpoints.' })
export class AuditSigningKey implements TrustedKeyView {
  @Field(() => String, { description: 'First 16 hex digits of SHA-256 of the public key (SPKI DER), as AuditCheckpoint.keyId names it.' })
  keyId!: string;
  @Field(() => String, { description: 'The Ed25519 public key, PEM (SPKI), to check signatures with.' }) publicKeyPem!: string;
  @Field(() => Boolean, { description: 'The key that signs new checkpoints.' }) current!: boolean;
}

@ObjectType({ description: 'Proof that the log of `toSize` events extends the one of `fromSize` (RFC 9162 consistency proof).' })
export class AuditConsistencyProof implements ConsistencyProofView {
  @Field(() => String, { description: TENANT_ID }) tenantId!: string;
  @Field(() => Int, { description: 'Events of the older ledger (the checkpoint you kept).' }) fromSize!: number;
  @Field(() => Int, { description: 'Events of the newer ledger.' }) toSize!: number;
  @Field(() => String, { description: 'Root of the first fromSize events: must equal the root of the checkpoint you kept.' })
  fromRoot!: string;
  @Field(() => String, { description: 'Root of the first toSize events, hex.' }) toRoot!: string;
  @Field(() => [String], { description: 'Hashes, hex, in RFC 9162 order.' }) proof!: string[];
  @Field(() => AuditCheckpoint, { nullable: true, description: 'The signed checkpoint of toSize, if one was signed at that size.' })
  toCheckpoint!: AuditCheckpoint | null;
}

// position: a decimal string here, as every Position the API sends (the resolver converts the view's number).
@ObjectType({ description: 'Proof that an event is in a signed checkpoint (RFC 9162 inclusion proof).' })
export class AuditInclusionProof implements Omit<InclusionProofView, 'position'> {
  @Field(() => String, { description: TENANT_ID }) tenantId!: string;
  @Field(() => PositionScalar, { description: 'Position of the event in the log.' }) position!: string;
  @Field(() => Int, { description: "The event's index among the tenant's events (0 = its first)." }) leafIndex!: number;
  @Field(() => Int, { description: 'Events covered by the checkpoint the proof leads to.' }) treeSize!: number;
  @Field(() => String, { description: 'SHA-256(0x00 ‖ RFC 8785 JSON of the event as stored), hex.' }) leafHash!: string;
  @Field(() => [String], { description: 'The audit path, hex, bottom up.' }) proof!: string[];
  @Field(() => AuditCheckpoint, { description: 'The signed checkpoint whose root the proof reaches.' }) checkpoint!: AuditCheckpoint;
}

export enum AuditVerificationJobStatus {
  RUNNING = 'RUNNING',
  SUCCEEDED = 'SUCCEEDED',
  FAILED = 'FAILED',
  ERROR = 'ERROR',
  ABANDONED = 'ABANDONED',
}

registerEnumType(AuditVerificationJobStatus, {
  name: 'AuditVerificationJobStatus',
  description: 'Where a background verification stands.',
  valuesConfig: {
    RUNNING: { description: 'Checking entries; see checkedEntries against totalEntries.' },
    SUCCEEDED: { description: 'Every entry up to targetPosition checked out.' },
    FAILED: { description: 'The chain is broken: result names the first entry that does not match.' },
    ERROR: { description: 'The job could not finish (a store failed, or the gateway stopped); error says why. Start a new one.' },
    ABANDONED: { description: 'The process running the job stopped sending heartbeats (it died). Start a new one.' },
  },
});

// targetPosition: a decimal string here, as every Position the API sends (jobView in audit.resolver.ts converts the view's number).
@ObjectType({ description: "A full re-verification of a tenant's audit chain, running in the background." })
export class AuditVerificationJob implements Omit<AuditJobView, 'targetPosition'> {
  @Field(() => ID, { description: 'Job id: for auditVerificationJob.' }) id!: string;
  @Field(() => String, { description: 'The trail it verifies: the tenant, or `_instance`.' }) tenantId!: string;
  @Field(() => AuditVerificationJobStatus, { description: 'Where it stands.' }) status!: AuditVerificationJobStatus;
  @Field(() => DateTimeScalar, { description: 'When it started.' }) startedAt!: string;
  @Field(() => String, { description: 'Id of the user or service account that started it.' }) startedBy!: string;
  @Field(() => DateTimeScalar, { nullable: true, description: 'When it finished; null while RUNNING.' }) finishedAt!: string | null;
  @Field(() => DateTimeScalar, { description: 'Last sign of life of the process running it.' }) heartbeatAt!: string;
  @Field(() => Int, { description: 'Entries checked so far.' }) checkedEntries!: number;
  @Field(() => Int, { description: 'Entries in the chain when the job started.' }) totalEntries!: number;
  @Field(() => PositionScalar, { description: 'Entries up to this position are checked.' }) targetPosition!: string;
  @Field(() => AuditLogVerification, { nullable: true, description: 'The outcome, once finished.' }) result!: AuditLogVerification | null;
  @Field(() => String, { nullable: true, description: 'Why it could not finish (status ERROR); null otherwise.' }) error!: string | null;
}
