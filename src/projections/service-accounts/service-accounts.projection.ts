import { applyChanges } from '../../aggregates/decider.js';
import type { NamedEntity, NamedEntitySettings } from '../../aggregates/named-entity.js';
import { SERVICE_ACCOUNT_EVENT_TYPES } from '../../aggregates/service-account/service-account.js';
import { createdFields, tenantEntityProjection, type CreatedFields } from '../tenant-entity.js';
import type { ReadModelDocument } from '../runtime/projection.js';

export interface ServiceAccountDocument extends ReadModelDocument, NamedEntity, CreatedFields {
  /** A disabled service account's tokens do not authenticate (see ApiTokenVerifier). */
  disabled: boolean;
  revision: number;
  updatedAt: string;
}

export const SERVICE_ACCOUNTS = 'service_accounts';

export const serviceAccountsProjection = tenantEntityProjection({
  name: 'service-accounts',
  version: 2,
  collection: SERVICE_ACCOUNTS,
  eventTypes: SERVICE_ACCOUNT_EVENT_TYPES,
  evolve(doc: ServiceAccountDocument | null, event): ServiceAccountDocument | null {
    const stamp = { revision: event.streamRevision + 1, updatedAt: event.metadata.occurredAt };
    if (event.type === 'ServiceAccountCreated') return { ...createdFields(event, event.data.id), ...event.data, disabled: false, ...stamp };
    if (!doc) return null;
    switch (event.type) {
      case 'ServiceAccountUpdated':
        return { ...doc, ...applyChanges<NamedEntitySettings>(doc, event.data.changes), ...stamp };
      case 'ServiceAccountDisabled':
        return { ...doc, disabled: true, ...stamp };
      case 'ServiceAccountEnabled':
        return { ...doc, disabled: false, ...stamp };
      case 'ServiceAccountDeleted':
        return null;
    }
  },
});
