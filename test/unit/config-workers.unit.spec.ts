import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/config.js';

const base = { TENANTRY_DATA_DIR: '/tmp/unused' };

describe('TENANTRY_WORKER_THREADS', () => {
  it('defaults to one less than the cores, at least 1 and at most 4', () => {
    expect(loadConfig(base).workerThreads).toBe(Math.max(1, Math.min(4, availableParallelism() - 1)));
    expect(loadConfig({ ...base, TENANTRY_WORKER_THREADS: '6' }).workerThreads).toBe(6);
  });

  it.each(['0', '-1', '1.5', 'four', '65'])('refuses %j, naming the variable', (value) => {
    expect(() => loadConfig({ ...base, TENANTRY_WORKER_THREADS: value })).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, TENANTRY_WORKER_THREADS: value })).toThrow(
      /^TENANTRY_WORKER_THREADS: must be an integer from 1 to 64/,
    );
  });
});
