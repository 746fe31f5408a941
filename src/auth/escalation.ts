import { DomainError, ErrorCode } from '../shared/errors.js';
import type { Access } from './authorizer.js';
import { NAMESPACED_RESOURCES, permissionKey, type Action, type Permission, type Resource } from './permissions.js';

/** The permission that allows granting rights one does not hold oneself (Kubernetes RBAC's `escalate` verb). */
export const ESCALATE = permissionKey('BINDING', 'ESCALATE');

/** A right that an action would give someone: a permission at a scope (null: tenant-wide). */
export interface GivenRight {
  resource: Resource;
  action: Action;
  namespace: string | null;
}

/** What a binding of these permissions on `namespace` grants (as `grantsFor` computes it). */
export function rightsOf(permissions: readonly Permission[], namespace: string | null): GivenRight[] {
  return permissions.flatMap((p) => p.actions.map((action) => ({ resource: p.resource, action, namespace })));
}

/** A namespace binding grants nothing on tenant-wide resources: such a right is no right at all. */
const isReal = (right: GivenRight): boolean => right.namespace === null || NAMESPACED_RESOURCES.has(right.resource);

/** The rights among `given` that the caller does not hold at their scope; none when it holds BINDING:ESCALATE. */
export function rightsNotHeld(access: Access, given: readonly GivenRight[]): GivenRight[] {
  if (access.can('BINDING', 'ESCALATE')) return [];
  const seen = new Set<string>();
  return given.filter((right) => {
    const key = `${right.resource}:${right.action}@${right.namespace ?? ''}`;
    if (!isReal(right) || seen.has(key) || access.can(right.resource, right.action, right.namespace)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * The escalation rule (Kubernetes RBAC's): nobody gives anyone, themselves
 * included, a right they do not hold at that scope, unless they hold
 * BINDING:ESCALATE. `what` says what would have given them ("binding role
 * ops", "adding alice to group dev"). FORBIDDEN, naming BINDING:ESCALATE and
 * the rights that are missing.
 */
export function requireNoEscalation(access: Access, given: readonly GivenRight[], what: string): void {
  const missing = rightsNotHeld(access, given);
  if (missing.length === 0) return;
  const shown = missing
    .slice(0, 10)
    .map((r) => `${permissionKey(r.resource, r.action)}${r.namespace === null ? '' : ` on ${r.namespace}`}`);
  const more = missing.length > shown.length ? ` and ${missing.length - shown.length} more` : '';
  throw new DomainError(
    ErrorCode.FORBIDDEN,
    `${what} would grant ${shown.join(', ')}${more}, which you do not hold there; granting rights you do not hold needs ${ESCALATE}`,
    { permission: ESCALATE, missing: missing.map((r) => ({ permission: permissionKey(r.resource, r.action), namespace: r.namespace })) },
  );
}
