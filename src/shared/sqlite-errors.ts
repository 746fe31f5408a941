/**
 * SQLite result codes (better-sqlite3's `SqliteError.code`) that mean the
 * file cannot be used now, not that the request was wrong: locked or busy,
 * I/O errors, a full disk, a read-only or unopenable file, a damaged one.
 * Each embedded store maps them to its own "unavailable" error.
 */
export const SQLITE_UNAVAILABLE_CODES = /^SQLITE_(BUSY|LOCKED|IOERR|CANTOPEN|FULL|READONLY|PROTOCOL|NOTADB|CORRUPT)/;
