import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/config.js';

/** Secrets from files, as Docker and Kubernetes mount them (docker-compose.yml uses these). */
describe('NAME_FILE configuration variables', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tenantry-secret-files-'));
  const file = (name: string, content: string): string => {
    const where = path.join(dir, name);
    writeFileSync(where, content);
    return where;
  };
  const base = { TENANTRY_DATA_DIR: dir };

  it('reads the admin token, the master key and the MongoDB URI from files, without the trailing newline', () => {
    const key = Buffer.alloc(32, 3).toString('base64');
    const config = loadConfig({
      ...base,
      TENANTRY_ADMIN_TOKEN_FILE: file('admin', 'a-token-from-a-file-0123456789\n'),
      TENANTRY_MASTER_KEY_FILE: file('master', `${key}\n`),
      TENANTRY_READ_MODELS: 'mongodb',
      TENANTRY_MONGODB_URI_FILE: file('uri', 'mongodb://tenantry:s3cret@mongodb:27017/?replicaSet=rs0&authSource=admin\n'),
    });
    expect(config.adminToken).toBe('a-token-from-a-file-0123456789');
    expect(config.masterKey?.toString('base64')).toBe(key);
    expect(config.mongoUri).toBe('mongodb://tenantry:s3cret@mongodb:27017/?replicaSet=rs0&authSource=admin');
  });

  it('refuses a variable set both ways, and a file that cannot be read, naming the variable', () => {
    const both = () => loadConfig({ ...base, TENANTRY_ADMIN_TOKEN: 'x'.repeat(20), TENANTRY_ADMIN_TOKEN_FILE: file('t', 'y'.repeat(20)) });
    expect(both).toThrow(ConfigError);
    expect(both).toThrow(/TENANTRY_ADMIN_TOKEN_FILE/);
    expect(() => loadConfig({ ...base, TENANTRY_JWT_SECRET_FILE: path.join(dir, 'missing') })).toThrow(
      /TENANTRY_JWT_SECRET_FILE.*cannot be read/,
    );
  });
});
