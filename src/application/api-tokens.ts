import { apiTokenDecider, type TokenPrincipalType } from '../aggregates/api-token/api-token.js';
import { issueApiTokenSecret } from '../auth/api-tokens.js';
import { requireNoEscalation } from '../auth/escalation.js';
import { isInstanceAdmin, type Principal } from '../auth/principal.js';
import { derivedId } from '../commands/handler.js';
import { INSTANCE_SCOPE, streamName } from '../eventstore/port.js';
import { API_TOKENS, type ApiTokenDocument } from '../projections/api-tokens/api-tokens.projection.js';
import { docId } from '../projections/runtime/projection.js';
import type { TenantCollection } from '../readmodels/tenant-scoped.js';
import { conflict, forbidden, noTenantSelected, notFound } from '../shared/errors.js';
import { isValidId } from '../shared/ids.js';
import type { Application } from './application.js';
import type { Caller } from './caller.js';
import type { PrincipalDirectory } from './principals.js';
import type { TenantService } from './tenants.js';

/** What anyone may see of a token: never its secret or hash. */
export interface ApiTokenView {
  id: string;
  name: string;
  principalType: TokenPrincipalType;
  principalId: string;
  expiresAt: string | null;
  createdAt: string;
  createdBy: string;
  lastUsedAt: string | null;
  revoked: boolean;
  revokedAt: string | null;
  /** Events in the token's stream: 1, or 2 once revoked (what expectedRevision is compared with). */
  revision: number;
}

export interface CreateApiTokenInput {
  principalId: string;
  name: string;
  /** Seconds; absent: never expires. */
  expiresIn?: number | null;
  /** Absent: the caller's own user when principalId is the caller, else a service account of the tenant (or a user on the instance endpoint). */
  principalType?: TokenPrincipalType | null;
}

/**
 * Tokens of users are instance-level (scope `_instance`): they act as the
 * user wherever the user is bound. Tokens of service accounts live in the
 * service account's tenant and are nobody anywhere else.
 */
const scopeOf = (type: TokenPrincipalType, tenantId: string | null): string =>
  type === 'USER' ? INSTANCE_SCOPE : (tenantId ?? INSTANCE_SCOPE);
export const apiTokenStream = (scope: string, id: string): string => streamName(scope, 'api-token', id);

const toView = (doc: ApiTokenDocument): ApiTokenView => ({
  id: doc.id,
  name: doc.name,
  principalType: doc.principalType,
  principalId: doc.principalId,
  expiresAt: doc.expiresAt,
  createdAt: doc.createdAt,
  createdBy: doc.createdBy,
  lastUsedAt: doc.lastUsedAt,
  revoked: doc.revoked,
  revokedAt: doc.revokedAt,
  revision: doc.revoked ? 2 : 1,
});

const isSelf = (principal: Principal, userId: string): boolean => principal.type === 'USER' && principal.id === userId;
const managesUsers = (principal: Principal): boolean => isInstanceAdmin(principal) || principal.type === 'SYSTEM';

export class ApiTokenService {
  constructor(
    private readonly app: Pick<Application, 'authorizer' | 'commands' | 'execute' | 'readModels'>,
    private readonly tenants: TenantService,
    private readonly principals: PrincipalDirectory,
  ) {}

  private collection(scope: string): TenantCollection<ApiTokenDocument> {
    return this.app.readModels.forTenant<ApiTokenDocument>(API_TOKENS, scope);
  }

  /**
   * On a tenant endpoint: the tenant's service-account tokens (SERVICE_ACCOUNT:LIST).
   * On the instance endpoint: the caller's own user tokens; instance admins see every user's.
   */
  async list(caller: Caller, tenantId: string | null, principalId?: string | null): Promise<ApiTokenView[]> {
    const principal = caller.authenticated();
    const filter: Record<string, unknown> = principalId != null ? { principalId } : {};
    if (tenantId !== null) {
      const access = await this.tenants.enter(caller, tenantId);
      if (!access.scope('SERVICE_ACCOUNT', 'LIST').all) return [];
      return (await this.collection(tenantId).find(filter, { sort: { createdAt: 1 } })).map(toView);
    }
    if (!managesUsers(principal)) {
      if (principal.type !== 'USER' || (principalId != null && principalId !== principal.id)) return [];
      filter['principalId'] = principal.id;
    }
    return (await this.collection(INSTANCE_SCOPE).find(filter, { sort: { createdAt: 1 } })).map(toView);
  }

