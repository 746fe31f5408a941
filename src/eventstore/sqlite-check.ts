/**
 * `tenantry events check`: reads the embedded log file on its own (no
 * gateway, no read models) and says whether every page and every event in
 * it can be read: SQLite's integrity check, then each event's data and
 * metadata parsed, in position order. Read-only.
 */
import Database from 'better-sqlite3';

export interface LogCheck {
  ok: boolean;
  /** Events read before the check stopped (all of them when it did not). */
  events: number;
  /** What is wrong, at most `maxProblems` lines. */
  problems: string[];
}

const message = (error: unknown): string => (error instanceof Error ? error.message : String(error));

export function checkSqliteLog(file: string, maxProblems = 20): LogCheck {
  const problems: string[] = [];
  let events = 0;
  let db: Database.Database;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
  } catch (error) {
    return { ok: false, events, problems: [`${file} cannot be opened: ${message(error)}`] };
  }
  try {
    try {
      for (const row of db.pragma('integrity_check') as { integrity_check: string }[]) {
        if (row.integrity_check !== 'ok' && problems.length < maxProblems) problems.push(`integrity: ${row.integrity_check}`);
      }
    } catch (error) {
      problems.push(`the integrity check could not run: ${message(error)}`);
    }
    try {
      const rows = db
        .prepare<[], { position: number; event_id: string; data: string; metadata: string }>(
          'SELECT position, event_id, data, metadata FROM events ORDER BY position',
        )
        .iterate();
      for (const row of rows) {
        events++;
        try {
          JSON.parse(row.data);
          JSON.parse(row.metadata);
        } catch {
          problems.push(`the event at position ${row.position} (${row.event_id}) has data or metadata that is not JSON`);
        }
        if (problems.length >= maxProblems) break;
      }
    } catch (error) {
      problems.push(`reading the events stopped after ${events}: ${message(error)}`);
    }
  } finally {
    db.close();
  }
  return { ok: problems.length === 0, events, problems: problems.slice(0, maxProblems) };
}
