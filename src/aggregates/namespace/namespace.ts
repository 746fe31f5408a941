import { applyChanges, diff, type Changes, type Command, type Decider, type DomainEvent } from '../decider.js';
import { assertNever, badInput, conflict, notFound } from '../../shared/errors.js';
import { validateId } from '../../shared/ids.js';
import { jsonEqual, sanitizeJsonObject, type JsonObject } from '../../shared/json.js';
import { ALLOWED_NAMESPACES_MODES, modeOfList, type AllowedNamespacesMode } from './allowed-namespaces.js';
import {
  validateDefaultAuthentication,
  validateProvider,
  withDefaultAuthentication,
  type DefaultAuthentication,
} from './default-authentication.js';
import { parseSettingsYaml } from './settings-yaml.js';

export interface PluginDefault {
  type: string;
  forced: boolean;
  values: JsonObject;
}

export interface NamespaceSettings {
  description: string | null;
  variables: JsonObject;
  pluginDefaults: PluginDefault[];
  allowedNamespaces: string[];
  /** ALL (the default), LIST (only allowedNamespaces) or NONE. */
  allowedNamespacesMode: AllowedNamespacesMode;
  /** Per cloud provider, the credentials its SDK-based plugins use by default (references only; see default-authentication.ts). */
  defaultAuthentications: DefaultAuthentication[];
}

export interface NamespacePatch {
  description?: string | null;
  variables?: unknown;
  pluginDefaults?: unknown;
  allowedNamespaces?: unknown;
  allowedNamespacesMode?: unknown;
  /** The same as `variables`, written as a YAML mapping (as Kestra's Terraform resource takes it). */
  variablesYaml?: unknown;
  /** The same as `pluginDefaults`, written as a YAML list (or a mapping with a `pluginDefaults` list). */
  pluginDefaultsYaml?: unknown;
}

/** One entry of a map, changed without replacing the rest of it. */
export type NamespaceEntryChange =
  | { kind: 'setVariable'; key: string; value: unknown }
  | { kind: 'unsetVariable'; key: string }
  | { kind: 'setPluginDefault'; pluginDefault: unknown }
  | { kind: 'unsetPluginDefault'; type: string; forced: boolean }
  | { kind: 'setDefaultAuthentication'; authentication: Parameters<typeof validateDefaultAuthentication>[0] }
  | { kind: 'unsetDefaultAuthentication'; provider: string };

export type NamespaceCommand =
  | Command<'CreateNamespace', { id: string; description?: string | null }>
  | Command<'UpdateNamespace', { id: string; patch: NamespacePatch }>
  | Command<'ChangeNamespaceEntry', { id: string; change: NamespaceEntryChange }>
  | Command<'DeleteNamespace', { id: string }>
  /** Brings a deleted namespace back with the settings it had when deleted. */
  | Command<'RestoreNamespace', { id: string }>;

export type NamespaceEvent =
  | DomainEvent<
      'NamespaceCreated',
      {
        id: string;
        description: string | null;
        /** Set by a restore: the settings the namespace had when deleted (a plain re-create starts empty). */
        restored?: true;
        settings?: NamespaceSettings;
      }
    >
  | DomainEvent<'NamespaceUpdated', { id: string; changes: Changes<NamespaceSettings> }>
  | DomainEvent<'NamespaceDeleted', { id: string }>;

export type NamespaceState = { status: 'absent' } | ({ status: 'active' | 'deleted'; id: string } & NamespaceSettings);

export const EMPTY_NAMESPACE_SETTINGS: NamespaceSettings = {
  description: null,
  variables: {},
  pluginDefaults: [],
  allowedNamespaces: [],
  allowedNamespacesMode: 'ALL',
  defaultAuthentications: [],
};

const MAX_DESCRIPTION = 10_000;
const MAX_PLUGIN_DEFAULTS = 200;
const PLUGIN_TYPE = /^[A-Za-z_$][A-Za-z0-9_$]*(\.[A-Za-z_$][A-Za-z0-9_$]*)*$/;