  /** The secret is in the answer once and nowhere else. */
  async create(caller: Caller, tenantId: string | null, input: CreateApiTokenInput) {
    const principal = caller.authenticated();
    const access = tenantId === null ? null : await this.tenants.enter(caller, tenantId);
    const type = input.principalType ?? (isSelf(principal, input.principalId) || tenantId === null ? 'USER' : 'SERVICE_ACCOUNT');
    if (type === 'SERVICE_ACCOUNT') {
      // Like every tenant-level operation without a tenant: nothing to find here.
      if (access === null || tenantId === null) throw noTenantSelected();
      access.require('SERVICE_ACCOUNT', 'UPDATE');
      await this.principals.require(tenantId, 'SERVICE_ACCOUNT', input.principalId, 'principalId');
      // Whoever holds the token acts as the service account: minting one gives its rights (see escalation.ts).
      const given = await this.app.authorizer.grants({ type: 'SERVICE_ACCOUNT', id: input.principalId, tenantId }, tenantId);
      requireNoEscalation(access, given, `a token of service account ${input.principalId}`);
    } else {
      // A token acts as its user everywhere: only that user, or whoever manages users, may mint one.
      if (!isSelf(principal, input.principalId) && !managesUsers(principal)) throw forbidden('USER:UPDATE');
      await this.principals.require(INSTANCE_SCOPE, 'USER', input.principalId, 'principalId');
    }
    const scope = scopeOf(type, tenantId);
    const metadata = caller.commandMetadata(scope);
    const id = derivedId(metadata.commandId, 'api-token');
    const issued = issueApiTokenSecret(id);
    const result = await this.app.execute(apiTokenDecider, apiTokenStream(scope, id), {
      type: 'CreateApiToken',
      data: {
        id,
        name: input.name,
        principalType: type,
        principalId: input.principalId,
        expiresIn: input.expiresIn ?? null,
        secretSalt: issued.secretSalt,
        secretHash: issued.secretHash,
      },
      metadata,
    });
    const state = result.state;
    if (state.status === 'absent') throw notFound('API token');
    if (state.secretHash !== issued.secretHash) {
      // A retry (same Idempotency-Key) of a request that already created this token: its secret was shown then.
      throw conflict(
        `API token ${id} was created by an earlier attempt of this request; its secret cannot be shown again: revoke it and create a new one`,
      );
    }
    const first = result.events[0]?.metadata;
    return {
      token: {
        id,
        name: state.name,
        principalType: type,
        principalId: state.principalId,
        expiresAt: state.expiresAt,
        createdAt: first?.occurredAt ?? metadata.now,
        createdBy: first?.actor.id ?? metadata.actor.id,
        lastUsedAt: null,
        revoked: false,
        revokedAt: null,
        revision: result.revision,
        token: issued.token,
      },
      position: result.position,
    };
  }

  /**
   * A service-account token of the tenant needs SERVICE_ACCOUNT:UPDATE there;
   * a user token may be revoked by its user or an instance admin. Anyone else
   * gets NOT_FOUND: token ids are not a way to probe for tokens.
   */
  async revoke(caller: Caller, tenantId: string | null, id: string, expectedRevision?: number | null) {
    const principal = caller.authenticated();
    const doc = await this.findRevocable(caller, principal, tenantId, id);
    if (!doc) throw notFound(`API token ${id}`);
    const result = await this.app.execute(
      apiTokenDecider,
      apiTokenStream(doc.tenantId, id),
      { type: 'RevokeApiToken', data: { id }, metadata: caller.commandMetadata(doc.tenantId) },
      { expectedRevision },
    );
    return { revoked: true, position: result.position };
  }

  /**
   * Revokes every live token of a principal, each by its own command (its own
   * ApiTokenRevoked and audit entry). Not authorized here: the deletion that
   * cascades into it is. `scope`: the tenant of a service account, or
   * `_instance` for a user. Returns the last position written (0: none).
   */
  async revokeAllOf(caller: Caller, scope: string, principalType: TokenPrincipalType, principalId: string): Promise<number> {
    const live = await this.collection(scope).find({ principalType, principalId, revoked: false }, { sort: { createdAt: 1 } });
    let position = 0;
    for (const token of live) {
      const result = await this.app.commands.handle(apiTokenDecider, apiTokenStream(scope, token.id), {
        type: 'RevokeApiToken',
        data: { id: token.id },
        metadata: caller.commandMetadata(scope),
      });
      position = Math.max(position, result.position);
    }
    return position;
  }

  private async findRevocable(caller: Caller, principal: Principal, tenantId: string | null, id: string): Promise<ApiTokenDocument | null> {
    if (!isValidId('name', id)) return null;
    if (tenantId !== null) {
      const access = await this.tenants.enter(caller, tenantId);
      const doc = await this.collection(tenantId).findOne({ _id: docId(tenantId, id) });
      // Without VIEW the token does not exist for this caller; with VIEW but not UPDATE it is FORBIDDEN.
      if (doc && access.can('SERVICE_ACCOUNT', 'VIEW')) {
        access.require('SERVICE_ACCOUNT', 'UPDATE');
        return doc;
      }
      if (doc) return null;
    }
    const doc = await this.collection(INSTANCE_SCOPE).findOne({ _id: docId(INSTANCE_SCOPE, id) });
    return doc && (isSelf(principal, doc.principalId) || managesUsers(principal)) ? doc : null;
  }
}
