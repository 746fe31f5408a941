/**
 * The key that signs the audit ledger in tests: given to every gateway and
 * CLI process a test starts, so that they agree, and never generated beside
 * a test's data dir. A setup file of the test run (vitest.config.ts), so
 * that processes started with `...process.env` inherit it too.
 */
import { SigningKey } from '../../src/ledger/checkpoint.js';

process.env['TENANTRY_AUDIT_SIGNING_KEY'] ??= SigningKey.generate().privatePem();

export const TEST_AUDIT_SIGNING_KEY: string = process.env['TENANTRY_AUDIT_SIGNING_KEY'];
