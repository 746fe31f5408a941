import { createHash } from 'node:crypto';
import type { RecordedEvent } from '../../eventstore/port.js';
import { EVENT_CATALOG, type EventTypeInfo } from '../../events/catalog.js';
import type { Document } from '../../readmodels/port.js';
import { canonicalJson, type JsonValue } from '../../shared/json.js';

/**
 * One audit entry per event: the pure function shared by the audit
 * projection (which stores entries) and the verifier (which recomputes them
 * from the event log). Both must agree byte for byte, so nothing here reads a
 * clock, the environment or the read model.
 */

export interface AuditActor {
  type: string;
  id: string;
}

/** An entry as clients, exports and the hash chain see it (the API's AuditLogEntry). */
export interface AuditEntryView {
  id: string;
  tenantId: string;
  namespace: string | null;
  resourceType: string;
  resourceId: string;
  action: string;
  eventType: string;
  actor: AuditActor;
  occurredAt: string;
  /** Decimal string, as the API's Position scalar. */
  position: string;
  correlationId: string;
  changes: JsonValue | null;
  ip: string | null;
  userAgent: string | null;
  previousHash: string | null;
  hash: string;
}

/**
 * An entry as stored. `_id` is the event id, so a replayed event can never
 * produce a second entry. `changes` is kept as JSON text: user-supplied keys
 * (variables with dots or `$`) are not valid MongoDB field names everywhere,
 * and nothing queries inside them.
 */
export type AuditEntryDocument = Document &
  Omit<AuditEntryView, 'id' | 'position' | 'changes'> & {
    /** A number in the read model, so that it sorts and ranges as one. */
    position: number;
    changesJson: string | null;
  };

/** The head of one tenant's chain: the hash and position of its last entry. */
export interface ChainHeadDocument extends Document {
  tenantId: string;
  hash: string;
  position: number;
}

export interface ChainLink {
  hash: string | null;
  position: number;
}

export const GENESIS: ChainLink = { hash: null, position: 0 };

/** Event types that get an audit entry: every cataloged type (the command handler writes no other). */
export const AUDITED_EVENT_TYPES: ReadonlySet<string> = new Set(Object.keys(EVENT_CATALOG));

const UNKNOWN_TYPE: EventTypeInfo = { resourceType: 'UNKNOWN', action: 'UPDATE', resourceId: () => '' };

/** Actions whose event describes what existed before (the entry shows it as `before`). */
const REMOVING_ACTIONS: ReadonlySet<string> = new Set(['DELETE', 'REVOKE', 'REMOVE_MEMBER']);

/**
 * Event fields that never enter an audit entry, per resource type (fields of
 * the event's data, or of its `changes`). Secret events carry metadata only;
 * stripping a `value` field anyway means a future event that carried one by
 * mistake would still not leak it into entries and exports. (Nested values
 * such as a tag's `{key, value}` are metadata and stay.) API token events
 * carry a salted hash of the token: not reversible, but of no use to an
 * auditor and of some use to an attacker.
 */
const REDACTED_FIELDS: Readonly<Record<string, ReadonlySet<string>>> = {
  SECRET: new Set(['value']),
  API_TOKEN: new Set(['secretSalt', 'secretHash']),
};
const NOTHING: ReadonlySet<string> = new Set();

/** The tenant whose chain an event belongs to: the first segment of its stream (`_instance` for instance-level events). */
export const chainOf = (event: RecordedEvent): string => {
  // parseStreamName(event.streamName).tenantId, without splitting the whole name (once per event per replay).
  const slash = event.streamName.indexOf('/');
  return slash === -1 ? event.streamName : event.streamName.slice(0, slash);
};

const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);

function withoutFields(fields: Record<string, unknown>, hidden: ReadonlySet<string>): JsonValue {
  return Object.fromEntries(Object.entries(fields).filter(([key]) => !hidden.has(key))) as JsonValue;
}

/**
 * The before/after of what changed. *Updated events already carry
 * `{changes: {field: {before, after}}}`; a created (or granted, restored)
 * resource shows its data as `after`, a deleted (or revoked) one as `before`.
 */