export function validateDescription(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'string' || value.length > MAX_DESCRIPTION) {
    throw badInput('description', `description must be a string of at most ${MAX_DESCRIPTION} characters`);
  }
  return value;
}

export function validatePluginDefaults(value: unknown): PluginDefault[] {
  if (!Array.isArray(value)) throw badInput('pluginDefaults', 'pluginDefaults must be a list');
  if (value.length > MAX_PLUGIN_DEFAULTS) throw badInput('pluginDefaults', `at most ${MAX_PLUGIN_DEFAULTS} plugin defaults`);
  const seen = new Set<string>();
  return value.map((item: unknown, i) => {
    const field = `pluginDefaults[${i}]`;
    if (item === null || typeof item !== 'object') throw badInput(field, `${field} must be an object`);
    const { type, forced, values } = item as Record<string, unknown>;
    if (typeof type !== 'string' || type.length > 300 || !PLUGIN_TYPE.test(type)) {
      throw badInput(`${field}.type`, `${field}.type must be a plugin type such as io.kestra.plugin.core.log.Log`);
    }
    const isForced = forced === undefined || forced === null ? false : forced;
    if (typeof isForced !== 'boolean') throw badInput(`${field}.forced`, `${field}.forced must be a boolean`);
    const key = `${type}|${String(isForced)}`;
    if (seen.has(key)) throw badInput(`${field}.type`, `${type} appears twice with forced=${String(isForced)}`);
    seen.add(key);
    return { type, forced: isForced, values: sanitizeJsonObject(`${field}.values`, values ?? {}) };
  });
}

function validateAllowedNamespaces(value: unknown): string[] {
  if (!Array.isArray(value)) throw badInput('allowedNamespaces', 'allowedNamespaces must be a list of namespaces');
  if (value.length > 1000) throw badInput('allowedNamespaces', 'at most 1000 allowed namespaces');
  const ids = value.map((ns, i) => validateId('namespace', `allowedNamespaces[${i}]`, ns));
  return [...new Set(ids)].sort();
}

const given = (value: unknown): boolean => value !== undefined && value !== null;

function oneOf(patch: NamespacePatch, json: 'variables' | 'pluginDefaults'): unknown {
  const yamlField = json === 'variables' ? 'variablesYaml' : 'pluginDefaultsYaml';
  if (given(patch[json]) && given(patch[yamlField])) throw badInput(yamlField, `give either ${json} or ${yamlField}, not both`);
  if (!given(patch[yamlField])) return patch[json];
  const parsed = parseSettingsYaml(yamlField, patch[yamlField]);
  // Kestra's namespace files wrap the list: `pluginDefaults: [...]`.
  if (json === 'pluginDefaults' && parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
    const keys = Object.keys(parsed);
    if (keys.length === 1 && keys[0] === 'pluginDefaults') return (parsed as Record<string, unknown>)['pluginDefaults'];
  }
  // An empty document is an empty map or list: the YAML way of clearing everything.
  if (parsed === null) return json === 'variables' ? {} : [];
  return parsed;
}

export function validateNamespacePatch(patch: NamespacePatch): Partial<NamespaceSettings> {
  const out: Partial<NamespaceSettings> = {};
  if (patch.description !== undefined) out.description = validateDescription(patch.description);
  const variables = oneOf(patch, 'variables');
  if (given(variables)) out.variables = sanitizeJsonObject('variables', variables);
  const pluginDefaults = oneOf(patch, 'pluginDefaults');
  if (given(pluginDefaults)) out.pluginDefaults = validatePluginDefaults(pluginDefaults);
  if (patch.allowedNamespaces !== undefined && patch.allowedNamespaces !== null) {
    out.allowedNamespaces = validateAllowedNamespaces(patch.allowedNamespaces);
  }
  return out;
}

