/**
 * What the ledger hashes: each stored event as the log holds it (before any
 * upcasting), in a canonical form, so that the leaf depends on the event
 * alone and any tool can recompute it from an export.
 */
import type { RecordedEvent } from '../eventstore/port.js';
import { leafHash, type Hash } from '../shared/merkle.js';
import { jcs } from '../shared/json.js';

/** The tenant whose ledger an event belongs to: the first segment of its stream (`_instance` for instance-level events). */
export function ledgerOf(streamName: string): string {
  const slash = streamName.indexOf('/');
  return slash === -1 ? streamName : streamName.slice(0, slash);
}

/**
 * The leaf bytes of an event: its JSON Canonicalization Scheme form (RFC
 * 8785: keys sorted by UTF-16 code units, no whitespace) of
 * `{id, type, schemaVersion, data, metadata, streamName, streamRevision, position}`,
 * in UTF-8.
 */
export function leafText(event: RecordedEvent): string {
  return jcs({
    id: event.id,
    type: event.type,
    schemaVersion: event.schemaVersion,
    data: event.data,
    metadata: event.metadata,
    streamName: event.streamName,
    streamRevision: event.streamRevision,
    position: event.position,
  });
}

export const eventLeaf = (event: RecordedEvent): Hash => leafHash(leafText(event));