export function changesOf(event: RecordedEvent, info: EventTypeInfo): JsonValue | null {
  const data = isObject(event.data) ? event.data : {};
  const hidden = REDACTED_FIELDS[info.resourceType] ?? NOTHING;
  if (isObject(data['changes'])) return withoutFields(data['changes'], hidden);
  if (Object.keys(data).length === 0) return null;
  const fields = withoutFields(data, hidden);
  return REMOVING_ACTIONS.has(info.action) ? { before: fields } : { after: fields };
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * The chain link of an entry: SHA-256 (hex) of the canonical JSON (keys
 * sorted, no whitespace) of every field of the entry except `hash` itself,
 * `previousHash` included. Computed over the API shape, so an auditor can
 * check an NDJSON export line by line with nothing but the export.
 */
export function entryHash(entry: Omit<AuditEntryView, 'hash'> & { hash?: string }): string {
  const { hash: _ignored, ...content } = entry;
  return sha256Hex(canonicalJson(content));
}

/** The entry an event produces, linked to the previous entry of its tenant's chain. */
export function auditEntryOf(event: RecordedEvent, previousHash: string | null): AuditEntryView {
  return auditRecordOf(event, previousHash).entry;
}

/**
 * The entry and the canonical JSON of its `changes` (what the document
 * stores), computed once: the audit projection runs this for every event.
 */
export function auditRecordOf(event: RecordedEvent, previousHash: string | null): { entry: AuditEntryView; changesJson: string | null } {
  const info = EVENT_CATALOG[event.type] ?? UNKNOWN_TYPE;
  const data = isObject(event.data) ? event.data : {};
  const m = event.metadata;
  const changesJson = serializeChanges(changesOf(event, info));
  const content: Omit<AuditEntryView, 'hash'> = {
    id: event.id,
    tenantId: chainOf(event),
    namespace: m.namespace ?? null,
    resourceType: info.resourceType,
    resourceId: info.resourceId(data),
    action: info.actionOf?.(data) ?? info.action,
    eventType: event.type,
    actor: { type: m.actor.type, id: m.actor.id },
    occurredAt: m.occurredAt,
    position: String(event.position),
    correlationId: m.correlationId,
    // Through canonical JSON and back: the stored text parses to exactly what was hashed.
    changes: parseJson(changesJson),
    ip: m.ip ?? null,
    userAgent: m.userAgent ?? null,
    previousHash,
  };
  // Object.assign, not `{ ...content, hash }`: that spread costs microseconds per object on Node 20.
  const entry: AuditEntryView = Object.assign(content, { hash: sha256Hex(canonicalContent(content)) });
  return { entry, changesJson };
}

/**
 * `canonicalJson(content)` (the definition of the hash input, see entryHash)
 * without its generic key sorting, which was a fifth of a replay's time: the
 * keys are written here in sorted order, and `changes` was parsed from its
 * own canonical text, so its key order is canonical already. A unit test
 * holds the two equal on generated entries, and a frozen entry pins the
 * bytes.
 */
function canonicalContent(content: Omit<AuditEntryView, 'hash'>): string {
  return JSON.stringify({
    action: content.action,
    actor: { id: content.actor.id, type: content.actor.type },
    changes: content.changes,
    correlationId: content.correlationId,
    eventType: content.eventType,
    id: content.id,
    ip: content.ip,
    namespace: content.namespace,
    occurredAt: content.occurredAt,
    position: content.position,
    previousHash: content.previousHash,
    resourceId: content.resourceId,
    resourceType: content.resourceType,
    tenantId: content.tenantId,
    userAgent: content.userAgent,
  });
}

const serializeChanges = (changes: JsonValue | null): string | null => (changes === null ? null : canonicalJson(changes));
const parseJson = (text: string | null): JsonValue | null => (text === null ? null : (JSON.parse(text) as JsonValue));

/** The stored form of an entry; `changesJson` when the caller has it already (see auditRecordOf). */
export function toDocument(view: AuditEntryView, changesJson: string | null = serializeChanges(view.changes)): AuditEntryDocument {
  return {
    _id: view.id,
    tenantId: view.tenantId,
    namespace: view.namespace,
    resourceType: view.resourceType,
    resourceId: view.resourceId,
    action: view.action,
    eventType: view.eventType,
    actor: view.actor,
    occurredAt: view.occurredAt,
    correlationId: view.correlationId,
    ip: view.ip,
    userAgent: view.userAgent,
    previousHash: view.previousHash,
    hash: view.hash,
    position: Number(view.position),
    changesJson,
  };
}

export function toView(doc: AuditEntryDocument): AuditEntryView {
  return {
    id: doc._id,
    tenantId: doc.tenantId,
    namespace: doc.namespace ?? null,
    resourceType: doc.resourceType,
    resourceId: doc.resourceId,
    action: doc.action,
    eventType: doc.eventType,
    actor: { type: doc.actor.type, id: doc.actor.id },
    occurredAt: doc.occurredAt,
    position: String(doc.position),
    correlationId: doc.correlationId,
    changes: parseJson(doc.changesJson ?? null),
    ip: doc.ip ?? null,
    userAgent: doc.userAgent ?? null,
    previousHash: doc.previousHash ?? null,
    hash: doc.hash,
  };
}
