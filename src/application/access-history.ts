/**
 * Who could do what at a past instant: the bindings, groups and roles of a
 * tenant folded from the log up to `asOf` (effective permissions with
 * `asOf`, and the authorizer's fallback while the read models are down).
 * Takes the few parts of the application it reads, not the application.
 */
import type { Command, Decider, DomainEvent } from '../aggregates/decider.js';
import { bindingDecider, type BindingData } from '../aggregates/binding/binding.js';
import { groupDecider } from '../aggregates/group/group.js';
import { roleDecider } from '../aggregates/role/role.js';
import type { AccessData, Subject } from '../auth/authorizer.js';
import type { Permission } from '../auth/permissions.js';
import type { CommandHandler } from '../commands/handler.js';
import type { UpcasterRegistry } from '../events/upcasting.js';
import { streamName, type EventStore, type RecordedEvent } from '../eventstore/port.js';
import type { ReadModels } from '../projections/read-models.js';
import { STREAMS, type StreamDocument } from '../projections/streams/streams.projection.js';
import { DocumentStoreUnavailableError } from '../readmodels/port.js';
import { EVENT_PAGE_MAX, PageSizer } from '../shared/page-sizer.js';
import { Slicer } from '../shared/slices.js';

/** What the history of access is read from. */
export interface AccessHistorySources {
  events: EventStore;
  upcasters: UpcasterRegistry;
  readModels: ReadModels;
  commands: Pick<CommandHandler, 'loadAsOf'>;
}

/** Every event of the streams under `prefix`, in log order, page by page. */
async function* eventsUnder(app: AccessHistorySources, prefix: string): AsyncGenerator<RecordedEvent> {
  const sizer = new PageSizer(EVENT_PAGE_MAX);
  for (let after = 0; ;) {
    const { page, full } = await sizer.read((maxCount) => app.events.readAll({ after, maxCount, streamPrefix: prefix }));
    for (const event of page) yield app.upcasters.upcast(event);
    const last = page.at(-1);
    if (!full || !last) return;
    after = last.position;
  }
}

/** Folds every stream of one aggregate category with its own decider, keeping events that occurred by `until`. */
async function foldCategory<E extends DomainEvent, S>(
  app: AccessHistorySources,
  tenantId: string,
  category: string,
  decider: Pick<Decider<Command, E, S>, 'initialState' | 'evolve'>,
  until: string,
  slicer: Slicer,
): Promise<S[]> {
  const states = new Map<string, S>();
  for await (const event of eventsUnder(app, `${streamName(tenantId, category)}/`)) {
    await slicer.tick();
    if (event.metadata.occurredAt > until) continue;
    states.set(event.streamName, decider.evolve(states.get(event.streamName) ?? decider.initialState(), event as unknown as E));
  }
  return [...states.values()];
}

/**
 * "Who could do what, at time T, and through which binding or group":
 * bindings, group memberships and custom roles of the tenant replayed from the
 * log, then the same grant computation the Authorizer uses now.
 */
/**
 * Every stream of one category that existed at `until` (the `streams` read
 * model), each folded from its nearest snapshot: the cost grows with the
 * number of bindings, groups or roles, not with the events of their history.
 */
async function foldStreams<E extends DomainEvent, S>(
  app: AccessHistorySources,
  tenantId: string,
  category: string,
  decider: Pick<Decider<Command, E, S>, 'initialState' | 'evolve' | 'name' | 'stateVersion' | 'weight'>,
  until: string,
  slicer: Slicer,
): Promise<S[]> {
  const streams = app.readModels.forTenant<StreamDocument>(STREAMS, tenantId);
  const states: S[] = [];
  for await (const doc of streams.stream({ category, createdAt: { $lte: until } }, { sort: { createdAt: 1 } })) {
    states.push((await app.commands.loadAsOf(decider, doc._id, until, { slicer })).state);
    await slicer.tick();
  }
  return states;
}

export async function accessDataAsOf(
  app: AccessHistorySources,
  tenantId: string,
  subject: Subject,
  asOf: Date,
  slicer: Slicer = new Slicer(),
): Promise<AccessData> {
  const until = asOf.toISOString();
  // One after the other: three folds at once would only take turns on the same event loop.
  const fold = async <E extends DomainEvent, S>(category: string, decider: Decider<Command, E, S>): Promise<S[]> => {
    try {
      return await foldStreams(app, tenantId, category, decider, until, slicer);
    } catch (error) {
      // The read models are down (this is also the authorizer's path then): every event of the category, from the log.
      if (!(error instanceof DocumentStoreUnavailableError)) throw error;
      return foldCategory(app, tenantId, category, decider, until, slicer);
    }
  };
  const bindings = await fold('binding', bindingDecider);
  const groups = await fold('group', groupDecider);
  const roles = await fold('role', roleDecider);
  const customRoles = new Map<string, Permission[]>();
  for (const role of roles) if (role.status === 'active') customRoles.set(role.id, role.permissions);
  const memberOf: string[] = [];
  // A disabled group grants nothing: not to its members, and nothing as a subject of its own.
  const disabled = new Set<string>();
  for (const group of groups) {
    if (group.status !== 'active') continue;
    if (group.disabled) disabled.add(group.id);
    else if (subject.type === 'USER' && group.members.includes(subject.id)) memberOf.push(group.id);
  }
  return {
    bindings: bindings.filter(
      (b): b is BindingData & { status: 'active' } =>
        b.status === 'active' && !(b.principalType === 'GROUP' && disabled.has(b.principalId)),
    ),
    groups: memberOf,
    customRoles,
  };
}
