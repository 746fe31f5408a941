import crypto, { createHash } from 'node:crypto';
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
    /**
     * The namespace and its ancestors (`a.b.c` → `a`, `a.b`, `a.b.c`; none
     * for tenant-level events): "in this subtree" becomes an equality on one
     * indexed (multikey) field, so a namespace filter or a namespace-scoped
     * reader's scope is an index lookup, not a scan. Derived from
     * `namespace`, so not part of the hashed entry; verification checks it.
     */
    namespacePath: string[];
  };

/**
 * The flow an entry is about, as namespace and id apart: `resourceId` joins
 * them with a dot, and both may hold dots (`a.b` + `c` and `a` + `b.c` give
 * the same `a.b.c`). The entry's `namespace` is the flow's, so the id is what
 * follows it. Derived from hashed fields, so as tamper-evident as they are.
 */
export function flowOf(entry: {
  resourceType: string;
  namespace: string | null;
  resourceId: string;
}): { namespace: string; id: string } | null {
  const namespace = entry.namespace;
  if (entry.resourceType !== 'FLOW' || !namespace || !entry.resourceId.startsWith(`${namespace}.`)) return null;
  return { namespace, id: entry.resourceId.slice(namespace.length + 1) };
}

/** `a.b.c` → `['a', 'a.b', 'a.b.c']`; null → []. */
export function namespacePathOf(namespace: string | null): string[] {
  if (namespace === null || namespace === '') return [];
  const parts = namespace.split('.');
  return parts.map((_, i) => parts.slice(0, i + 1).join('.'));
}

/** The head of one tenant's chain: the hash and position of its last entry. */
export interface ChainHeadDocument extends Document {
  tenantId: string;
  hash: string;
  position: number;
  /** Entries in the chain (progress of a verification counts against it). */
  entries?: number;
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
  if (hidden.size === 0) return fields as JsonValue;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(fields)) {
    if (hidden.has(key)) continue;
    // (A data key named __proto__ must stay a key, as with Object.fromEntries, not set the prototype.)
    if (key === '__proto__') Object.defineProperty(out, key, { value: fields[key], enumerable: true, writable: true, configurable: true });
    else out[key] = fields[key];
  }
  return out as JsonValue;
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

/** Node's one-shot `crypto.hash` (20.12+, about twice as fast for short inputs), else createHash. */
const oneShot = (crypto as { hash?: (algorithm: string, data: string, encoding: 'hex') => string }).hash;

export function sha256Hex(text: string): string {
  return oneShot ? oneShot('sha256', text, 'hex') : createHash('sha256').update(text).digest('hex');
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
  return toView(auditDocumentOf(event, previousHash));
}

/**
 * The stored entry an event produces (the audit projection runs this for
 * every event, the verifier through auditEntryOf). `changes` is serialized
 * to canonical JSON once and never parsed back here: the hash input embeds
 * that text as is (see hashInput).
 */
export function auditDocumentOf(event: RecordedEvent, previousHash: string | null): AuditEntryDocument {
  const info = EVENT_CATALOG[event.type] ?? UNKNOWN_TYPE;
  const data = isObject(event.data) ? event.data : {};
  const m = event.metadata;
  const document: AuditEntryDocument = {
    _id: event.id,
    tenantId: chainOf(event),
    namespace: m.namespace ?? null,
    resourceType: info.resourceType,
    resourceId: info.resourceId(data),
    action: info.actionOf?.(data) ?? info.action,
    eventType: event.type,
    actor: { type: m.actor.type, id: m.actor.id },
    occurredAt: m.occurredAt,
    correlationId: m.correlationId,
    ip: m.ip ?? null,
    userAgent: m.userAgent ?? null,
    previousHash,
    hash: '',
    position: event.position,
    changesJson: serializeChanges(changesOf(event, info)),
    namespacePath: namespacePathOf(m.namespace ?? null),
  };
  document.hash = sha256Hex(hashInput(document));
  return document;
}

/**
 * `canonicalJson(entry without hash)` (the definition of the hash input, see
 * entryHash), written directly: keys in sorted order, and `changes` spliced
 * in as its canonical text (which is exactly what canonicalJson writes for
 * the parsed value: canonical JSON parses and re-serializes to itself). The
 * generic key sort was a fifth of a replay's time. A property test holds the
 * two equal on generated entries, and a frozen entry pins the bytes.
 */
function hashInput(doc: AuditEntryDocument): string {
  // 'action' < 'actor' < 'changes' < 'correlationId' < … in UTF-16 order.
  const head = JSON.stringify({ action: doc.action, actor: { id: doc.actor.id, type: doc.actor.type } });
  const tail = JSON.stringify({
    correlationId: doc.correlationId,
    eventType: doc.eventType,
    id: doc._id,
    ip: doc.ip ?? null,
    namespace: doc.namespace ?? null,
    occurredAt: doc.occurredAt,
    position: String(doc.position),
    previousHash: doc.previousHash ?? null,
    resourceId: doc.resourceId,
    resourceType: doc.resourceType,
    tenantId: doc.tenantId,
    userAgent: doc.userAgent ?? null,
  });
  return `${head.slice(0, -1)},"changes":${doc.changesJson ?? 'null'},${tail.slice(1)}`;
}

/**
 * The hash a stored entry's own fields give (what `hash` must be), through
 * the projection's fast path: equal to entryHash(toView(doc)) for every
 * entry the projection writes (a property test holds the two equal), and
 * different for an edited one.
 */
export const documentHash = (doc: AuditEntryDocument): string => sha256Hex(hashInput(doc));

const serializeChanges = (changes: JsonValue | null): string | null => (changes === null ? null : canonicalJson(changes));
const parseJson = (text: string | null): JsonValue | null => (text === null ? null : (JSON.parse(text) as JsonValue));

/** The stored form of an entry. */
export function toDocument(view: AuditEntryView): AuditEntryDocument {
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
    changesJson: serializeChanges(view.changes),
    namespacePath: namespacePathOf(view.namespace),
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
