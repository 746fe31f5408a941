/**
 * The identity of an installation, kept beside its SQLite log: a marker file
 * (`installation.json`) with the log's id and the last position known to be
 * in it. Without it, a log file that went missing or was truncated to zero
 * bytes (a bad restore, a full disk, an operator's mistake) would be taken for
 * a new installation and bootstrapped over; with it, the process refuses to
 * start, in one line, and says what to do.
 *
 * The marker is written atomically (a temporary file, fsync, rename) when the
 * log opens and when it closes; after a crash it holds the position of the
 * last clean start or stop, which is never ahead of the log.
 */
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, statSync, writeSync } from 'node:fs';
import path from 'node:path';

export const INSTALLATION_FILE = 'installation.json';

export interface InstallationMarker {
  /** The id the log carries inside (its `log_identity` table). */
  logId: string;
  /** Head position of the log when the marker was last written. */
  position: number;
  logFile: string;
  createdAt: string;
  updatedAt: string;
}

/** The data dir held a log that is not the one found now: never bootstrap over it. */
export class DamagedDataDirError extends Error {
  override readonly name = 'DamagedDataDirError';
}

export class InstallationGuard {
  private constructor(
    private readonly markerPath: string,
    private readonly logFile: string,
    private marker: InstallationMarker | null,
  ) {}

  /**
   * Before the log file is opened (opening creates a missing one): a marker
   * that names a log which is now missing or empty is refused here.
   */
  static before(logFile: string): InstallationGuard {
    const markerPath = path.join(path.dirname(logFile), INSTALLATION_FILE);
    let marker: InstallationMarker | null = null;
    if (existsSync(markerPath)) {
      try {
        marker = JSON.parse(readFileSync(markerPath, 'utf8')) as InstallationMarker;
      } catch (error) {
        throw new DamagedDataDirError(
          `${markerPath} is unreadable (${error instanceof Error ? error.message : String(error)}): ` +
            'it records which event log this data dir holds; restore it from a backup, or remove it if the log is known to be right',
        );
      }
      const size = existsSync(logFile) ? statSync(logFile).size : -1;
      if (size <= 0) {
        throw new DamagedDataDirError(
          `${logFile} is ${size < 0 ? 'missing' : 'empty'}, but this data dir holds the event log ${marker.logId} ` +
            `(position ${marker.position} on ${marker.updatedAt}): refusing to start a new installation over it. ` +
            `Restore the data dir from a backup (tenantry restore), or remove ${markerPath} to really start anew`,
        );
      }
    }
    return new InstallationGuard(markerPath, logFile, marker);
  }

  /** After the log opened: it must be the one the marker names, and hold at least what it held. Then the marker is (re)written. */
  opened(logId: string, head: number): void {
    const marker = this.marker;
    if (marker && marker.logId !== logId) {
      throw new DamagedDataDirError(
        `${this.logFile} is the event log ${logId}, but this data dir holds the log ${marker.logId}: ` +
          `refusing to start on another installation's log. Put the right file back (or restore a backup), or remove ${this.markerPath} if this log is meant to replace it`,
      );
    }
    if (marker && head < marker.position) {
      throw new DamagedDataDirError(
        `${this.logFile} ends at position ${head}, but it held events up to ${marker.position} on ${marker.updatedAt}: ` +
          'events are missing (an older copy or a truncated file). Restore the data dir from a backup (tenantry restore)',
      );
    }
    this.record(logId, head);
  }

  /** Writes the marker with the log's current head (at open and at a clean close). */
  record(logId: string, head: number): void {
    const now = new Date().toISOString();
    const next: InstallationMarker = {
      logId,
      position: Math.max(head, this.marker?.position ?? 0),
      logFile: path.basename(this.logFile),
      createdAt: this.marker?.createdAt ?? now,
      updatedAt: now,
    };
    const temporary = `${this.markerPath}.tmp`;
    const fd = openSync(temporary, 'w', 0o600);
    try {
      writeSync(fd, `${JSON.stringify(next, null, 2)}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, this.markerPath);
    this.marker = next;
  }
}
