import type { JsonObject } from '../../shared/json.js';
import { formatPath } from './flow-source.js';

/**
 * The plugins a parsed flow uses (every task, nested ones included, and every
 * trigger), each with its own properties, for what needs the whole
 * configuration rather than the summary: plugin defaults, references. Pure.
 */

export interface FlowPlugin {
  kind: 'TASK' | 'TRIGGER';
  id: string;
  type: string;
  /** Where it is in the source, e.g. `tasks[1].then[0]`. */
  path: string;
  /** Its mapping without `id`, `type` and the task lists it holds (listed as plugins of their own). */
  properties: JsonObject;
}

const FLOW_TASK_LISTS = ['tasks', 'errors', 'finally', 'afterExecution'] as const;
const NESTED_TASK_LISTS = new Set(['tasks', 'errors', 'finally', 'then', 'else']);

const isMapping = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

function walk(kind: FlowPlugin['kind'], path: (string | number)[], list: unknown, out: FlowPlugin[]): void {
  if (!Array.isArray(list)) return;
  list.forEach((item: unknown, i) => {
    if (!isMapping(item) || typeof item['id'] !== 'string' || typeof item['type'] !== 'string') return;
    const at = [...path, i];
    const properties: JsonObject = {};
    for (const [key, value] of Object.entries(item)) {
      if (key === 'id' || key === 'type') continue;
      if (kind === 'TASK' && (NESTED_TASK_LISTS.has(key) || key === 'cases') && typeof value === 'object' && value !== null) continue;
      properties[key] = value as JsonObject[string];
    }
    out.push({ kind, id: item['id'], type: item['type'], path: formatPath(at), properties });
    if (kind !== 'TASK') return;
    for (const key of NESTED_TASK_LISTS) walk('TASK', [...at, key], item[key], out);
    if (isMapping(item['cases'])) {
      for (const [name, cases] of Object.entries(item['cases'])) walk('TASK', [...at, 'cases', name], cases, out);
    }
  });
}

/** Tasks in source order (depth first), then triggers. */
export function flowPlugins(document: Record<string, unknown>): FlowPlugin[] {
  const out: FlowPlugin[] = [];
  for (const key of FLOW_TASK_LISTS) walk('TASK', [key], document[key], out);
  walk('TRIGGER', ['triggers'], document['triggers'], out);
  return out;
}

/** A property named `namespace` that names another namespace: a subflow, a flow trigger's condition, namespace files, … */
export interface NamespaceReference {
  /** The plugin that holds it. */
  plugin: string;
  /** Where in the source, e.g. `tasks[0].namespace` or `triggers[0].preconditions.flows[1].namespace`. */
  path: string;
  namespace: string;
}

const NAMESPACE_ID = /^[a-z0-9][a-z0-9_-]*(\.[a-z0-9][a-z0-9_-]*)*$/;

function collect(
  plugin: FlowPlugin,
  path: (string | number)[],
  value: unknown,
  own: string,
  out: NamespaceReference[],
  depth: number,
): void {
  if (depth > 32 || value === null || typeof value !== 'object') return;
  const entries: [string | number, unknown][] = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value);
  for (const [key, item] of entries) {
    // A templated value ({{ … }}) is known only when the flow runs: it is not a reference that can be checked here.
    if (key === 'namespace' && typeof item === 'string' && item !== own && NAMESPACE_ID.test(item)) {
      out.push({ plugin: plugin.id, path: `${plugin.path}${formatPath(['', ...path, key])}`, namespace: item });
    } else {
      collect(plugin, [...path, key], item, own, out, depth + 1);
    }
  }
}

/** Every other namespace a flow's tasks and triggers name, in source order. */
export function namespaceReferences(ownNamespace: string, plugins: readonly FlowPlugin[]): NamespaceReference[] {
  const out: NamespaceReference[] = [];
  for (const plugin of plugins) collect(plugin, [], plugin.properties, ownNamespace, out, 0);
  return out;
}