/**
 * The allowed namespaces after a patch. A mode of ALL or NONE takes no list;
 * LIST needs one (given now or already set). A list alone keeps its meaning
 * from before modes existed: empty is ALL, otherwise LIST.
 */
function allowedNamespacesPatch(
  state: NamespaceSettings,
  list: string[] | undefined,
  mode: unknown,
): Pick<Partial<NamespaceSettings>, 'allowedNamespaces' | 'allowedNamespacesMode'> {
  if (mode === undefined || mode === null) {
    return list === undefined ? {} : { allowedNamespaces: list, allowedNamespacesMode: modeOfList(list) };
  }
  if (typeof mode !== 'string' || !ALLOWED_NAMESPACES_MODES.includes(mode as AllowedNamespacesMode)) {
    throw badInput('allowedNamespacesMode', 'allowedNamespacesMode must be ALL, LIST or NONE');
  }
  if (mode === 'LIST') {
    const allowedNamespaces = list ?? state.allowedNamespaces;
    if (allowedNamespaces.length === 0) throw badInput('allowedNamespaces', 'allowedNamespacesMode LIST needs at least one namespace');
    return { allowedNamespaces, allowedNamespacesMode: 'LIST' };
  }
  if (list !== undefined && list.length > 0) {
    throw badInput('allowedNamespaces', `allowedNamespacesMode ${mode} takes no list of namespaces`);
  }
  return { allowedNamespaces: [], allowedNamespacesMode: mode as AllowedNamespacesMode };
}

const MAX_VARIABLE_KEY = 200;
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

function validateVariableKey(key: unknown): string {
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_VARIABLE_KEY || FORBIDDEN_KEYS.has(key)) {
    throw badInput(
      'key',
      `key must be a non-empty string of at most ${MAX_VARIABLE_KEY} characters, other than __proto__, constructor or prototype`,
    );
  }
  return key;
}

/**
 * The settings after one entry is set or unset; everything else stays as it
 * was. Unsetting an entry that is not there changes nothing (so a retry, or
 * a tool that converges on a wanted state, is safe).
 */
export function applyEntryChange(settings: NamespaceSettings, change: NamespaceEntryChange): Partial<NamespaceSettings> {
  switch (change.kind) {
    case 'setVariable': {
      const key = validateVariableKey(change.key);
      if (change.value === undefined) throw badInput('value', 'value is required');
      // The whole map is checked again: its size bound holds whatever the number of single sets.
      return { variables: sanitizeJsonObject('variables', { ...settings.variables, [key]: change.value }) };
    }
    case 'unsetVariable': {
      const key = validateVariableKey(change.key);
      if (!Object.hasOwn(settings.variables, key)) return {};
      const variables = { ...settings.variables };
      delete variables[key];
      return { variables };
    }
    case 'setPluginDefault': {
      const [entry] = validatePluginDefaults([change.pluginDefault]) as [PluginDefault];
      const at = settings.pluginDefaults.findIndex((p) => p.type === entry.type && p.forced === entry.forced);
      const pluginDefaults =
        at === -1 ? [...settings.pluginDefaults, entry] : settings.pluginDefaults.map((p, i) => (i === at ? entry : p));
      return { pluginDefaults: validatePluginDefaults(pluginDefaults) };
    }
    case 'unsetPluginDefault': {
      const [{ type, forced }] = validatePluginDefaults([{ type: change.type, forced: change.forced }]) as [PluginDefault];
      const pluginDefaults = settings.pluginDefaults.filter((p) => p.type !== type || p.forced !== forced);
      return pluginDefaults.length === settings.pluginDefaults.length ? {} : { pluginDefaults };
    }
    case 'setDefaultAuthentication': {
      const entry = validateDefaultAuthentication(change.authentication);
      return { defaultAuthentications: withDefaultAuthentication(settings.defaultAuthentications, entry) };
    }
    case 'unsetDefaultAuthentication': {
      const provider = validateProvider(change.provider);
      const defaultAuthentications = settings.defaultAuthentications.filter((a) => a.provider !== provider);
      return defaultAuthentications.length === settings.defaultAuthentications.length ? {} : { defaultAuthentications };
    }
    default:
      return assertNever(change);
  }
}

