import { API_TOKENS, type ApiTokenDocument } from '../projections/api-tokens/api-tokens.projection.js';
import { docId } from '../projections/runtime/projection.js';
import { SERVICE_ACCOUNTS, type ServiceAccountDocument } from '../projections/service-accounts/service-accounts.projection.js';
import { USERS, type UserDocument } from '../projections/users/users.projection.js';
import type { ReadModels } from '../projections/read-models.js';
import type { Logger } from '../shared/logger.js';
import { parseApiToken, secretMatches } from './api-tokens.js';
import { TokenRejectedError, type TokenVerifier } from './authenticator.js';
import type { Principal } from './principal.js';

/** At most one lastUsedAt write per token per minute. */
export const LAST_USED_RESOLUTION_MS = 60_000;

/**
 * Accepts `tnt_<id>_<secret>` API tokens: the token must exist, not be
 * revoked or expired, and its secret must match the stored salted hash
 * (compared in constant time). A user's token acts with that user's current
 * rights; a service account's token only in its own tenant.
 */
export class ApiTokenVerifier implements TokenVerifier {
  /** Token id → last time this process wrote its lastUsedAt. */
  private readonly lastWritten = new Map<string, number>();

  constructor(
    private readonly readModels: ReadModels,
    private readonly logger: Logger,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async verify(token: string): Promise<Principal | null> {
    const parsed = parseApiToken(token);
    if (!parsed) return null;
    // Authentication runs before any tenant is known: the token id is unique across the instance.
    const tokens = this.readModels.instanceCollection<ApiTokenDocument>(API_TOKENS);
    const doc = await tokens.findOne({ id: parsed.id });
    const details = { tokenId: parsed.id };
    if (!doc) throw new TokenRejectedError('unknown API token', details);
    if (!secretMatches(parsed.secret, doc)) throw new TokenRejectedError('wrong API token secret', details);
    if (doc.revoked) throw new TokenRejectedError('revoked API token', details);
    const now = this.now();
    if (doc.expiresAt !== null && Date.parse(doc.expiresAt) <= now.getTime()) throw new TokenRejectedError('expired API token', details);
    const principal = await this.principalOf(doc);
    this.touch(doc, now);
    return principal;
  }

  private async principalOf(doc: ApiTokenDocument): Promise<Principal> {
    if (doc.principalType === 'SERVICE_ACCOUNT') {
      // A deleted service account is nobody: its tokens stop working with it.
      const accounts = this.readModels.forTenant<ServiceAccountDocument>(SERVICE_ACCOUNTS, doc.tenantId);
      const account = await accounts.findOne({ _id: docId(doc.tenantId, doc.principalId) });
      if (!account) throw new TokenRejectedError('API token of a deleted service account', { tokenId: doc.id });
      // A disabled service account is nobody until it is enabled again.
      if (account.disabled === true) throw new TokenRejectedError('API token of a disabled service account', { tokenId: doc.id });
      return { type: 'SERVICE_ACCOUNT', id: doc.principalId, tenantId: doc.tenantId, via: 'api-token' };
    }
    const user = await this.readModels.instanceCollection<UserDocument>(USERS).findOne({ _id: doc.principalId });
    if (!user) throw new TokenRejectedError('API token of an unknown user', { tokenId: doc.id });
    if (user.disabled === true) throw new TokenRejectedError('API token of a disabled user', { tokenId: doc.id });
    return { type: 'USER', id: user.id, instanceAdmin: user.instanceAdmin, via: 'api-token' };
  }

  /**
   * lastUsedAt is kept in the read model only, not as an event: an event per
   * authenticated request would flood the log and the audit trail with noise.
   * Writes are throttled to one per token per minute (per process, and
   * skipped when the stored time is recent, which also covers other replicas)
   * and never delay or fail the request.
   */
  private touch(doc: ApiTokenDocument, now: Date): void {
    const at = now.getTime();
    const recent = (t: number | undefined) => t !== undefined && at - t < LAST_USED_RESOLUTION_MS;
    if (recent(this.lastWritten.get(doc.id)) || recent(doc.lastUsedAt ? Date.parse(doc.lastUsedAt) : undefined)) return;
    this.lastWritten.set(doc.id, at);
    this.readModels
      .instanceCollection<ApiTokenDocument>(API_TOKENS)
      .updateOne({ _id: doc._id, revoked: false }, { $set: { lastUsedAt: now.toISOString() } })
      .catch((error: unknown) => this.logger.warn({ err: error, tokenId: doc.id }, 'could not record API token use'));
  }
}
