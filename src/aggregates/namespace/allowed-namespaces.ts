/**
 * Which namespaces may use a namespace's flows and secrets (subflows, flow
 * triggers, namespace files, …), decided by the target's own setting. Pure.
 */

export type AllowedNamespacesMode = 'ALL' | 'LIST' | 'NONE';
export const ALLOWED_NAMESPACES_MODES: readonly AllowedNamespacesMode[] = ['ALL', 'LIST', 'NONE'];

export type UsageRule =
  /** A namespace may always use itself. */
  | 'SAME_NAMESPACE'
  /** The target was never created (or was deleted): it has no settings, so nothing restricts it. */
  | 'NO_SETTINGS'
  | 'ALL_NAMESPACES'
  | 'LISTED'
  | 'NOT_LISTED'
  | 'NO_NAMESPACES';

export interface UsageTarget {
  id: string;
  existing: boolean;
  allowedNamespacesMode: AllowedNamespacesMode;
  allowedNamespaces: string[];
}

export interface UsageDecision {
  allowed: boolean;
  rule: UsageRule;
}

/** The mode a list alone stands for (the API before modes existed): empty means all. */
export const modeOfList = (list: readonly string[]): AllowedNamespacesMode => (list.length > 0 ? 'LIST' : 'ALL');

export function decideUsage(from: string, target: UsageTarget | null): UsageDecision {
  if (target && from === target.id) return { allowed: true, rule: 'SAME_NAMESPACE' };
  if (!target?.existing) return { allowed: true, rule: 'NO_SETTINGS' };
  switch (target.allowedNamespacesMode) {
    case 'ALL':
      return { allowed: true, rule: 'ALL_NAMESPACES' };
    case 'NONE':
      return { allowed: false, rule: 'NO_NAMESPACES' };
    case 'LIST':
      return target.allowedNamespaces.includes(from) ? { allowed: true, rule: 'LISTED' } : { allowed: false, rule: 'NOT_LISTED' };
  }
}
