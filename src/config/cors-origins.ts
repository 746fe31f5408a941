import { ConfigError, optional, type Env } from './env.js';

/**
 * TENANTRY_CORS_ORIGINS: a comma-separated list of origins, each
 * `scheme://host[:port]` exactly as a browser sends it in `Origin` (host
 * lower-cased, a default port dropped). No `*`, no wildcards, no `null`
 * (docs/security.md, "Cross-origin requests name their origins").
 */
export function corsOrigins(env: Env): string[] {
  const name = 'TENANTRY_CORS_ORIGINS';
  const listed = (optional(env, name) ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  const origins = listed.map((entry) => {
    if (entry === '*') {
      throw new ConfigError(name, '* is not accepted: list the exact origins of your frontends, e.g. https://app.example.com');
    }
    if (entry.includes('*')) {
      throw new ConfigError(name, `${JSON.stringify(entry)}: wildcards are not accepted; list each origin, e.g. https://app.example.com`);
    }
    if (entry.toLowerCase() === 'null') {
      throw new ConfigError(name, '"null" is not accepted: it is the origin of every sandboxed frame and local file, not of one site');
    }
    let url: URL | null;
    try {
      url = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]+$/i.test(entry) ? new URL(entry) : null;
    } catch {
      url = null;
    }
    if (url === null || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.username !== '' || url.password !== '') {
      throw new ConfigError(
        name,
        `${JSON.stringify(entry)} is not an origin: write http(s)://host[:port] with no path, e.g. https://app.example.com`,
      );
    }
    return url.origin;
  });
  return [...new Set(origins)];
}
