/**
 * Where tests find a MongoDB-wire server: `TENANTRY_TEST_MONGODB_URI`, set by
 * the environment (.ci/run) or by test/support/global-setup.ts, which starts a
 * throw-away FerretDB when a `ferretdb` binary is available. The global setup
 * hands the URI over both ways (process.env before the workers fork, and
 * vitest's provide/inject); this helper reads either.
 */
import { inject } from 'vitest';

export const MONGO_URI_ENV = 'TENANTRY_TEST_MONGODB_URI';

/** A well-formed URI for a client that is never connected (a suite skipped without a server still builds its objects). */
export const UNUSED_MONGO_URI = 'mongodb://127.0.0.1:9/unused';

declare module 'vitest' {
  export interface ProvidedContext {
    mongoUri: string | undefined;
    /** Why no URI is available (shown in skip messages). */
    mongoSkipReason: string | undefined;
  }
}

export function testMongoUri(): string | undefined {
  const fromEnv = process.env[MONGO_URI_ENV];
  if (fromEnv) return fromEnv;
  try {
    return inject('mongoUri') || undefined;
  } catch {
    return undefined; // not running under vitest's runner
  }
}

export function mongoSkipReason(): string {
  try {
    const reason = inject('mongoSkipReason');
    if (reason) return reason;
  } catch {
    // not under vitest
  }
  return `no ${MONGO_URI_ENV} and no ferretdb binary on PATH`;
}

/** A database name unique to one test file and run, e.g. `tenantry_test_documentstore_k3j9x2`. */
export function testDatabaseName(label: string): string {
  const safe = label.replace(/[^a-zA-Z0-9_]/g, '_').slice(0, 30);
  return `tenantry_test_${safe}_${Math.random().toString(36).slice(2, 8)}`;
}
