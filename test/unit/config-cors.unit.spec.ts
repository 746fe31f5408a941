import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/config.js';
import { configRefusal } from '../support/config-refusal.js';

const base = { TENANTRY_DATA_DIR: '/tmp/unused' };
const origins = (value: string) => loadConfig({ ...base, TENANTRY_CORS_ORIGINS: value }).corsOrigins;

describe('TENANTRY_CORS_ORIGINS', () => {
  it('defaults to none: same-origin only', () => {
    expect(loadConfig(base).corsOrigins).toEqual([]);
    expect(origins('')).toEqual([]);
    expect(origins(' , ')).toEqual([]);
  });

  it('takes a comma-separated list of exact origins, spelled as a browser sends them', () => {
    expect(origins('https://app.example.com, http://localhost:5173')).toEqual(['https://app.example.com', 'http://localhost:5173']);
    // Host lower-cased and a default port dropped, as in the Origin header; duplicates once.
    expect(origins('https://App.Example.COM:443,https://app.example.com,http://[::1]:8080')).toEqual([
      'https://app.example.com',
      'http://[::1]:8080',
    ]);
  });

  it('refuses *: the origins must be listed (docs/security.md)', () => {
    const refusal = configRefusal({ ...base, TENANTRY_CORS_ORIGINS: 'https://app.example.com,*' });
    expect(refusal).toBeInstanceOf(ConfigError);
    expect(refusal.message).toMatch(/^TENANTRY_CORS_ORIGINS: \* is not accepted: list the exact origins/);
  });

  it.each([
    ['https://*.example.com', /wildcards are not accepted/],
    ['null', /"null" is not accepted/],
    ['app.example.com', /"app.example.com" is not an origin: write http\(s\):\/\/host\[:port\] with no path/],
    ['https://app.example.com/', /is not an origin/],
    ['https://app.example.com/app', /is not an origin/],
    ['https://app.example.com?x=1', /is not an origin/],
    ['ftp://files.example.com', /is not an origin/],
    ['https://user:pw@app.example.com', /is not an origin/],
    ['https://exa mple.com', /is not an origin/],
  ])('refuses %j, naming the variable', (value, problem) => {
    const refusal = configRefusal({ ...base, TENANTRY_CORS_ORIGINS: value });
    expect(refusal.message).toMatch(/^TENANTRY_CORS_ORIGINS: /);
    expect(refusal.message).toMatch(problem);
  });
});
