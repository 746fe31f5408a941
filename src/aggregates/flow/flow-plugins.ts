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
