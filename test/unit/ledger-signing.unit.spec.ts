/**
 * The key that signs the ledger's checkpoints: where it comes from, where the
 * embedded default generates it (beside the data dir, never in it, mode
 * 0600), what is refused; and what a verifier accepts.
 */
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/config.js';
import { checkpointBody, SigningKey, TrustedKeys } from '../../src/ledger/checkpoint.js';
import { defaultKeyFile, resolveAuditSigning } from '../../src/ledger/signing-key.js';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
const tempDir = (): string => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tenantry-signing-'));
  dirs.push(dir, `${dir}.keys`);
  return dir;
};
const env = (extra: Record<string, string>) => ({ TENANTRY_AUDIT_SIGNING_KEY: '', ...extra });

describe('the audit signing key', () => {
  it('the embedded default generates one beside the data dir (not in it), mode 0600, and reuses it', () => {
    const dataDir = tempDir();
    const first = resolveAuditSigning(loadConfig(env({ TENANTRY_DATA_DIR: dataDir })));
    expect(first.generatedAt).toBe(defaultKeyFile(dataDir));
    expect(first.generatedAt?.startsWith(`${dataDir}${path.sep}`)).toBe(false);
    expect(statSync(first.generatedAt ?? '').mode & 0o777).toBe(0o600);
    const again = resolveAuditSigning(loadConfig(env({ TENANTRY_DATA_DIR: dataDir })));
    expect(again.generatedAt).toBeNull();
    expect(again.key.keyId).toBe(first.key.keyId);
  });

  it('takes TENANTRY_AUDIT_SIGNING_KEY or TENANTRY_AUDIT_SIGNING_KEY_FILE, and trusts older keys from TENANTRY_AUDIT_TRUSTED_KEYS_FILE', () => {
    const dir = tempDir();
    const key = SigningKey.generate();
    const older = SigningKey.generate();
    expect(resolveAuditSigning(loadConfig({ TENANTRY_DATA_DIR: dir, TENANTRY_AUDIT_SIGNING_KEY: key.privatePem() })).key.keyId).toBe(
      key.keyId,
    );
    const file = path.join(dir, 'key.pem');
    writeFileSync(file, key.privatePem());
    const trustedFile = path.join(dir, 'trusted.pem');
    writeFileSync(trustedFile, older.publicPem());
    const resolved = resolveAuditSigning(
      loadConfig(env({ TENANTRY_DATA_DIR: dir, TENANTRY_AUDIT_SIGNING_KEY_FILE: file, TENANTRY_AUDIT_TRUSTED_KEYS_FILE: trustedFile })),
    );
    expect(resolved.key.keyId).toBe(key.keyId);
    expect(
      resolved.trusted
        .list()
        .map((k) => k.keyId)
        .sort(),
    ).toEqual([key.keyId, older.keyId].sort());
  });

  it('refuses a start without a key on KurrentDB, with a key that is not Ed25519 PEM, or with a missing key file', () => {
    const dir = tempDir();
    const refusal = (vars: Record<string, string>) => {
      try {
        resolveAuditSigning(loadConfig(env({ TENANTRY_DATA_DIR: dir, ...vars })));
      } catch (error) {
        return error;
      }
      return null;
    };
    expect(refusal({ TENANTRY_EVENT_STORE: 'kurrentdb', TENANTRY_KURRENTDB_URL: 'kurrentdb://localhost:2113?tls=false' })).toMatchObject({
      variable: 'TENANTRY_AUDIT_SIGNING_KEY',
    });
    expect(refusal({ TENANTRY_AUDIT_SIGNING_KEY: 'not a key' })).toBeInstanceOf(ConfigError);
    expect(refusal({ TENANTRY_AUDIT_SIGNING_KEY_FILE: path.join(dir, 'absent.pem') })).toMatchObject({
      variable: 'TENANTRY_AUDIT_SIGNING_KEY_FILE',
    });
  });
});

describe('checkpoint signatures', () => {
  const head = { tenantId: 'acme', size: 42, rootHash: 'ab'.repeat(32), signedAt: '2026-12-02T10:00:00.000Z' };

  it('sign the exact text form, and verify with the trusted key only', () => {
    const key = SigningKey.generate();
    const checkpoint = key.sign(head);
    expect(checkpointBody(checkpoint)).toBe(
      `tenantry audit ledger v1\ntenant acme\nsize 42\nroot ${'ab'.repeat(32)}\ntime 2026-12-02T10:00:00.000Z\n`,
    );
    expect(new TrustedKeys([key.publicKey]).problem(checkpoint)).toBeNull();
    expect(new TrustedKeys([SigningKey.generate().publicKey]).problem(checkpoint)).toMatch(/not a trusted key/);
    for (const forged of [
      { ...checkpoint, size: 43 },
      { ...checkpoint, rootHash: 'cd'.repeat(32) },
      { ...checkpoint, tenantId: 'beta' },
      { ...checkpoint, signature: 'AAAA' },
    ]) {
      expect(new TrustedKeys([key.publicKey]).problem(forged)).toMatch(/signature/);
    }
  });
});
