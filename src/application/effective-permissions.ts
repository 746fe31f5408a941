import type { PrincipalType } from '../aggregates/binding/binding.js';
import { coversNamespace, grantsFor, type Grant, type Subject } from '../auth/authorizer.js';
import type { Principal } from '../auth/principal.js';
import { validateId } from '../shared/ids.js';
import type { Application } from './application.js';
import { accessDataAsOf, type AccessHistorySources } from './access-history.js';
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
    private readonly app: Pick<Application, 'authorizer' | 'heavy'> & AccessHistorySources,
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
