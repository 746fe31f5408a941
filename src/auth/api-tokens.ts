import { randomBytes } from 'node:crypto';
import { digestsEqual, sha256 } from './admin-token.js';

/**
 * API token format: `tnt_<tokenId>_<secret>`. The token id (a UUID) finds the
 * stored record without a scan; the secret is 32 random bytes in base64url.
 * Only a random salt and SHA-256(salt ‖ secret) are stored: the secret has 256
 * bits of entropy, so a fast hash is not open to guessing, and the salt keeps
 * equal secrets from having equal hashes.
 */
const TOKEN = /^tnt_([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;

export interface IssuedSecret {
  /** The full bearer token, shown once. */
  token: string;
  secretSalt: string;
  secretHash: string;
}

const hashSecret = (salt: string, secret: string): Buffer => sha256(`${salt}${secret}`);

export function issueApiTokenSecret(tokenId: string): IssuedSecret {
  const secret = randomBytes(32).toString('base64url');
  const secretSalt = randomBytes(16).toString('base64url');
  return { token: `tnt_${tokenId}_${secret}`, secretSalt, secretHash: hashSecret(secretSalt, secret).toString('hex') };
}

/** The token id and secret of something shaped like an API token; null for anything else (a JWT, garbage). */
export function parseApiToken(token: string): { id: string; secret: string } | null {
  const match = TOKEN.exec(token);
  return match?.[1] && match[2] ? { id: match[1], secret: match[2] } : null;
}

/** Constant time: compares fixed-length digests, never the secret itself. */
export function secretMatches(secret: string, stored: { secretSalt: string; secretHash: string }): boolean {
  return digestsEqual(hashSecret(stored.secretSalt, secret), Buffer.from(stored.secretHash, 'hex'));
}
