import type { NamedEntity } from '../../aggregates/named-entity.js';
import { SERVICE_ACCOUNT_EVENT_TYPES, type ServiceAccountEvent } from '../../aggregates/service-account/service-account.js';
import type { RecordedEvent } from '../../eventstore/port.js';
import { createdFields, tenantEntityProjection, type CreatedFields } from '../tenant-entity.js';
import type { ReadModelDocument } from '../runtime/projection.js';

export interface ServiceAccountDocument extends ReadModelDocument, NamedEntity, CreatedFields {}

export const SERVICE_ACCOUNTS = 'service_accounts';

type Recorded = RecordedEvent & ServiceAccountEvent;

export const serviceAccountsProjection = tenantEntityProjection<ServiceAccountDocument>({
  name: 'service-accounts',
  collection: SERVICE_ACCOUNTS,
  eventTypes: SERVICE_ACCOUNT_EVENT_TYPES,
  evolve(_doc, raw) {
    const event = raw as Recorded;
    switch (event.type) {
      case 'ServiceAccountCreated':
        return { ...createdFields(event, event.data.id), ...event.data };
      case 'ServiceAccountDeleted':
        return null;
    }
  },
});
