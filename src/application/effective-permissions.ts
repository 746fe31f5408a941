import type { Command, Decider, DomainEvent } from '../aggregates/decider.js';
import { bindingDecider, type BindingData, type PrincipalType } from '../aggregates/binding/binding.js';
import { groupDecider } from '../aggregates/group/group.js';
import { roleDecider } from '../aggregates/role/role.js';
import { coversNamespace, grantsFor, type AccessData, type Grant, type Subject } from '../auth/authorizer.js';
import type { Permission } from '../auth/permissions.js';
import type { Principal } from '../auth/principal.js';
import { streamName, type RecordedEvent } from '../eventstore/port.js';
import { STREAMS, type StreamDocument } from '../projections/streams/streams.projection.js';
import { DocumentStoreUnavailableError } from '../readmodels/port.js';
import { tenantScoped } from '../readmodels/tenant-scoped.js';
import { validateId } from '../shared/ids.js';
import { EVENT_PAGE_MAX, PageSizer } from '../shared/page-sizer.js';
import { Slicer } from '../shared/slices.js';
import type { Application } from './application.js';
import type { Caller } from './caller.js';
import type { PrincipalDirectory } from './principals.js';
import type { TenantService } from './tenants.js';

export interface EffectivePermissionView {
  resource: string;
  action: string;
  namespace: string | null;
  /** The binding (`binding:<id>`), group (`group:<id> binding:<id>`) or rule (`instance-admin`) that grants it. */
  via: string;
}

export interface EffectivePermissionsQuery {
  principalId: string;
  /** Only what applies in this namespace (tenant-wide grants, and grants on it or an ancestor). */
  namespace?: string | null;
  /** Replay the log up to this time instead of reading the current read models. */
  asOf?: Date | null;
  /** Absent: a user with this id if one exists, else a service account, else a group of the tenant. */
  principalType?: PrincipalType | null;
}

/** Every event of the streams under `prefix`, in log order, page by page. */
async function* eventsUnder(app: Application, prefix: string): AsyncGenerator<RecordedEvent> {
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
  app: Application,
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
  app: Application,
  tenantId: string,
  category: string,
  decider: Pick<Decider<Command, E, S>, 'initialState' | 'evolve' | 'name' | 'stateVersion' | 'weight'>,
  until: string,
  slicer: Slicer,
): Promise<S[]> {
  const streams = tenantScoped(app.readModels.instanceCollection<StreamDocument>(STREAMS), tenantId);
  const states: S[] = [];
  for await (const doc of streams.stream({ category, createdAt: { $lte: until } }, { sort: { createdAt: 1 } })) {
    states.push((await app.commands.loadAsOf(decider, doc._id, until, { slicer })).state);
    await slicer.tick();
  }
  return states;
}

export async function accessDataAsOf(
  app: Application,
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

/** One entry per (resource, action, namespace, via), sorted; only grants that apply in `namespace` when given. */
export function effectivePermissionViews(grants: readonly Grant[], namespace: string | null = null): EffectivePermissionView[] {
  const unique = new Map<string, EffectivePermissionView>();
  for (const g of grants) {
    if (namespace !== null && !coversNamespace(g, namespace)) continue;
    unique.set(`${g.resource}|${g.action}|${g.namespace ?? ''}|${g.via}`, {
      resource: g.resource,
      action: g.action,
      namespace: g.namespace,
      via: g.via,
    });
  }
  const order = (v: EffectivePermissionView) => `${v.resource}|${v.action}|${v.namespace ?? ''}|${v.via}`;
  return [...unique.values()].sort((a, b) => order(a).localeCompare(order(b)));
}

const isCaller = (principal: Principal, subject: Subject, tenantId: string): boolean =>
  principal.type === subject.type &&
  principal.id === subject.id &&
  (principal.type !== 'SERVICE_ACCOUNT' || principal.tenantId === tenantId);

export class EffectivePermissionService {
  constructor(
    private readonly app: Application,
    private readonly tenants: TenantService,
    private readonly principals: PrincipalDirectory,
  ) {}

  /** Needs BINDING:LIST, except for callers asking about themselves. */
  async list(caller: Caller, tenantId: string, query: EffectivePermissionsQuery): Promise<EffectivePermissionView[]> {
    const access = await this.tenants.enter(caller, tenantId);
    const namespace = query.namespace == null ? null : validateId('namespace', 'namespace', query.namespace);
    const subject = await this.subject(tenantId, query.principalId, query.principalType ?? null);
    if (!isCaller(caller.authenticated(), subject, tenantId)) access.require('BINDING', 'LIST');
    const asOf = query.asOf;
    // Back in time, every binding, group and role event of the tenant is folded: expensive work, in time slices, within the deadline.
    const grants = asOf
      ? grantsFor(
          subject,
          tenantId,
          await this.app.heavy.run(tenantId, 'time travel', () => accessDataAsOf(this.app, tenantId, subject, asOf, caller.slicer())),
        )
      : await this.app.authorizer.grants(subject, tenantId);
    return effectivePermissionViews(grants, namespace);
  }

  private async subject(tenantId: string, id: string, type: PrincipalType | null): Promise<Subject> {
    const user = type === null || type === 'USER' ? await this.principals.user(id) : null;
    if (type === 'USER' || user) return { type: 'USER', id, instanceAdmin: user?.instanceAdmin ?? false };
    if (type === 'SERVICE_ACCOUNT' || (type === null && (await this.principals.exists(tenantId, 'SERVICE_ACCOUNT', id)))) {
      return { type: 'SERVICE_ACCOUNT', id, tenantId };
    }
    return { type: 'GROUP', id };
  }
}
