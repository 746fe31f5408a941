/**
 * SQLite EventStore (the embedded default): one `events` table in one file,
 * WAL mode, appends in one IMMEDIATE transaction, positions from an
 * AUTOINCREMENT rowid (never reused, so a position is never seen twice).
 *
 * Several processes may share the file: writers serialise on SQLite's write
 * lock (waiting up to busy_timeout), and subscriptions notice other
 * processes' appends by polling, besides an in-process notification that
 * keeps same-process latency low.
 */
import { privateSqliteFile } from '../shared/private-files.js';
import { SQLITE_UNAVAILABLE_CODES } from '../shared/sqlite-errors.js';
import { SQLITE_DEFAULT_AUTOCHECKPOINT_PAGES, walCheckpointer, type BackgroundCheckpoints } from '../shared/wal-checkpointer.js';
import { SqliteWriterThread, WriterThreadDiedError } from './sqlite-writer.js';
import { GroupCommit } from './sqlite-group-commit.js';
import { RecentEvents } from './sqlite-recent-cache.js';
import { fromRaw, toRecorded, type EventRow, type RawEventRow } from './sqlite-rows.js';
import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { InstallationGuard } from './installation.js';
import {
  EventLogDamagedError,
  EventStoreUnavailableError,
  type AppendResult,
  type EventStore,
  type EventSubscription,
  type ExpectedRevision,
  type NewEvent,
  type ReadAllOptions,
  type ReadStreamOptions,
  type RecordedEvent,
  type SubscribeOptions,
} from './port.js';
import { SubscriptionRegistry, createPollingSubscription } from './polling-subscription.js';
import { validateAppend, validateReadAll, validateReadStream } from './validation.js';

export interface SqliteEventStoreOptions {
  /** FULL (default) survives power loss; NORMAL in WAL mode may lose the last commits on power loss, never corrupts. */
  synchronous?: 'FULL' | 'NORMAL';
  /** How often an idle subscription re-reads to see other processes' appends. Default 100 ms. */
  pollIntervalMs?: number;
  /** How long a writer waits for another process's write lock. Default 5000 ms. */
  busyTimeoutMs?: number;
  /**
   * Keep the installation's identity in `installation.json` beside the file,
   * and refuse to open a log that is missing, empty, another one, or shorter
   * than it was (see installation.ts). For the data dir of a deployment.
   */
  guardInstallation?: boolean;
  /**
   * Checkpoint the WAL on a thread of its own (src/shared/wal-checkpointer.ts)
   * instead of inside the commit that crosses 1,000 pages, which would hold
   * the event loop for the copy. For the gateway's long-lived log.
   */
  backgroundCheckpoints?: boolean;
  /**
   * Reads only, on a connection of its own: no schema, no writer thread, no
   * checkpoints, no installation guard; appends throw. For a verification
   * thread beside the gateway's own store (the file must exist).
   */
  readOnly?: boolean;
}

/**
 * The stream name up to and including its first '/': the tenant prefix
 * (`acme/` for `acme/flow/1`). Indexed with the position, so reading one
 * tenant's events in global order is a plain index range, however many
 * other tenants share the file.
 */
const TENANT_PREFIX_SQL = "substr(stream, 1, instr(stream, '/'))";

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS events (
    position       INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id       TEXT    NOT NULL UNIQUE,
    stream         TEXT    NOT NULL,
    revision       INTEGER NOT NULL,
    type           TEXT    NOT NULL,
    schema_version INTEGER NOT NULL,
    data           TEXT    NOT NULL,
    metadata       TEXT    NOT NULL,
    UNIQUE (stream, revision)
  );
  CREATE INDEX IF NOT EXISTS events_stream_position ON events (stream, position);
  CREATE INDEX IF NOT EXISTS events_tenant_position ON events (${TENANT_PREFIX_SQL}, position);
  CREATE TABLE IF NOT EXISTS log_identity (
    one INTEGER PRIMARY KEY CHECK (one = 1),
    id  TEXT    NOT NULL
  );
