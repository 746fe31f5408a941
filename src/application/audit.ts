import type { ListScope } from '../auth/authorizer.js';
import type { Action } from '../auth/permissions.js';
import { isInstanceAdmin } from '../auth/principal.js';
import { INSTANCE_SCOPE } from '../eventstore/port.js';
import { toView, type AuditEntryDocument, type AuditEntryView, type ChainHeadDocument } from '../projections/audit/audit-entry.js';
import { AUDIT_CHAIN_HEADS, AUDIT_LOGS, AUDIT_PROJECTION } from '../projections/audit/audit.projection.js';
import { TENANTS, type TenantDocument } from '../projections/tenants/tenants.projection.js';
import type { Filter } from '../readmodels/port.js';
import { tenantScoped, type TenantCollection } from '../readmodels/tenant-scoped.js';
import { badInput, forbidden, noTenantSelected, tenantNotFound } from '../shared/errors.js';
import { isValidId } from '../shared/ids.js';
import type { Application } from './application.js';
import { auditCriteria, criteriaKey, criteriaPredicate, criteriaQuery, type AuditLogFilterInput } from './audit-criteria.js';
import { AuditFeed, CurrentRunner, type AppliedProgress, type FeedFilter } from './audit-feed.js';
import { AuditHub } from './audit-hub.js';
import { entriesFromLog, verifyAuditChain, type AuditVerification } from './audit-verify.js';
import type { Caller } from './caller.js';
import { decodeCursor, encodeCursor, pageSize, toPage, type Page } from './pagination.js';
import type { TenantService } from './tenants.js';

export type { AuditLogFilterInput } from './audit-criteria.js';

/** A MongoDB filter for the API's AuditLogFilter, within what the caller may see. */
export function auditFilter(filter: AuditLogFilterInput | null | undefined, scope: ListScope): Filter {
  return criteriaQuery(auditCriteria(filter, scope));
}

/** The filter of a live subscription: store query, predicate and routing key of the same criteria. */
export function feedFilter(filter: AuditLogFilterInput | null | undefined, scope: ListScope): FeedFilter {
  const criteria = auditCriteria(filter, scope);
  return { query: criteriaQuery(criteria), matches: criteriaPredicate(criteria), key: criteriaKey(criteria) };
}

const positionCursor = (doc: AuditEntryDocument): string => encodeCursor([String(doc.position)]);

/**
 * Reading, verifying, exporting and following the audit log. A trail is a
 * tenant's chain, or the instance's (`_instance`: users and other events of
 * no tenant), which only instance admins and the local system may read.
 */
export class AuditService {
  constructor(
    private readonly app: Application,
    private readonly tenants: TenantService,
  ) {}

  entries(tenantId: string): TenantCollection<AuditEntryDocument> {
    return tenantScoped(this.app.readModels.instanceCollection<AuditEntryDocument>(AUDIT_LOGS), tenantId);
  }

  /**
   * The trail a request reads: the selected tenant's or, with no tenant
   * selected, the instance trail for instance admins.
   */
  trail(caller: Caller, selectedTenant: string | null): string {
    if (selectedTenant !== null) return selectedTenant;
    if (isInstanceAdmin(caller.authenticated())) return INSTANCE_SCOPE;
    throw noTenantSelected();
  }

  /** Resolved on every use: a blue/green rebuild replaces the live runner while feeds keep following. */
  private readonly progress: AppliedProgress = new CurrentRunner(() => this.app.projections.runner(AUDIT_PROJECTION));

  /**
   * Where in a trail the caller may look for `action` (LIST, EXPORT). The
   * local system (CLI) may read every tenant that ever existed, deleted ones
   * included: a deleted tenant's history stays verifiable.
   */
  async scope(caller: Caller, tenantId: string, action: Action): Promise<ListScope> {
    const principal = caller.authenticated();
    if (tenantId === INSTANCE_SCOPE) {
      if (isInstanceAdmin(principal) || principal.type === 'SYSTEM') return { all: true };
      throw forbidden(`AUDITLOG:${action}`);
    }
    if (principal.type === 'SYSTEM') {
      const tenants = this.app.readModels.instanceCollection<TenantDocument>(TENANTS);
      if (!isValidId('tenant', tenantId) || !(await tenants.findOne({ _id: tenantId }))) throw tenantNotFound(tenantId);
      return { all: true };
    }
    const scope = (await this.tenants.enter(caller, tenantId)).scope('AUDITLOG', action);
    if (!scope.all && scope.namespaces.length === 0) throw forbidden(`AUDITLOG:${action}`);
    return scope;
  }

