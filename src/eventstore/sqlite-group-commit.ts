/**
 * Group commit for the SQLite log: appends that arrive while the writer
 * thread is busy are queued and handed to it together, as one transaction,
 * and each caller learns its own append's outcome.
 */
import type { AppendResult, ExpectedRevision, NewEvent, RecordedEvent } from './port.js';
import type { SerializedAppend, SqliteWriterThread, WriterOutcome } from './sqlite-writer.js';
import { toRecorded } from './sqlite-rows.js';
import { checkExpectedRevision } from './validation.js';

interface PendingAppend {
  stream: string;
  events: readonly NewEvent[];
  expected: ExpectedRevision;
  resolve: (result: AppendResult) => void;
  reject: (error: unknown) => void;
}

export interface GroupCommitHooks {
  /** The events a group stored, parsed back from the JSON written, before any caller is answered. */
  committed(events: readonly RecordedEvent[]): void;
  /** After the callers were answered, when the group stored events. */
  appended(): void;
  /** The error a caller gets for its append. */
  mapAppendError(error: unknown, stream: string, events: readonly NewEvent[]): Error;
}

export class GroupCommit {
  private pending: PendingAppend[] = [];
  /** The group the writer thread has now; the next group waits for it. */
  private writing: Promise<void> | null = null;

  /** Appends run there, one group of them at a time (src/eventstore/sqlite-writer.ts). */
  constructor(
    private readonly writer: SqliteWriterThread,
    private readonly hooks: GroupCommitHooks,
  ) {}

  append(stream: string, events: readonly NewEvent[], expected: ExpectedRevision): Promise<AppendResult> {
    return new Promise<AppendResult>((resolve, reject) => {
      if (this.pending.length === 0) setImmediate(() => this.flush());
      this.pending.push({ stream, events, expected, resolve, reject });
    });
  }

  /** Resolves once every append already accepted is written. */
  async drain(): Promise<void> {
    while (this.writing || this.pending.length > 0) {
      this.flush();
      await this.writing;
    }
  }

  /**
   * Group commit: appends that arrive while the writer thread is busy with
   * the previous group go to it together, as ONE transaction (one fsync for
   * them all). Each append is a savepoint there: one that fails (a wrong
   * expected revision) is rolled back alone and the others still commit.
   * IMMEDIATE takes the write lock up front, so a revision read inside cannot
   * be invalidated by another process before the inserts.
   */
  private flush(): void {
    if (this.pending.length === 0 || this.writing) return;
    const batch = this.pending;
    this.pending = [];
    this.writing = this.write(batch).finally(() => {
      this.writing = null;
      this.flush();
    });
  }

  private async write(batch: readonly PendingAppend[]): Promise<void> {
    const serialized: SerializedAppend[] = batch.map((request) => ({
      stream: request.stream,
      expected: request.expected,
      events: request.events.map((event) => ({
        id: event.id,
        type: event.type,
        schemaVersion: event.schemaVersion,
        data: JSON.stringify(event.data) ?? 'null',
        metadata: JSON.stringify(event.metadata),
      })),
    }));
    let outcomes: WriterOutcome[];
    try {
      outcomes = await this.writer.append(serialized);
    } catch (error) {
      // The commit itself failed (disk, I/O, the thread died): nothing of the batch is known to be stored.
      for (const request of batch) request.reject(this.hooks.mapAppendError(error, request.stream, request.events));
      return;
    }
    // Parsed back from the JSON written: the cached copy is exactly what a read would return.
    const stored: RecordedEvent[] = [];
    outcomes.forEach((outcome, i) => {
      const request = serialized[i];
      if (!request || !('ok' in outcome)) return;
      const first = outcome.ok.nextExpectedRevision - outcome.positions.length + 1;
      outcome.positions.forEach((position, k) => {
        const event = request.events[k]!;
        stored.push(
          toRecorded({
            ...event,
            event_id: event.id,
            schema_version: event.schemaVersion,
            stream: request.stream,
            revision: first + k,
            position,
          }),
        );
      });
    });
    this.hooks.committed(stored);
    outcomes.forEach((outcome, i) => {
      const request = batch[i];
      if (!request) return;
      if ('ok' in outcome) return request.resolve(outcome.ok);
      try {
        if ('mismatch' in outcome) checkExpectedRevision(request.stream, request.expected, outcome.mismatch);
        throw 'error' in outcome ? outcome.error : new Error(`append to ${request.stream} was not stored`);
      } catch (error) {
        request.reject(this.hooks.mapAppendError(error, request.stream, request.events));
      }
    });
    if (stored.length > 0) this.hooks.appended();
  }
}