`;

/**
 * The smallest string greater than every string that starts with `prefix`
 * (undefined when there is none). SQLite compares TEXT as UTF-8 bytes, which
 * orders like code points, so bumping the last code point is exact; a plain
 * `prefix + '\uffff'` bound would miss names continuing with astral
 * characters such as emoji.
 */
export function prefixUpperBound(prefix: string): string | undefined {
  const codePoints = Array.from(prefix, (c) => c.codePointAt(0) ?? 0);
  while (codePoints.length > 0) {
    const last = codePoints.pop() ?? 0;
    let next = last + 1;
    if (next >= 0xd800 && next <= 0xdfff) next = 0xe000; // surrogates are not characters
    if (next <= 0x10ffff) return String.fromCodePoint(...codePoints, next);
  }
  return undefined;
}

/** A prefix that is exactly a tenant (`acme/`): served by the tenant index. */
const TENANT_PREFIX = /^[^/]+\/$/;

/** Other prefix reads at most this far behind the head walk the log instead of the stream index. */
const LOG_WALK_MAX_ROWS = 10_000;

/** Of those, the ones that mean the stored log itself is damaged (not a passing condition). */
const DAMAGE_CODES = /^SQLITE_(CORRUPT|NOTADB)/;

export class SqliteEventStore implements EventStore {
  readonly kind = 'sqlite' as const;

  private readonly db: Database.Database;
  private readonly appended = new EventEmitter();
  private readonly subscriptions = new SubscriptionRegistry();
  private readonly pollIntervalMs: number;
  private closed = false;
  private damaged: EventLogDamagedError | null = null;

  private readonly stmt: {
    byId: Database.Statement<[string], EventRow>;
    readStream: Database.Statement<[string, number, number], EventRow>;
    readAll: Database.Statement<[number, number], RawEventRow>;
    readAllTenant: Database.Statement<[string, number, number], RawEventRow>;
    readAllPrefixByPosition: Database.Statement<[number, string, string, number], RawEventRow>;
    readAllPrefixByStream: Database.Statement<[number, string, string, number], RawEventRow>;
    readAllPrefixUnbounded: Database.Statement<[number, string, number], RawEventRow>;
    head: Database.Statement<[], { head: number | null }>;
    dataVersion: Database.Statement<[], number>;
  };
  /** The newest position this connection has read or committed. */
  private knownHead = 0;
  /**
   * SQLite's `data_version` when this connection last read the log: it
   * changes when another connection (another process) commits. While it has
   * not changed, nothing beyond `knownHead` can exist that this process did
   * not commit itself, and so did not cache.
   */
  private seenDataVersion = 0;
  /** The id this log carries inside: a copy of the file keeps it, a new file gets a new one. */
  readonly logId: string;
  private readonly guard: InstallationGuard | null;
  private readonly checkpoints: BackgroundCheckpoints | null = null;

  constructor(
    readonly filePath: string,
    options: SqliteEventStoreOptions = {},
  ) {
    this.pollIntervalMs = options.pollIntervalMs ?? 100;
    if (!(this.pollIntervalMs > 0)) throw new RangeError('pollIntervalMs must be > 0');
    // Subscriptions each add a listener; don't warn about "leaks" at 10.
    this.appended.setMaxListeners(0);
    // Before the file is opened: opening creates a missing one.
    const guard = options.guardInstallation && !options.readOnly ? InstallationGuard.before(filePath) : null;
    let db: Database.Database | undefined;
    try {
      if (options.readOnly) {
        db = new Database(filePath, { readonly: true, fileMustExist: true });
        db.pragma(`busy_timeout = ${Math.max(0, Math.trunc(options.busyTimeoutMs ?? 5000))}`);
      } else {
        privateSqliteFile(filePath);
        db = new Database(filePath);
        // busy_timeout first: the statements below may wait for another process's lock.
        db.pragma(`busy_timeout = ${Math.max(0, Math.trunc(options.busyTimeoutMs ?? 5000))}`);
        db.pragma('journal_mode = WAL');
        db.pragma(`synchronous = ${options.synchronous === 'NORMAL' ? 'NORMAL' : 'FULL'}`);
        db.exec(SCHEMA);
      }
    } catch (error) {
      db?.close();
      throw this.mapError(error, `opening ${filePath}`);
    }
    this.db = db;

    const columns = 'position, event_id, stream, revision, type, schema_version, data, metadata';
    this.stmt = {
      byId: this.db.prepare(`SELECT ${columns} FROM events WHERE event_id = ?`),
      readStream: this.db.prepare(`SELECT ${columns} FROM events WHERE stream = ? AND revision >= ? ORDER BY revision LIMIT ?`),
      // The log reads return raw rows (arrays): replays read every event through them.
      readAll: this.db
        .prepare<[number, number], RawEventRow>(`SELECT ${columns} FROM events WHERE position > ? ORDER BY position LIMIT ?`)
        .raw(true),
      readAllTenant: this.db
        .prepare<[string, number, number], RawEventRow>(
          `SELECT ${columns} FROM events INDEXED BY events_tenant_position
         WHERE ${TENANT_PREFIX_SQL} = ? AND position > ? ORDER BY position LIMIT ?`,
        )
        .raw(true),
      // Walks the log from `after` (`+stream` keeps SQLite off the stream index).
      readAllPrefixByPosition: this.db
        .prepare<[number, string, string, number], RawEventRow>(
          `SELECT ${columns} FROM events WHERE position > ? AND +stream >= ? AND +stream < ? ORDER BY position LIMIT ?`,
        )
        .raw(true),
      // Walks only the prefix's streams, then sorts.
      readAllPrefixByStream: this.db
        .prepare<[number, string, string, number], RawEventRow>(
          `SELECT ${columns} FROM events INDEXED BY events_stream_position
         WHERE position > ? AND stream >= ? AND stream < ? ORDER BY position LIMIT ?`,
        )
        .raw(true),
      readAllPrefixUnbounded: this.db
        .prepare<[number, string, number], RawEventRow>(
          `SELECT ${columns} FROM events WHERE position > ? AND stream >= ? ORDER BY position LIMIT ?`,
        )
        .raw(true),
      head: this.db.prepare('SELECT MAX(position) AS head FROM events'),
      dataVersion: this.db.prepare<[], number>('PRAGMA data_version').pluck(true),
    };
    this.knownHead = this.stmt.head.get()?.head ?? 0;
    this.seenDataVersion = this.stmt.dataVersion.get() ?? 0;
    // The log's own id, given once, the first time any version with this table opens it.
    if (!options.readOnly) this.db.prepare('INSERT OR IGNORE INTO log_identity (one, id) VALUES (1, ?)').run(randomUUID());
    this.logId = (this.db.prepare('SELECT id FROM log_identity WHERE one = 1').get() as { id: string }).id;
    if (guard) {
      try {
        guard.opened(this.logId, this.knownHead);
      } catch (error) {
        this.db.close();
        throw error;
      }
    }
    this.guard = guard;

    if (options.readOnly) {
      this.writer = null;
      this.commits = null;
      return;
    }
    this.writer = new SqliteWriterThread(filePath, {
      busyTimeoutMs: Math.max(0, Math.trunc(options.busyTimeoutMs ?? 5000)),
      synchronous: options.synchronous === 'NORMAL' ? 'NORMAL' : 'FULL',
      walAutocheckpoint: options.backgroundCheckpoints ? 0 : SQLITE_DEFAULT_AUTOCHECKPOINT_PAGES,
    });
    this.commits = new GroupCommit(this.writer, {
      committed: (events) => this.learnOwnCommit(events),
      appended: () => this.appended.emit('append'),
      mapAppendError: (error, stream, events) => this.mapAppendError(error, stream, events),
    });
    if (options.backgroundCheckpoints) {
      // The writer thread's commits do not checkpoint; if the checkpoint thread fails, they do again.
      const writer = this.writer;
      this.checkpoints = walCheckpointer.inBackground(filePath, () => {
        if (this.closed) return;
        writer.setWalAutocheckpoint(SQLITE_DEFAULT_AUTOCHECKPOINT_PAGES).catch(() => undefined);
        process.emitWarning(
          `WAL checkpoints of ${filePath} are back in the log's commits: the checkpoint thread failed`,
          'TenantryWalCheckpoints',
        );
      });
    }
  }

  /** The thread the appends are written on (src/eventstore/sqlite-writer.ts). */
  private readonly writer: SqliteWriterThread | null;
  /** Appends, in groups (src/eventstore/sqlite-group-commit.ts); null when read-only. */
  private readonly commits: GroupCommit | null;
  /** The events this process committed last (src/eventstore/sqlite-recent-cache.ts). */
  private readonly recent = new RecentEvents();

  /**
   * Caches the events the writer thread committed for this process and moves
   * `knownHead`. The commit came through another connection, so it changed
   * this connection's `data_version`; when nothing stands beyond our own
   * events, that change was ours alone and readers at the head may keep their
   * shortcut (another process's commit in between leaves the head beyond
   * them, and is noticed as before).
   */
  private learnOwnCommit(events: readonly RecordedEvent[]): void {
    if (events.length === 0) return;
    this.recent.remember(events);
    for (const event of events) if (event.position > this.knownHead) this.knownHead = event.position;
    try {
      const version = this.stmt.dataVersion.get() ?? 0;
      const head = this.stmt.head.get()?.head ?? 0;
      if (head <= this.knownHead) this.seenDataVersion = version;
    } catch {
      // A failing read here only costs the shortcut; the next read reports the failure.
    }
  }

  async appendToStream(
    stream: string,
    events: readonly NewEvent[],
    options: { expectedRevision: ExpectedRevision },
  ): Promise<AppendResult> {
    this.assertOpen();
    validateAppend(stream, events, options.expectedRevision);
    if (!this.commits) throw new Error(`${this.filePath} is open read-only`);
    return this.commits.append(stream, events, options.expectedRevision);
  }

  async readStream(stream: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    this.assertOpen();
    const { fromRevision, maxCount } = validateReadStream(options);
    if (maxCount === 0) return [];
    return this.query(`reading ${stream}`, () => this.stmt.readStream.all(stream, fromRevision, maxCount)).map(toRecorded);
  }

  async findInStream(stream: string, eventId: string): Promise<RecordedEvent | null> {
    this.assertOpen();
    const row = this.query(`looking up event ${eventId}`, () => this.stmt.byId.get(eventId));
    return row !== undefined && row.stream === stream ? toRecorded(row) : null;
  }

  async readAll(options: ReadAllOptions = {}): Promise<RecordedEvent[]> {
    this.assertOpen();
    const { after, maxCount, streamPrefix } = validateReadAll(options);
    if (maxCount === 0) return [];
    const cached = options.fromStorage ? { events: [], last: after, complete: false } : this.recent.read(after, maxCount, streamPrefix);
    if (cached.complete) return cached.events;
    // The usual tail read of a projection: the cache reaches the head, and
    // only another process could have written more. A pragma answers that
    // for a third of the price of an (empty) range query, once per projection
    // per append.
    if (!options.fromStorage && cached.last >= this.knownHead) {
      const version = this.query('reading the data version', () => this.stmt.dataVersion.get() ?? 0);
      if (version === this.seenDataVersion) return cached.events;
      // Another connection committed. Learn the head it left (after taking
      // the version: a commit in between is then both counted and flagged
      // again), so that no reader behind it takes the shortcut above.
      this.seenDataVersion = version;
      const head = this.query('reading the head position', () => this.stmt.head.get()?.head ?? 0);
      if (head > this.knownHead) this.knownHead = head;
    }
    const from = cached.last;
    const count = maxCount - cached.events.length;
    const rows = this.query('reading all events', () => {
      if (streamPrefix === '') return this.stmt.readAll.all(from, count);
      if (TENANT_PREFIX.test(streamPrefix)) return this.stmt.readAllTenant.all(streamPrefix, from, count);
      const upper = prefixUpperBound(streamPrefix);
      if (upper === undefined) return this.stmt.readAllPrefixUnbounded.all(from, streamPrefix, count);
      // Near the head (a live subscription polling, a projection keeping up),
      // walking the log from `from` touches only the few newest rows. Far
      // behind (replaying, say, one category of a big log), walking the
      // prefix's streams touches only their rows. SQLite cannot tell which.
      const behind = (this.stmt.head.get()?.head ?? 0) - from;
      return behind <= LOG_WALK_MAX_ROWS
        ? this.stmt.readAllPrefixByPosition.all(from, streamPrefix, upper, count)
        : this.stmt.readAllPrefixByStream.all(from, streamPrefix, upper, count);
    });
    if (cached.events.length === 0) return rows.map(fromRaw);
    return [...cached.events, ...rows.map(fromRaw)];
  }

  subscribeToAll(options: SubscribeOptions): EventSubscription {
    this.assertOpen();
    return this.subscriptions.add((onClosed) =>
      createPollingSubscription(
        {
          readAll: (o) => this.readAll(o),
          onAppend: (listener) => {
            this.appended.on('append', listener);
            return () => this.appended.off('append', listener);
          },
          pollIntervalMs: this.pollIntervalMs,
        },
        options,
        onClosed,
      ),
    );
  }

  async headPosition(): Promise<number> {
    this.assertOpen();
    return this.query('reading the head position', () => this.stmt.head.get()?.head ?? 0);
  }

  async ping(): Promise<void> {
    this.assertOpen();
    this.query('ping', () => this.db.prepare('SELECT 1').get());
  }

  /** The connection's effective settings (for diagnostics and tests). */
  settings(): {
    journalMode: string;
    synchronous: 'OFF' | 'NORMAL' | 'FULL' | 'EXTRA';
    busyTimeoutMs: number;
    /** Pages after which a commit checkpoints the WAL itself; 0 while the checkpoint thread does it. */
    walAutocheckpoint: number;
  } {
    this.assertOpen();
    const synchronous = (['OFF', 'NORMAL', 'FULL', 'EXTRA'] as const)[this.db.pragma('synchronous', { simple: true }) as number];
    return {
      journalMode: String(this.db.pragma('journal_mode', { simple: true })),
      synchronous: synchronous ?? 'FULL',
      busyTimeoutMs: Number(this.db.pragma('busy_timeout', { simple: true })),
      walAutocheckpoint: this.writer?.walAutocheckpoint ?? 0,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    // Appends already accepted are written before the file closes.
    await this.commits?.drain();
    await this.subscriptions.closeAll();
    this.closed = true;
    this.appended.removeAllListeners();
    try {
      this.guard?.record(this.logId, this.stmt.head.get()?.head ?? 0);
    } finally {
      // The threads' connections close first: the last one to close checkpoints and removes the WAL.
      await this.writer?.close();
      await this.checkpoints?.release();
      this.db.close();
    }
  }

  private query<T>(what: string, run: () => T): T {
    try {
      return run();
    } catch (error) {
      throw this.mapError(error, what);
    }
  }

  private mapAppendError(error: unknown, stream: string, events: readonly NewEvent[]): Error {
    if (error instanceof Database.SqliteError && error.code === 'SQLITE_CONSTRAINT_UNIQUE' && error.message.includes('event_id')) {
      // Name the culprit: an id reused across streams is a bug, never a retry.
      for (const event of events) {
        const other = this.stmt.byId.get(event.id);
        if (other) {
          return new Error(
            `event id ${event.id} is already stored (stream ${other.stream}, revision ${other.revision}); not appended to ${stream}`,
            {
              cause: error,
            },
          );
        }
      }
    }
    return this.mapError(error, `appending to ${stream}`);
  }

  private mapError(error: unknown, what: string): Error {
    if (error instanceof Database.SqliteError && DAMAGE_CODES.test(error.code)) {
      // Latched: a log that returned a corrupt page once cannot be trusted for any answer after it.
      this.damaged ??= new EventLogDamagedError(
        `the event log (${this.filePath}) is damaged: ${error.code} while ${what}; run \`tenantry events check\`, then restore it from a backup (\`tenantry restore\`)`,
        { cause: error },
      );
      return this.damaged;
    }
    if (error instanceof WriterThreadDiedError) {
      return new EventStoreUnavailableError(`sqlite event store (${this.filePath}) unavailable while ${what}: ${error.message}`, {
        cause: error,
      });
    }
    if (error instanceof Database.SqliteError && SQLITE_UNAVAILABLE_CODES.test(error.code)) {
      return new EventStoreUnavailableError(
        `sqlite event store (${this.filePath}) unavailable while ${what}: ${error.code} ${error.message}`,
        {
          cause: error,
        },
      );
    }
    return error instanceof Error ? error : new Error(String(error));
  }

  private assertOpen(): void {
    if (this.closed) throw new EventStoreUnavailableError(`sqlite event store (${this.filePath}) is closed`);
    if (this.damaged) throw this.damaged;
  }

  damage(): EventLogDamagedError | null {
    return this.damaged;
  }
}
