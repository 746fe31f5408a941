import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { configRefusal } from '../support/config-refusal.js';

const mongo = { TENANTRY_DATA_DIR: '/tmp/unused', TENANTRY_READ_MODELS: 'mongodb', TENANTRY_MONGODB_URI: 'mongodb://localhost:27017/' };

describe('TENANTRY_MONGODB_TRANSACTIONS and TENANTRY_PROJECTOR', () => {
  it('default to auto and embedded', () => {
    expect(loadConfig({ TENANTRY_DATA_DIR: '/tmp/unused' })).toMatchObject({ mongoTransactions: 'auto', projector: 'embedded' });
    expect(loadConfig({ ...mongo, TENANTRY_MONGODB_TRANSACTIONS: 'off', TENANTRY_PROJECTOR: 'off' })).toMatchObject({
      mongoTransactions: 'off',
      projector: 'off',
    });
  });

  it('refuse unknown values, naming the variable', () => {
    expect(configRefusal({ ...mongo, TENANTRY_MONGODB_TRANSACTIONS: 'yes' }).variable).toBe('TENANTRY_MONGODB_TRANSACTIONS');
    expect(configRefusal({ ...mongo, TENANTRY_PROJECTOR: 'external' }).variable).toBe('TENANTRY_PROJECTOR');
  });

  it('refuse the projector off where nobody else could project, and transactions on without MongoDB', () => {
    expect(configRefusal({ TENANTRY_DATA_DIR: '/tmp/unused', TENANTRY_READ_MODELS: 'memory', TENANTRY_PROJECTOR: 'off' }).message).toMatch(
      /^TENANTRY_PROJECTOR: off needs TENANTRY_READ_MODELS=sqlite or mongodb/,
    );
    expect(configRefusal({ ...mongo, TENANTRY_EVENT_STORE: 'memory', TENANTRY_PROJECTOR: 'off' }).message).toMatch(
      /^TENANTRY_PROJECTOR: off needs an event log other processes can read/,
    );
    expect(configRefusal({ TENANTRY_DATA_DIR: '/tmp/unused', TENANTRY_MONGODB_TRANSACTIONS: 'on' }).variable).toBe(
      'TENANTRY_MONGODB_TRANSACTIONS',
    );
  });
});

describe('TENANTRY_READ_MODELS', () => {
  it('defaults to sqlite (durable, in the data dir) beside a durable log, and to memory beside a log in memory', () => {
    expect(loadConfig({ TENANTRY_DATA_DIR: '/tmp/unused' }).readModels).toBe('sqlite');
    expect(loadConfig({ TENANTRY_DATA_DIR: '/tmp/unused', TENANTRY_EVENT_STORE: 'memory' }).readModels).toBe('memory');
    expect(loadConfig({ TENANTRY_DATA_DIR: '/tmp/unused', TENANTRY_READ_MODELS: 'memory' }).readModels).toBe('memory');
  });

  it('lets another process project SQLite read models, and refuses them beside a log in memory', () => {
    expect(loadConfig({ TENANTRY_DATA_DIR: '/tmp/unused', TENANTRY_PROJECTOR: 'off' })).toMatchObject({
      readModels: 'sqlite',
      projector: 'off',
    });
    expect(
      configRefusal({ TENANTRY_DATA_DIR: '/tmp/unused', TENANTRY_EVENT_STORE: 'memory', TENANTRY_READ_MODELS: 'sqlite' }).variable,
    ).toBe('TENANTRY_READ_MODELS');
  });
});
