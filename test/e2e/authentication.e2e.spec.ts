import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/shared/logger.js';
import { bind, createTenant, createUserWithToken } from '../support/access.js';
import { errorCode, expectData, startTestGateway, type TestGateway } from '../support/gateway.js';

const SECRET = 'a-test-jwt-secret-of-at-least-32-characters';
const ISSUER = 'https://idp.example.com/';
const AUDIENCE = 'tenantry';

const hs256 = (claims: JWTPayload, options: { secret?: string; issuer?: string; audience?: string; expiresIn?: string } = {}) =>
  new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuedAt()
    .setIssuer(options.issuer ?? ISSUER)
    .setAudience(options.audience ?? AUDIENCE)
    .setExpirationTime(options.expiresIn ?? '5m')
    .sign(new TextEncoder().encode(options.secret ?? SECRET));

const ME = `{ me { id type tenants { id } } }`;

/** Collects the gateway's log lines, to prove what they do and do not contain. */
function captureLog(): { lines: string[]; stream: Writable } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  return { lines, stream };
}

describe('JWT bearer tokens signed with the HS256 secret', () => {
  let gw: TestGateway;
  const log = captureLog();
  beforeAll(async () => {
    gw = await startTestGateway({
      env: {
        TENANTRY_JWT_SECRET: SECRET,
        TENANTRY_JWT_ISSUER: ISSUER,
        TENANTRY_JWT_AUDIENCE: AUDIENCE,
        TENANTRY_JWT_USER_CLAIM: 'preferred_username',
      },
      logger: createLogger({ level: 'info', destination: log.stream }),
    });
    await createUserWithToken(gw, 'jane');
    await createTenant(gw, 'acme');
    await bind(gw, 'acme', { principalType: 'USER', principalId: 'jane', roleId: 'viewer' });
  });
  afterAll(async () => {
    await gw.dispose();
  });

  it('authenticates the user named by the configured claim, with that user’s bindings', async () => {
    const token = await hs256({ preferred_username: 'jane', sub: 'someone-else' });
    const me = expectData(await gw.gql<{ me: { id: string; type: string; tenants: { id: string }[] } }>(ME, {}, { token }));
    expect(me.me).toEqual({ id: 'jane', type: 'USER', tenants: [{ id: 'acme' }] });
    expectData(await gw.gql(`{ namespaces { id } }`, {}, { tenant: 'acme', token }));
    expect(errorCode(await gw.gql(`mutation { createNamespace(input: {id: "x"}) { id } }`, {}, { tenant: 'acme', token }))).toBe(
      'FORBIDDEN',
    );
  });

  it('refuses a wrong signature, issuer, audience, an expired token, a missing claim and an unknown user', async () => {
    const refused = [
      await hs256({ preferred_username: 'jane' }, { secret: 'another-secret-that-is-also-32-characters-long' }),
      await hs256({ preferred_username: 'jane' }, { issuer: 'https://evil.example.com/' }),
      await hs256({ preferred_username: 'jane' }, { audience: 'someone-else' }),
      await hs256({ preferred_username: 'jane' }, { expiresIn: '-1m' }),
      await hs256({ sub: 'jane' }),
      await hs256({ preferred_username: 'ghost' }),
      // alg "none": never accepted
      `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"preferred_username":"jane"}').toString('base64url')}.`,
    ];
    for (const token of refused) {
      const result = await gw.gql(ME, {}, { token });
      expect(errorCode(result), token).toBe('UNAUTHENTICATED');
      expect(result.status).toBe(401);
    }
  });

  it('logs failed authentication with a reason and never the token', async () => {
    const jwt = await hs256({ preferred_username: 'jane' }, { audience: 'someone-else' });
    const apiToken = `tnt_00000000-0000-4000-8000-000000000000_${'A'.repeat(43)}`;
    for (const token of [jwt, apiToken, 'garbage-token']) expect(errorCode(await gw.gql(ME, {}, { token }))).toBe('UNAUTHENTICATED');
    const failures = log.lines.filter((l) => l.includes('authentication failed'));
    expect(failures.length).toBeGreaterThanOrEqual(3);
    const text = log.lines.join('\n');
    for (const secret of [jwt, jwt.split('.')[2] ?? jwt, 'A'.repeat(43), 'garbage-token']) expect(text).not.toContain(secret);
    expect(text).toContain('unknown API token');
    expect(text).toContain('JWT claim aud failed');
  });
});

describe('JWT bearer tokens verified against a JWKS URL', () => {
  let gw: TestGateway;
  let jwks: http.Server;
  let privateKey: CryptoKey;
  beforeAll(async () => {
    const pair = await generateKeyPair('RS256');
    privateKey = pair.privateKey;
    const publicJwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    jwks = http.createServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: [publicJwk] }));
    });
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/.well-known/jwks.json`;
    gw = await startTestGateway({ env: { TENANTRY_JWT_JWKS_URL: url, TENANTRY_JWT_ISSUER: ISSUER } });
    await createUserWithToken(gw, 'kim');
  });
  afterAll(async () => {
    await gw.dispose();
    await new Promise((resolve) => jwks.close(resolve));
  });

  const rs256 = (key: CryptoKey, claims: JWTPayload, kid = 'k1') =>
    new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid }).setIssuer(ISSUER).setIssuedAt().setExpirationTime('5m').sign(key);

  it('accepts a token signed by a key of the JWKS', async () => {
    const token = await rs256(privateKey, { sub: 'kim' });
    expect(expectData(await gw.gql<{ me: { id: string } }>(ME, {}, { token })).me.id).toBe('kim');
  });

  it('refuses a token signed by another key, and HS256 tokens when no secret is configured', async () => {
    const other = await generateKeyPair('RS256');
    expect(errorCode(await gw.gql(ME, {}, { token: await rs256(other.privateKey, { sub: 'kim' }) }))).toBe('UNAUTHENTICATED');
    expect(errorCode(await gw.gql(ME, {}, { token: await hs256({ sub: 'kim' }) }))).toBe('UNAUTHENTICATED');
  });
});

describe('self-service tenants (TENANTRY_SELF_SERVICE_TENANTS=true)', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({ env: { TENANTRY_SELF_SERVICE_TENANTS: 'true' } });
  });
  afterAll(async () => {
    await gw.dispose();
  });

  it('any authenticated user may create a tenant and becomes its admin', async () => {
    const sam = await createUserWithToken(gw, 'sam');
    expectData(await gw.gql(`mutation { createTenant(input: {id: "sams", name: "Sam's"}) { id } }`, {}, { token: sam }));
    const data = expectData(
      await gw.gql<{ bindings: { principalId: string; roleId: string }[] }>(
        `{ bindings { principalId roleId } }`,
        {},
        { tenant: 'sams', token: sam },
      ),
    );
    expect(data.bindings).toEqual([{ principalId: 'sam', roleId: 'admin' }]);
    expectData(await gw.gql(`mutation { createNamespace(input: {id: "company"}) { id } }`, {}, { tenant: 'sams', token: sam }));
    expect(errorCode(await gw.gql(`mutation { createTenant(input: {id: "anon", name: "x"}) { id } }`, {}, { token: null }))).toBe(
      'UNAUTHENTICATED',
    );
  });
});