  /** Newest first, Relay cursors over positions. */
  async list(
    caller: Caller,
    tenantId: string,
    filter: AuditLogFilterInput | null | undefined,
    first: number | null | undefined,
    after: string | null | undefined,
  ): Promise<Page<AuditEntryView>> {
    const query = auditFilter(filter, await this.scope(caller, tenantId, 'LIST'));
    const size = pageSize(first, 50, 500);
    const before = after ? Number(decodeCursor('after', after, 1)[0]) : null;
    if (before !== null && !Number.isSafeInteger(before)) throw badInput('after', 'after is not a cursor returned by this list');
    const entries = this.entries(tenantId);
    const page = before === null ? query : { $and: [query, { position: { $lt: before } }] };
    const [rows, totalCount] = await Promise.all([
      size === 0 ? Promise.resolve([]) : entries.find(page, { sort: { position: -1 }, limit: size + 1 }),
      entries.countDocuments(query),
    ]);
    return toPage(rows, size, totalCount, positionCursor, toView);
  }

  /** Authorizes at once, then streams matching entries oldest first without holding them. */
  async exportEntries(
    caller: Caller,
    tenantId: string,
    filter: AuditLogFilterInput | null | undefined,
  ): Promise<AsyncIterable<AuditEntryView>> {
    const query = auditFilter(filter, await this.scope(caller, tenantId, 'EXPORT'));
    const docs = this.entries(tenantId).stream(query, { sort: { position: 1 } });
    return (async function* () {
      for await (const doc of docs) yield toView(doc);
    })();
  }

  /**
   * Recomputes the tenant's chain from the read model and from the event log
   * (up to what the audit projection has applied) and names the first entry
   * that does not match. Needs AUDITLOG:LIST on the whole tenant.
   */
  async verify(caller: Caller, tenantId: string, onProgress?: (checked: number) => void): Promise<AuditVerification> {
    const scope = await this.scope(caller, tenantId, 'LIST');
    if (!scope.all) throw forbidden('AUDITLOG:LIST');
    const upTo = this.progress.appliedPosition;
    const heads = tenantScoped(this.app.readModels.instanceCollection<ChainHeadDocument>(AUDIT_CHAIN_HEADS), tenantId);
    const head = await heads.findOne({ _id: tenantId });
    return verifyAuditChain({
      tenantId,
      stored: this.entries(tenantId).stream({ position: { $lte: upTo } }, { sort: { position: 1 } }),
      expected: entriesFromLog(this.app.events, this.app.upcasters, tenantId, upTo),
      head: head ? { hash: head.hash, position: head.position } : null,
      upTo,
      ...(onProgress ? { onProgress } : {}),
    });
  }

  /**
   * The process's fan-out of new audit entries to live subscriptions (one
   * store read per applied batch and tenant, whatever the number of them).
   */
  readonly hub = new AuditHub(() => this.app.projections.runner(AUDIT_PROJECTION));

  /**
   * A live feed of the entries matching `filter`: after `afterPosition` when
   * given (what a reconnecting client missed, then what comes), otherwise
   * from now on. Ends when the subscriber loses AUDITLOG:LIST.
   */
  async follow(
    caller: Caller,
    tenantId: string,
    filter: AuditLogFilterInput | null | undefined,
    afterPosition: number | null,
  ): Promise<AuditFeed> {
    const initial = feedFilter(filter, await this.scope(caller, tenantId, 'LIST'));
    const recheck = async (): Promise<FeedFilter | null> => {
      caller.invalidateAccess();
      try {
        return feedFilter(filter, await this.scope(caller, tenantId, 'LIST'));
      } catch {
        return null;
      }
    };
    return new AuditFeed(this.hub, { tenantId, filter: initial, after: afterPosition, recheck });
  }
}
