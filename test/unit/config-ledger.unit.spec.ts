import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { configRefusal } from '../support/config-refusal.js';

const kurrent = {
  TENANTRY_DATA_DIR: '/tmp/unused',
  TENANTRY_EVENT_STORE: 'kurrentdb',
  TENANTRY_KURRENTDB_URL: 'kurrentdb://localhost:2113?tls=false',
};

describe('a durable place for the audit ledger beside every durable log', () => {
  it('refuses KurrentDB with in-memory read models (the ledger and its checkpoints would be rebuilt from the log at every start), naming both variables on one line', () => {
    const error = configRefusal({ ...kurrent, TENANTRY_READ_MODELS: 'memory' });
    expect(error.variable).toBe('TENANTRY_READ_MODELS');
    expect(error.message).toMatch(/^TENANTRY_READ_MODELS: memory with TENANTRY_EVENT_STORE=kurrentdb would keep the audit ledger/);
    expect(error.message).toMatch(/use sqlite or mongodb read models/);
    expect(error.message).not.toContain('\n');
  });

  it('accepts KurrentDB with SQLite (its default) or MongoDB read models, and in-memory read models beside the embedded log (ledger.sqlite) or the memory log', () => {
    expect(loadConfig(kurrent)).toMatchObject({ eventStore: 'kurrentdb', readModels: 'sqlite' });
    expect(loadConfig({ ...kurrent, TENANTRY_READ_MODELS: 'mongodb', TENANTRY_MONGODB_URI: 'mongodb://localhost:27017/' })).toMatchObject({
      eventStore: 'kurrentdb',
      readModels: 'mongodb',
    });
    expect(loadConfig({ TENANTRY_DATA_DIR: '/tmp/unused', TENANTRY_READ_MODELS: 'memory' })).toMatchObject({
      eventStore: 'sqlite',
      readModels: 'memory',
    });
    expect(loadConfig({ TENANTRY_DATA_DIR: '/tmp/unused', TENANTRY_EVENT_STORE: 'memory' })).toMatchObject({
      eventStore: 'memory',
      readModels: 'memory',
    });
  });

  it('refuses a witness file inside the data dir (whoever rewrites the data dir would rewrite it too), also through a symbolic link; accepts one outside', () => {
    const root = mkdtempSync(path.join(tmpdir(), 'tenantry-witness-config-'));
    try {
      const dataDir = path.join(root, 'data');
      mkdirSync(dataDir);
      symlinkSync(dataDir, path.join(root, 'link'));
      for (const inside of [path.join(dataDir, 'witness.jsonl'), path.join(root, 'link', 'sub', 'witness.jsonl'), dataDir]) {
        const error = configRefusal({ TENANTRY_DATA_DIR: dataDir, TENANTRY_AUDIT_WITNESS_FILE: inside });
        expect(error.variable).toBe('TENANTRY_AUDIT_WITNESS_FILE');
        expect(error.message).toMatch(/is inside the data dir/);
      }
      const outside = path.join(root, 'data-witness.jsonl');
      expect(loadConfig({ TENANTRY_DATA_DIR: dataDir, TENANTRY_AUDIT_WITNESS_FILE: outside }).auditWitnessFile).toBe(outside);
      expect(loadConfig({ TENANTRY_DATA_DIR: dataDir }).auditWitnessFile).toBeNull();
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
