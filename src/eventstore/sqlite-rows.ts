/**
 * The SQLite log's rows and the events they hold: a row of the `events`
 * table, as an object or raw (an array), turned into a RecordedEvent.
 */
import type { EventMetadata, RecordedEvent } from './port.js';

export interface EventRow {
  position: number;
  event_id: string;
  stream: string;
  revision: number;
  type: string;
  schema_version: number;
  data: string;
  metadata: string;
}

/** A row of `columns` in raw mode (an array, in column order): about half the cost of a row object per event. */
export type RawEventRow = [
  position: number,
  eventId: string,
  stream: string,
  revision: number,
  type: string,
  schemaVersion: number,
  data: string,
  metadata: string,
];

export function fromRaw(row: RawEventRow): RecordedEvent {
  return {
    id: row[1],
    type: row[4],
    schemaVersion: row[5],
    data: JSON.parse(row[6]) as unknown,
    metadata: JSON.parse(row[7]) as EventMetadata,
    streamName: row[2],
    streamRevision: row[3],
    position: row[0],
  };
}

export function toRecorded(row: EventRow): RecordedEvent {
  return {
    id: row.event_id,
    type: row.type,
    schemaVersion: row.schema_version,
    data: JSON.parse(row.data) as unknown,
    metadata: JSON.parse(row.metadata) as EventMetadata,
    streamName: row.stream,
    streamRevision: row.revision,
    position: row.position,
  };
}
