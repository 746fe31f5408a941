import { CommanderError } from 'commander';
import { ConfigError } from '../config/config.js';
import { BackupError } from '../eventstore/backup.js';
import { DamagedDataDirError } from '../eventstore/installation.js';
import { EventLogDamagedError, EventStoreUnavailableError } from '../eventstore/port.js';
import { DocumentStoreRefusedError, DocumentStoreUnavailableError } from '../readmodels/port.js';
import { DomainError, ErrorCode } from '../shared/errors.js';
import { InputFileError } from './input-files.js';

/**
 * The CLI's exit codes: each means one thing, so that a script can branch on
 * it (docs/operations.md, "Exit codes"). Names are part of the contract.
 */
export const ExitCode = {
  OK: 0,
  /** A check ran and found a problem: `audit verify`, `audit prove`, the offline verifier. */
  VERIFICATION_FAILED: 1,
  /** The command line or the configuration is wrong: unknown command or option, bad option value, a configuration error. Nothing ran. */
  USAGE: 2,
  /** The data given is not acceptable: an invalid name or id in the request, an import that is not an export, a file named by an option that cannot be read or is not what the option takes. */
  BAD_INPUT: 3,
  /** What was named does not exist, or is in a state that refuses the change (exists already, revision moved on, not deleted). */
  NOT_FOUND_OR_CONFLICT: 4,
  /** A store (event log, read models) did not answer; nothing was written by this command's failing step. Retry later. */
  STORE_UNAVAILABLE: 5,
  /** The data dir does not hold the log it held (missing, empty, another one, shorter), or the log has unreadable pages: refused, never bootstrapped over (docs/operations.md, "A damaged data dir is never a new installation"). */
  DATA_DIR_DAMAGED: 6,
  /** A bug: anything else. The message is printed with its stack. */
  INTERNAL: 70,
  /** Stopped by SIGINT or SIGTERM; the message says how to resume. */
  INTERRUPTED: 130,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

function isStoreUnavailable(error: unknown): boolean {
  if (error instanceof EventStoreUnavailableError || error instanceof DocumentStoreUnavailableError) return true;
  return error instanceof DomainError && error.code === ErrorCode.SERVICE_UNAVAILABLE;
}

/** The exit code for an error that ended a command. */
export function exitCodeFor(error: unknown): ExitCodeValue {
  if (error instanceof CommanderError) return error.exitCode === 0 ? ExitCode.OK : ExitCode.USAGE;
  if (error instanceof ConfigError || error instanceof DocumentStoreRefusedError) return ExitCode.USAGE;
  if (error instanceof DamagedDataDirError || error instanceof EventLogDamagedError) return ExitCode.DATA_DIR_DAMAGED;
  if (error instanceof InputFileError) return ExitCode.BAD_INPUT;
  if (error instanceof BackupError) return error.conflict ? ExitCode.NOT_FOUND_OR_CONFLICT : ExitCode.BAD_INPUT;
  if (isStoreUnavailable(error)) return ExitCode.STORE_UNAVAILABLE;
  if (error instanceof DomainError) {
    switch (error.code) {
      case ErrorCode.BAD_USER_INPUT:
        return ExitCode.BAD_INPUT;
      case ErrorCode.NOT_FOUND:
      case ErrorCode.TENANT_NOT_FOUND:
      case ErrorCode.CONFLICT:
        return ExitCode.NOT_FOUND_OR_CONFLICT;
      default:
        return ExitCode.INTERNAL;
    }
  }
  return ExitCode.INTERNAL;
}

/**
 * One line for stderr naming the error (its stack only for a bug), and the
 * exit code for it. `printed`: commander has shown it already (a parse error).
 */
export function describeFailure(error: unknown, printed = false): { code: ExitCodeValue; message: string } {
  const code = exitCodeFor(error);
  if (error instanceof CommanderError) return { code, message: printed ? '' : `tenantry: ${error.message.replace(/^error: /, '')}` };
  if (error instanceof ConfigError) return { code, message: `tenantry: configuration error: ${error.message}` };
  if (error instanceof DocumentStoreRefusedError)
    return { code, message: `tenantry: configuration error: ${error.message} (check the user and password in TENANTRY_MONGODB_URI)` };
  if (code === ExitCode.STORE_UNAVAILABLE) {
    const message = error instanceof Error ? error.message : String(error);
    return { code, message: `tenantry: store unavailable: ${message}; nothing more was done, retry when it answers` };
  }
  if (error instanceof DomainError) return { code, message: `tenantry: ${error.code}: ${error.message}` };
  if (error instanceof DamagedDataDirError || error instanceof EventLogDamagedError)
    return { code, message: `tenantry: damaged data dir: ${error.message}` };
  if (error instanceof BackupError || error instanceof InputFileError) return { code, message: `tenantry: ${error.message}` };
  const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
  return { code, message: `tenantry: internal error: ${detail}` };
}
