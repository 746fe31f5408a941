import type { JsonObject, JsonValue } from '../shared/json.js';
import type { PluginDefault } from './namespace/namespace.js';

/**
 * Plugin defaults as Kestra applies them to a task (or a trigger), pure.
 *
 * A default's `type` is a plugin type or a prefix of one at a dot
 * (`io.kestra.plugin.aws` applies to `io.kestra.plugin.aws.s3.Upload`, not to
 * `io.kestra.plugin.awsx.Task`). Levels, from the outermost: the root
 * namespace, each namespace down to the flow's, then the flow's own
 * `pluginDefaults`. The precedence, strongest first:
 *
 * 1. forced defaults, the outermost level first;
 * 2. the task's own properties;
 * 3. non-forced defaults, the innermost level first (the flow, then the
 *    nearest namespace).
 *
 * Within one level a longer (more specific) type is stronger than a prefix
 * of it. Values merge key by key, deeply for objects; lists and scalars are
 * replaced whole.
 */

/** Where a default was set: a namespace, or the flow itself (`namespace: null`). */
export interface DefaultLevel {
  namespace: string | null;
  pluginDefaults: PluginDefault[];
}

export interface AppliedDefault extends PluginDefault {
  namespace: string | null;
}

export type PropertySource = { key: string; from: 'TASK' } | ({ key: string; from: 'DEFAULT' } & Omit<AppliedDefault, 'values'>);

export interface AppliedDefaults {
  /** The task's properties with every matching default applied. */
  properties: JsonObject;
  /** The defaults that match the task's type, strongest first. */
  applied: AppliedDefault[];
  /** Per top-level property: what decided its value. */
  sources: PropertySource[];
}

export function typeMatches(defaultType: string, pluginType: string): boolean {
  return pluginType === defaultType || pluginType.startsWith(`${defaultType}.`);
}

const isObject = (value: JsonValue | undefined): value is JsonObject =>
  value !== null && value !== undefined && typeof value === 'object' && !Array.isArray(value);

/** `stronger` over `weaker`, deeply for objects. */
export function mergeDeep(weaker: JsonObject, stronger: JsonObject): JsonObject {
  const out: JsonObject = { ...weaker };
  for (const [key, value] of Object.entries(stronger)) {
    const before = out[key];
    out[key] = isObject(before) && isObject(value) ? mergeDeep(before, value) : value;
  }
  return out;
}

/** The matching defaults of one kind (forced or not), strongest first. */
function ranked(levels: readonly DefaultLevel[], type: string, forced: boolean): AppliedDefault[] {
  const byLevel = levels.map((level) =>
    level.pluginDefaults
      .filter((d) => d.forced === forced && typeMatches(d.type, type))
      .sort((a, b) => b.type.length - a.type.length)
      .map((d) => ({ ...d, namespace: level.namespace })),
  );
  // Forced: the outermost level is strongest. Not forced: the innermost.
  return (forced ? byLevel : byLevel.reverse()).flat();
}

/**
 * Applies the defaults of `levels` (outermost first) to one task's
 * properties (its mapping without `id` and `type`, which no default changes).
 */
export function applyPluginDefaults(type: string, task: JsonObject, levels: readonly DefaultLevel[]): AppliedDefaults {
  const forced = ranked(levels, type, true);
  const regular = ranked(levels, type, false);
  const sources = new Map<string, PropertySource>();
  let properties: JsonObject = {};
  // Weakest first, so that each stronger layer overrides what came before.
  for (const d of [...regular].reverse()) {
    properties = mergeDeep(properties, d.values);
    for (const key of Object.keys(d.values))
      sources.set(key, { key, from: 'DEFAULT', type: d.type, forced: false, namespace: d.namespace });
  }
  properties = mergeDeep(properties, task);
  for (const key of Object.keys(task)) sources.set(key, { key, from: 'TASK' });
  for (const d of [...forced].reverse()) {
    properties = mergeDeep(properties, d.values);
    for (const key of Object.keys(d.values)) sources.set(key, { key, from: 'DEFAULT', type: d.type, forced: true, namespace: d.namespace });
  }
  return {
    properties,
    applied: [...forced, ...regular],
    sources: [...sources.values()].sort((a, b) => a.key.localeCompare(b.key)),
  };
}
