import { Kind, type DocumentNode, type SelectionSetNode } from 'graphql';
import type { Caller } from '../application/caller.js';
import type { Services } from '../application/services.js';
import { noTenantSelected } from '../shared/errors.js';

type LiveCheck = (services: Services, caller: Caller, tenantId: string | null) => Promise<unknown>;

/**
 * What each subscription field needs for as long as it runs. The server
 * re-checks it on every live session (see server/session-watch.ts); a field
 * without an entry needs an authenticated caller with access to the tenant.
 */
const LIVE_RIGHTS: Readonly<Record<string, LiveCheck>> = {
  auditLogAppended: (services, caller, tenantId) => services.audit.scope(caller, services.audit.trail(caller, tenantId), 'LIST'),
  changes: (services, caller, tenantId) => {
    if (tenantId === null) throw noTenantSelected();
    return services.changes.visibility(caller, tenantId);
  },
};

/** Throws (UNAUTHENTICATED, FORBIDDEN, TENANT_NOT_FOUND) when the caller may no longer run these subscription fields. */
export async function checkLiveRights(
  services: Services,
  caller: Caller,
  tenantId: string | null,
  fields: Iterable<string>,
): Promise<void> {
  caller.authenticated();
  for (const field of fields) {
    const check = LIVE_RIGHTS[field];
    if (check) await check(services, caller, tenantId);
    else if (tenantId !== null) await services.tenants.enter(caller, tenantId);
  }
}

/** The root fields an operation of the document selects (through fragments too). */
export function rootFields(document: DocumentNode, operationName?: string | null): string[] {
  const fragments = new Map(document.definitions.flatMap((d) => (d.kind === Kind.FRAGMENT_DEFINITION ? [[d.name.value, d] as const] : [])));
  const operations = document.definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION);
  const operation = operations.find((o) => !operationName || o.name?.value === operationName) ?? operations[0];
  const names = new Set<string>();
  const seen = new Set<string>();
  const walk = (set: SelectionSetNode): void => {
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) names.add(selection.name.value);
      else if (selection.kind === Kind.INLINE_FRAGMENT) walk(selection.selectionSet);
      else if (!seen.has(selection.name.value)) {
        seen.add(selection.name.value);
        const fragment = fragments.get(selection.name.value);
        if (fragment) walk(fragment.selectionSet);
      }
    }
  };
  if (operation) walk(operation.selectionSet);
  return [...names];
}
