/**
 * Adversarial: the built-in admin and JWT subjects are separate worlds, and
 * a JWT's lifetime is bounded. Whoever holds the HS256 secret (or a key of
 * the IdP) can mint any claims; none of these tokens may become the built-in
 * instance admin or live forever.
 */
import { SignJWT, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUserWithToken } from '../support/access.js';
import { errorCode, expectData, startTestGateway, type TestGateway } from '../support/gateway.js';

const SECRET = 'a-test-jwt-secret-of-at-least-32-characters';
const ME = `{ me { id instanceAdmin } }`;
const now = () => Math.floor(Date.now() / 1000);

/** An HS256 JWT with exactly these claims (no defaults: the test says what is in it). */
const sign = (claims: JWTPayload) => new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(SECRET));

describe('JWT subjects and lifetimes', () => {
  let gw: TestGateway;
  let wide: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({ env: { TENANTRY_JWT_SECRET: SECRET } });
    await createUserWithToken(gw, 'jane');
    wide = await startTestGateway({ env: { TENANTRY_JWT_SECRET: SECRET, TENANTRY_JWT_MAX_LIFETIME_SECONDS: String(7 * 86_400) } });
    await createUserWithToken(wide, 'jane');
  });
  afterAll(async () => {
    await gw.dispose();
    await wide.dispose();
  });

  const refused = async (target: TestGateway, token: string) => {
    const before = await target.eventCount();
    const me = await target.gql(ME, {}, { token });
    expect(errorCode(me), JSON.stringify(me)).toBe('UNAUTHENTICATED');
    expect(me.status).toBe(401);
    const create = await target.gql(
      `mutation { createUser(input: {id: "pwned", email: "p@example.com", instanceAdmin: true}) { id } }`,
      {},
      {
        token,
      },
    );
    expect(errorCode(create)).toBe('UNAUTHENTICATED');
    expect(await target.eventCount()).toBe(before);
  };

  it('a JWT whose subject is `admin` is never the built-in instance admin (any case)', async () => {
    for (const sub of ['admin', 'ADMIN', 'Admin']) await refused(gw, await sign({ sub, iat: now(), exp: now() + 300 }));
    // The built-in admin is still reached with its own token.
    expect(expectData(await gw.gql<{ me: { id: string; instanceAdmin: boolean } }>(ME)).me).toEqual({ id: 'admin', instanceAdmin: true });
  });

  it('a JWT without exp is refused', async () => {
    await refused(gw, await sign({ sub: 'jane', iat: now() }));
    await refused(gw, await sign({ sub: 'jane' }));
  });

  it('a JWT that lives longer than the maximum (default 24 h) is refused, counted from iat or from now', async () => {
    await refused(gw, await sign({ sub: 'jane', iat: now(), exp: now() + 25 * 3600 }));
    await refused(gw, await sign({ sub: 'jane', exp: now() + 25 * 3600 }));
    // iat in the past does not stretch it: exp - iat counts.
    await refused(gw, await sign({ sub: 'jane', iat: now() - 3600, exp: now() + 23.5 * 3600 }));
    const ok = await sign({ sub: 'jane', iat: now(), exp: now() + 23 * 3600 });
    expect(expectData(await gw.gql<{ me: { id: string } }>(ME, {}, { token: ok })).me.id).toBe('jane');
  });

  it('the maximum is configurable (TENANTRY_JWT_MAX_LIFETIME_SECONDS)', async () => {
    const week = await sign({ sub: 'jane', iat: now(), exp: now() + 6 * 86_400 });
    expect(expectData(await wide.gql<{ me: { id: string } }>(ME, {}, { token: week })).me.id).toBe('jane');
    await refused(wide, await sign({ sub: 'jane', iat: now(), exp: now() + 8 * 86_400 }));
  });

  it('iat or nbf in the future beyond the clock skew (60 s) is refused; within it, accepted', async () => {
    await refused(gw, await sign({ sub: 'jane', iat: now() + 600, exp: now() + 900 }));
    await refused(gw, await sign({ sub: 'jane', iat: now(), nbf: now() + 600, exp: now() + 900 }));
    const skewed = await sign({ sub: 'jane', iat: now() + 20, nbf: now() + 20, exp: now() + 300 });
    expect(expectData(await gw.gql<{ me: { id: string } }>(ME, {}, { token: skewed })).me.id).toBe('jane');
  });

  it('an expired JWT is refused at once (the skew does not extend exp)', async () => {
    await refused(gw, await sign({ sub: 'jane', iat: now() - 120, exp: now() - 5 }));
  });
});
