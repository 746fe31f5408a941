/**
 * Every domain event of every aggregate, as one union, and the same events
 * as the log records them (`RecordedDomainEvent`). Projections are typed on
 * it: a projection's declared `eventTypes` pick the members its `evolve` or
 * `apply` receives (src/projections/runtime/projection.ts).
 */
import type { ApiTokenEvent } from '../aggregates/api-token/api-token.js';
import type { BindingEvent } from '../aggregates/binding/binding.js';
import type { FlowEvent } from '../aggregates/flow/flow.js';
import type { GroupEvent } from '../aggregates/group/group.js';
import type { NamespaceEvent } from '../aggregates/namespace/namespace.js';
import type { RoleEvent } from '../aggregates/role/role.js';
import type { SecretEvent } from '../aggregates/secret/secret.js';
import type { ServiceAccountEvent } from '../aggregates/service-account/service-account.js';
import type { TenantEvent } from '../aggregates/tenant/tenant.js';
import type { UserEvent } from '../aggregates/user/user.js';
import type { RecordedEvent } from '../eventstore/port.js';

/** A new aggregate's events are added here (and to src/events/catalog.ts, which the compiler holds to this list). */
export type AnyDomainEvent =
  | TenantEvent
  | UserEvent
  | NamespaceEvent
  | BindingEvent
  | RoleEvent
  | GroupEvent
  | ServiceAccountEvent
  | ApiTokenEvent
  | FlowEvent
  | SecretEvent;

export type DomainEventType = AnyDomainEvent['type'];

/**
 * The recorded events of the given types (all of them by default): a union
 * discriminated by `type`, each member with its own `data`, as upcasting
 * leaves it (the current shape; the ledger alone reads events as stored).
 */
export type RecordedDomainEvent<T extends DomainEventType = DomainEventType> = {
  [K in T]: RecordedEvent<K, Extract<AnyDomainEvent, { type: K }>['data']>;
}[T];
