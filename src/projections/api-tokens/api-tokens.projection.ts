import type { ApiTokenData } from '../../aggregates/api-token/api-token.js';
import { createdFields, tenantEntityProjection, type CreatedFields } from '../tenant-entity.js';
import type { ReadModelDocument } from '../runtime/projection.js';

/**
 * API tokens of users live in the `_instance` scope (tenantId `_instance`),
 * tokens of service accounts in their tenant. Authentication finds a token by
 * its globally unique `id`, before any tenant is known.
 */
export interface ApiTokenDocument extends ReadModelDocument, ApiTokenData, CreatedFields {
  revoked: boolean;
  revokedAt: string | null;
  /**
   * Written by the authenticator, not by an event (see ApiTokenVerifier): an
   * event per request would flood the log and the audit trail. A rebuild of
   * this read model therefore starts with no last-use times.
   */
  lastUsedAt: string | null;
}

export const API_TOKENS = 'api_tokens';

export const API_TOKEN_EVENT_TYPES = ['ApiTokenCreated', 'ApiTokenRevoked'] as const;

export const apiTokensProjection = tenantEntityProjection({
  name: 'api-tokens',
  collection: API_TOKENS,
  indexes: [
    { keys: { id: 1 }, name: 'id', unique: true },
    { keys: { tenantId: 1, principalType: 1, principalId: 1 }, name: 'principal' },
  ],
  eventTypes: API_TOKEN_EVENT_TYPES,
  evolve(doc: ApiTokenDocument | null, event): ApiTokenDocument | null {
    switch (event.type) {
      case 'ApiTokenCreated':
        return {
          ...createdFields(event, event.data.id),
          ...event.data,
          revoked: false,
          revokedAt: null,
          lastUsedAt: doc?.lastUsedAt ?? null,
        };
      case 'ApiTokenRevoked':
        return doc ? { ...doc, revoked: true, revokedAt: event.metadata.occurredAt } : null;
    }
  },
});
