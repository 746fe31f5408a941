import { badInput } from './errors.js';

/** Identifier rules of the API (docs/flows.md, docs/secrets.md and docs/access-control.md give the flow, secret-key and role ones). Validation lives in the domain, so the CLI and GraphQL refuse the same things. */
const RULES = {
  tenant: { pattern: /^[a-z0-9][a-z0-9_-]*$/, max: 64 },
  namespace: { pattern: /^[a-z0-9][a-z0-9._-]*$/, max: 150 },
  flow: { pattern: /^[a-zA-Z0-9][a-zA-Z0-9._-]*$/, max: 100 },
  name: { pattern: /^[a-z0-9]+(-[a-z0-9]+)*$/, max: 63 },
  secretKey: { pattern: /^[A-Za-z_][A-Za-z0-9_]*$/, max: 256 },
  user: { pattern: /^[a-zA-Z0-9][a-zA-Z0-9._@-]*$/, max: 128 },
} as const;

export type IdKind = keyof typeof RULES;

export function isValidId(kind: IdKind, value: unknown): value is string {
  if (typeof value !== 'string') return false;
  const rule = RULES[kind];
  if (value.length === 0 || value.length > rule.max || !rule.pattern.test(value)) return false;
  if (kind === 'namespace') return value.split('.').every((segment) => segment.length > 0);
  return true;
}

export function validateId(kind: IdKind, field: string, value: unknown): string {
  if (!isValidId(kind, value)) {
    const rule = RULES[kind];
    throw badInput(
      field,
      `${field} must match ${String(rule.pattern)}, at most ${rule.max} characters${kind === 'namespace' ? ', dot-separated segments, none empty' : ''}`,
    );
  }
  return value;
}

/** `company.team.etl` → `['company', 'company.team', 'company.team.etl']` */
export function namespaceLineage(namespace: string): string[] {
  const segments = namespace.split('.');
  return segments.map((_, i) => segments.slice(0, i + 1).join('.'));
}

/** True when `namespace` is `ancestor` or lies below it. */
export function isInSubtree(namespace: string, ancestor: string): boolean {
  return namespace === ancestor || namespace.startsWith(`${ancestor}.`);
}

/** Escapes a string for a literal match inside a regular expression. */
export function escapeRegex(value: string): string {
  return value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

const HOSTNAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

export function validateDomain(field: string, value: string): string {
  const host = value.trim().toLowerCase();
  if (!HOSTNAME.test(host)) throw badInput(field, `${JSON.stringify(value)} is not a valid host name`);
  return host;
}
