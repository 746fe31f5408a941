import { formatPath } from './flow-source.js';

/**
 * The references a flow's Pebble expressions make to governed things: every
 * `{{ secret('X') }}` and every `{{ namespace.x }}` (inside `render(...)`
 * too). Found by reading the expressions, not by running them: a key built
 * at run time (`secret(inputs.name)`) is not a reference that can be checked
 * before. Pure.
 */

export interface ExpressionReference {
  kind: 'SECRET' | 'VARIABLE';
  /** The secret key, or the variable's path below `namespace.` (e.g. `db.host`). */
  name: string;
  /** Where the expression is in the source, e.g. `tasks[0].message`. */
  path: string;
  /** Inside a render(...) call: the variable's own expressions are rendered too. */
  rendered: boolean;
}

const EXPRESSION = /\{\{([\s\S]*?)\}\}|\{%([\s\S]*?)%\}/g;
const SECRET = /\bsecret\(\s*(['"])([^'"\\]{1,200})\1/g;
/** `namespace.x`, but not `flow.namespace` (the flow's namespace name, a built-in). */
const VARIABLE = /(?<![\w.])namespace((?:\.[A-Za-z_][A-Za-z0-9_-]*)+)/g;
const MAX_DEPTH = 64;

export function expressionReferences(text: string, path: string): ExpressionReference[] {
  const out: ExpressionReference[] = [];
  for (const match of text.matchAll(EXPRESSION)) {
    const body = match[1] ?? match[2] ?? '';
    const rendered = /\brender\s*\(/.test(body);
    for (const secret of body.matchAll(SECRET)) out.push({ kind: 'SECRET', name: secret[2]!, path, rendered: false });
    for (const variable of body.matchAll(VARIABLE)) out.push({ kind: 'VARIABLE', name: variable[1]!.slice(1), path, rendered });
  }
  return out;
}

/** Every reference in every string of a parsed document (or a variable's value), in source order. */
export function documentReferences(value: unknown, base: (string | number)[] = [], depth = 0): ExpressionReference[] {
  if (depth > MAX_DEPTH) return [];
  if (typeof value === 'string') return value.includes('{') ? expressionReferences(value, formatPath(base)) : [];
  if (value === null || typeof value !== 'object') return [];
  const entries: [string | number, unknown][] = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value);
  return entries.flatMap(([key, item]) => documentReferences(item, [...base, key], depth + 1));
}
