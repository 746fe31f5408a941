/**
 * The SQLite log's writes, on a thread of their own.
 *
 * better-sqlite3 is synchronous: on the event loop, every commit of the log
 * held every tenant's requests for the insert, the WAL write and the fsync
 * (1–2 ms for a small event here, 3–5 ms for a 200 KB flow source, far more
 * on a slow network disk). The writer thread owns a second connection to the
 * same file and runs each group of appends as one IMMEDIATE transaction, one
 * savepoint per append, exactly as the in-process path did; the event loop
 * only serialises the events and, with the positions returned, caches them.
 * Reads stay on the main connection (WAL: readers never wait for the writer).
 *
 * The thread's code is plain JavaScript, evaluated: it starts in a few
 * milliseconds under vitest and `npx tsx` as in `dist/`, with no loader.
 * If the thread dies, the appends it had are rejected as unavailable (the
 * caller's retry is idempotent: an append whose event ids are already stored
 * answers with their positions) and the next append starts a new thread.
 */
import { SqliteWriter, threadError, type ThreadFailure } from '../shared/sqlite-thread.js';
import type { AppendResult, ExpectedRevision } from './port.js';

/** One append as the thread receives it: data and metadata already JSON. */
export interface SerializedAppend {
  stream: string;
  expected: ExpectedRevision;
  events: { id: string; type: string; schemaVersion: number; data: string; metadata: string }[];
}

/** What became of one append of a group. */
export type WriterOutcome =
  /** Stored: `positions` of its events, in order (empty for a retry of an append already stored). */
  | { ok: AppendResult; positions: number[] }
  /** Not stored: the stream's revision did not match `expected`. */
  | { mismatch: number }
  /** Not stored: SQLite refused it (its savepoint was rolled back; the others of the group commit). */
  | { error: Error };

export interface WriterSettings {
  busyTimeoutMs: number;
  synchronous: 'FULL' | 'NORMAL';
  /** 0 when the WAL is checkpointed elsewhere (src/shared/wal-checkpointer.ts). */
  walAutocheckpoint: number;
}

const THREAD = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { fileMustExist: true, timeout: workerData.busyTimeoutMs });
db.pragma('journal_mode = WAL');
db.pragma('synchronous = ' + workerData.synchronous);
db.pragma('wal_autocheckpoint = ' + workerData.walAutocheckpoint);
const byId = db.prepare('SELECT stream, revision FROM events WHERE event_id = ?');
const runFrom = db.prepare('SELECT event_id, revision, position FROM events WHERE stream = ? AND revision >= ? ORDER BY revision LIMIT ?');
const lastOfStream = db.prepare('SELECT revision, position FROM events WHERE stream = ? ORDER BY revision DESC LIMIT 1');
const insert = db.prepare('INSERT INTO events (event_id, stream, revision, type, schema_version, data, metadata) VALUES (?, ?, ?, ?, ?, ?, ?)');

// data and metadata arrive as UTF-8 bytes, transferred rather than copied.
const text = new TextDecoder();

// The whole batch already stored as one run in this stream: a retry, answered with what it got.
function retried(stream, events) {
  const first = events[0];
  if (first === undefined) return undefined;
  const match = byId.get(first.id);
  if (match === undefined || match.stream !== stream) return undefined;
  const run = runFrom.all(stream, match.revision, events.length);
  if (run.length !== events.length || run.some((row, i) => row.event_id !== events[i].id)) return undefined;
  const last = run[run.length - 1];
  return { nextExpectedRevision: last.revision, position: last.position };
}

function matches(expected, actual) {
  if (expected === 'any') return true;
  if (expected === 'no_stream') return actual === -1;
  if (expected === 'stream_exists') return actual >= 0;
  return expected === actual;
}

// Nested in the group's transaction, better-sqlite3 makes each append a savepoint.
const one = db.transaction((request) => {
  const again = retried(request.stream, request.events);
  if (again) return { ok: again, positions: [] };
  const last = lastOfStream.get(request.stream);
  const actual = last ? last.revision : -1;
  if (!matches(request.expected, actual)) return { mismatch: actual };
  let result = { nextExpectedRevision: actual, position: last ? last.position : 0 };
  const positions = [];
  request.events.forEach((event, index) => {
    const revision = actual + 1 + index;
    const info = insert.run(event.id, request.stream, revision, event.type, event.schemaVersion, text.decode(event.data), text.decode(event.metadata));
    const position = Number(info.lastInsertRowid);
    positions.push(position);
    result = { nextExpectedRevision: revision, position };
  });
  return { ok: result, positions };
});

const failure = (error) => ({ message: String((error && error.message) || error), code: error && error.code });

const group = db.transaction((batch) =>
  batch.map((request) => {
    try {
      return one(request);
    } catch (error) {
      return { error: failure(error) };
    }
  }),
);

parentPort.on('message', (message) => {
  if (message.op === 'append') {
    try {
      parentPort.postMessage({ id: message.id, outcomes: group.immediate(message.batch) });
    } catch (error) {
      parentPort.postMessage({ id: message.id, error: failure(error) });
    }
  } else if (message.op === 'autocheckpoint') {
    db.pragma('wal_autocheckpoint = ' + message.pages);
    parentPort.postMessage({ id: message.id, closed: false });
  } else if (message.op === 'close') {
    db.close();
    parentPort.postMessage({ id: message.id, closed: true });
  }
});
`;

type FromThread =
  | { id: number; outcomes: ({ ok: AppendResult; positions: number[] } | { mismatch: number } | { error: ThreadFailure })[] }
  | { id: number; error: ThreadFailure }
  | { id: number; closed: boolean };

const encoder = new TextEncoder();

/** Thrown for the appends a dead thread had: whether they were stored is unknown, a retry answers it. */
export class WriterThreadDiedError extends Error {}

export class SqliteWriterThread extends SqliteWriter<FromThread, WriterSettings> {
  constructor(file: string, settings: WriterSettings) {
    super(
      THREAD,
      file,
      settings,
      (detail) => new WriterThreadDiedError(`the log's writer thread ended (${detail}); the append may or may not be stored`),
    );
  }

  /**
   * Runs `batch` as one transaction on the thread. Resolves with one outcome
   * per append; rejects (a SqliteError, or WriterThreadDiedError) when the
   * commit itself failed and nothing of the batch is stored, or may not be.
   */
  async append(batch: readonly SerializedAppend[]): Promise<WriterOutcome[]> {
    // The UTF-8 bytes are handed over (transferred, not copied); the thread
    // decodes them, so a large event costs the event loop its encoding only.
    const transfer: ArrayBuffer[] = [];
    const bytes = (json: string) => {
      const encoded = encoder.encode(json);
      transfer.push(encoded.buffer);
      return encoded;
    };
    const encoded = batch.map((request) => ({
      ...request,
      events: request.events.map((event) => ({ ...event, data: bytes(event.data), metadata: bytes(event.metadata) })),
    }));
    const answer = await this.thread.request({ op: 'append', batch: encoded }, transfer);
    if ('closed' in answer) throw new Error('the writer thread closed');
    if (!('outcomes' in answer)) throw threadError(answer.error);
    this.commits++;
    return answer.outcomes.map((outcome) => ('error' in outcome ? { error: threadError(outcome.error) } : outcome));
  }
}
