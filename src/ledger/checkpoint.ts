/**
 * Signed checkpoints of a tenant's ledger: the tree head (size, root hash,
 * time) signed with Ed25519, in a small text form anyone can check with the
 * public key alone (the shape of Certificate Transparency's signed tree
 * heads and of the "checkpoint" notes of transparency logs).
 *
 *   tenantry audit ledger v1
 *   tenant acme
 *   size 1234
 *   root 5f0c…(64 hex digits)
 *   time 2026-12-02T10:00:00.000Z
 *
 * The signature covers exactly these five lines (UTF-8, each ending in \n).
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';

export const CHECKPOINT_ORIGIN = 'tenantry audit ledger v1';

export interface TreeHead {
  tenantId: string;
  size: number;
  /** SHA-256 root of the tenant's Merkle tree of `size` events, hex. */
  rootHash: string;
  /** ISO-8601. */
  signedAt: string;
}

export interface SignedCheckpoint extends TreeHead {
  /** Names the signing key: the first 16 hex digits of SHA-256 of its public key (SPKI DER). */
  keyId: string;
  /** Ed25519 signature of `checkpointBody`, base64. */
  signature: string;
}

export function checkpointBody(head: TreeHead): string {
  return `${CHECKPOINT_ORIGIN}\ntenant ${head.tenantId}\nsize ${head.size}\nroot ${head.rootHash}\ntime ${head.signedAt}\n`;
}

export function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex')
    .slice(0, 16);
}

/** An Ed25519 key pair that signs checkpoints. */
export class SigningKey {
  readonly publicKey: KeyObject;
  readonly keyId: string;

  constructor(private readonly privateKey: KeyObject) {
    if (privateKey.asymmetricKeyType !== 'ed25519')
      throw new Error(`the audit signing key must be Ed25519, not ${privateKey.asymmetricKeyType}`);
    this.publicKey = createPublicKey(privateKey);
    this.keyId = keyIdOf(this.publicKey);
  }

  static fromPem(pem: string): SigningKey {
    return new SigningKey(createPrivateKey(pem));
  }

  static generate(): SigningKey {
    return new SigningKey(generateKeyPairSync('ed25519').privateKey);
  }

  privatePem(): string {
    return this.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  }

  publicPem(): string {
    return this.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  }

  sign(head: TreeHead): SignedCheckpoint {
    const signature = sign(null, Buffer.from(checkpointBody(head), 'utf8'), this.privateKey).toString('base64');
    return { ...head, keyId: this.keyId, signature };
  }
}

/** The public keys a verifier trusts, by key id. */
export class TrustedKeys {
  private readonly byId = new Map<string, KeyObject>();

  constructor(keys: readonly KeyObject[] = []) {
    for (const key of keys) this.add(key);
  }

  add(key: KeyObject): void {
    this.byId.set(keyIdOf(key), key);
  }

  addPem(pem: string): void {
    this.add(createPublicKey(pem));
  }

  /** The trusted public keys, PEM, by key id. */
  list(): { keyId: string; publicKeyPem: string }[] {
    return [...this.byId].map(([keyId, key]) => ({ keyId, publicKeyPem: key.export({ type: 'spki', format: 'pem' }).toString() }));
  }

  /** Every public key in a PEM text (one or several `-----BEGIN PUBLIC KEY-----` blocks). */
  static fromPemBundle(pem: string): TrustedKeys {
    const blocks = pem.match(/-----BEGIN PUBLIC KEY-----[\s\S]+?-----END PUBLIC KEY-----/g) ?? [];
    return new TrustedKeys(blocks.map((block) => createPublicKey(block)));
  }

  get size(): number {
    return this.byId.size;
  }

  /** Why the checkpoint cannot be trusted, or null when its signature checks out with a trusted key. */
  problem(checkpoint: SignedCheckpoint): string | null {
    const key = this.byId.get(checkpoint.keyId);
    if (!key) return `signed with key ${checkpoint.keyId}, which is not a trusted key`;
    let ok: boolean;
    try {
      ok = verify(null, Buffer.from(checkpointBody(checkpoint), 'utf8'), key, Buffer.from(checkpoint.signature, 'base64'));
    } catch {
      ok = false; // a signature that is not even well-formed
    }
    return ok ? null : 'its signature does not match its content';
  }
}