export const namespaceDecider: Decider<NamespaceCommand, NamespaceEvent, NamespaceState> = {
  name: 'namespace',
  // 2: allowedNamespacesMode. 3: defaultAuthentications.
  stateVersion: 3,
  initialState: () => ({ status: 'absent' }),

  evolve(state, event) {
    switch (event.type) {
      case 'NamespaceCreated':
        // A re-created namespace starts from empty settings: a delete forgets what was there.
        // Settings restored from before a field existed lack it: empty.
        if (event.data.settings) return { status: 'active', id: event.data.id, ...EMPTY_NAMESPACE_SETTINGS, ...event.data.settings };
        return { status: 'active', id: event.data.id, ...EMPTY_NAMESPACE_SETTINGS, description: event.data.description };
      case 'NamespaceUpdated': {
        if (state.status === 'absent') return state;
        const next = { ...state, ...applyChanges<NamespaceSettings>(state, event.data.changes) };
        // Events from before modes existed carry the list alone.
        const { allowedNamespaces, allowedNamespacesMode } = event.data.changes;
        if (allowedNamespaces && !allowedNamespacesMode) next.allowedNamespacesMode = modeOfList(allowedNamespaces.after);
        return next;
      }
      case 'NamespaceDeleted':
        return state.status === 'absent' ? state : { ...state, status: 'deleted' };
      default:
        return assertNever(event);
    }
  },

  decide(command, state) {
    switch (command.type) {
      case 'CreateNamespace': {
        const id = validateId('namespace', 'id', command.data.id);
        const description = validateDescription(command.data.description);
        if (state.status === 'active') throw conflict(`namespace ${id} already exists`);
        return [{ type: 'NamespaceCreated', data: { id, description }, namespace: id }];
      }
      case 'UpdateNamespace': {
        const patch = validateNamespacePatch(command.data.patch);
        if (state.status !== 'active') throw notFound(`namespace ${command.data.id}`);
        Object.assign(patch, allowedNamespacesPatch(state, patch.allowedNamespaces, command.data.patch.allowedNamespacesMode));
        const changes = diff<NamespaceSettings>(state, patch, jsonEqual);
        return Object.keys(changes).length === 0
          ? []
          : [{ type: 'NamespaceUpdated', data: { id: state.id, changes }, namespace: state.id }];
      }
      case 'ChangeNamespaceEntry': {
        if (state.status !== 'active') throw notFound(`namespace ${command.data.id}`);
        const changes = diff<NamespaceSettings>(state, applyEntryChange(state, command.data.change), jsonEqual);
        return Object.keys(changes).length === 0
          ? []
          : [{ type: 'NamespaceUpdated', data: { id: state.id, changes }, namespace: state.id }];
      }
      case 'RestoreNamespace': {
        if (state.status === 'absent') throw notFound(`namespace ${command.data.id}`);
        if (state.status === 'active') throw conflict(`namespace ${state.id} is not deleted`);
        const { description, variables, pluginDefaults, allowedNamespaces, allowedNamespacesMode, defaultAuthentications } = state;
        const settings = { description, variables, pluginDefaults, allowedNamespaces, allowedNamespacesMode, defaultAuthentications };
        return [{ type: 'NamespaceCreated', data: { id: state.id, description, restored: true, settings }, namespace: state.id }];
      }
      case 'DeleteNamespace': {
        if (state.status !== 'active') throw notFound(`namespace ${command.data.id}`);
        return [{ type: 'NamespaceDeleted', data: { id: state.id }, namespace: state.id }];
      }
      default:
        return assertNever(command);
    }
  },
};
