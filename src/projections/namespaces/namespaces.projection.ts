import { modeOfList, type AllowedNamespacesMode } from '../../aggregates/namespace/allowed-namespaces.js';
import type { DefaultAuthentication } from '../../aggregates/namespace/default-authentication.js';
import { docId, documentProjection, type EventOf, type ReadModelDocument } from '../runtime/projection.js';

/**
 * User-supplied JSON (variables, plugin default values) is stored as JSON
 * text: MongoDB-compatible servers differ on keys with dots or a leading `$`,
 * and nothing queries inside these values.
 */
export interface PluginDefaultDocument {
  type: string;
  forced: boolean;
  valuesJson: string;
}

export interface NamespaceDocument extends ReadModelDocument {
  id: string;
  /** false: a placeholder, referenced by a flow but never created. */
  existing: boolean;
  description: string | null;
  variablesJson: string;
  pluginDefaults: PluginDefaultDocument[];
  allowedNamespaces: string[];
  /** Absent in documents written before modes existed: the list decides (empty is ALL). */
  allowedNamespacesMode?: AllowedNamespacesMode;
  /**
   * References only (service account ids, secret KEYS). Absent in documents
   * written before the field existed, which had none: no rebuild is needed.
   */
  defaultAuthentications?: DefaultAuthentication[];
  revision: number;
  createdAt: string | null;
  updatedAt: string | null;
  /** Flows and secrets held; a placeholder with neither disappears. */
  flowCount: number;
  secretCount: number;
}

export const NAMESPACES = 'namespaces';

export const NAMESPACE_EVENT_TYPES = ['NamespaceCreated', 'NamespaceUpdated', 'NamespaceDeleted'] as const;

/**
 * Flow and secret events the namespaces read model counts, so that a flow in
 * an uncreated namespace makes a placeholder appear (and disappear with its
 * last flow), and deleteNamespace can refuse while something remains.
 * Contract with the flow and secret aggregates: data carries `namespace`;
 * SecretPut carries `created: true` when the key did not exist before.
 */
export const CONTENT_EVENT_TYPES = ['FlowCreated', 'FlowDeleted', 'SecretPut', 'SecretDeleted'] as const;

const NAMESPACES_EVENT_TYPES = [...NAMESPACE_EVENT_TYPES, ...CONTENT_EVENT_TYPES] as const;

type NamespacesEvent = EventOf<typeof NAMESPACES_EVENT_TYPES>;
type OwnEvent = EventOf<typeof NAMESPACE_EVENT_TYPES>;
type ContentEvent = EventOf<typeof CONTENT_EVENT_TYPES>;

function evolveContentEvent(doc: NamespaceDocument | null, event: ContentEvent): NamespaceDocument | null {
  const base = doc ?? emptyNamespace(event.metadata.tenantId, event.data.namespace, event.position);
  switch (event.type) {
    case 'FlowCreated':
      return { ...base, flowCount: base.flowCount + 1 };
    case 'FlowDeleted':
      return keepIfUsed({ ...base, flowCount: Math.max(0, base.flowCount - 1) });
    case 'SecretPut':
      return event.data.created ? { ...base, secretCount: base.secretCount + 1 } : doc;
    case 'SecretDeleted':
      return keepIfUsed({ ...base, secretCount: Math.max(0, base.secretCount - 1) });
  }
}

export function emptyNamespace(tenantId: string, id: string, position: number): NamespaceDocument {
  return {
    _id: docId(tenantId, id),
    tenantId,
    _pos: position,
    id,
    existing: false,
    description: null,
    variablesJson: '{}',
    pluginDefaults: [],
    allowedNamespaces: [],
    revision: 0,
    createdAt: null,
    updatedAt: null,
    flowCount: 0,
    secretCount: 0,
  };
}

/** Drops a placeholder that no longer holds anything. */
export function keepIfUsed(doc: NamespaceDocument): NamespaceDocument | null {
  return !doc.existing && doc.flowCount <= 0 && doc.secretCount <= 0 ? null : doc;
}

export function evolveNamespaceEvent(doc: NamespaceDocument | null, event: OwnEvent): NamespaceDocument | null {
  const tenantId = event.metadata.tenantId;
  const stamp = { revision: event.streamRevision + 1, updatedAt: event.metadata.occurredAt };
  switch (event.type) {
    case 'NamespaceCreated': {
      const base = doc ?? emptyNamespace(tenantId, event.data.id, event.position);
      const settings = event.data.settings;
      return {
        ...base,
        ...stamp,
        existing: true,
        description: event.data.description,
        variablesJson: JSON.stringify(settings?.variables ?? {}),
        pluginDefaults: (settings?.pluginDefaults ?? []).map((p) => ({
          type: p.type,
          forced: p.forced,
          valuesJson: JSON.stringify(p.values),
        })),
        allowedNamespaces: settings?.allowedNamespaces ?? [],
        allowedNamespacesMode: settings?.allowedNamespacesMode ?? 'ALL',
        defaultAuthentications: settings?.defaultAuthentications ?? [],
        // A restore keeps the namespace's first creation time.
        createdAt: settings && base.createdAt ? base.createdAt : event.metadata.occurredAt,
      };
    }
    case 'NamespaceUpdated': {
      if (!doc) return null;
      const next = { ...doc, ...stamp };
      const { description, variables, pluginDefaults, allowedNamespaces, allowedNamespacesMode, defaultAuthentications } =
        event.data.changes;
      if (defaultAuthentications) next.defaultAuthentications = defaultAuthentications.after;
      if (description) next.description = description.after;
      if (variables) next.variablesJson = JSON.stringify(variables.after);
      if (pluginDefaults) {
        next.pluginDefaults = pluginDefaults.after.map((p) => ({ type: p.type, forced: p.forced, valuesJson: JSON.stringify(p.values) }));
      }
      if (allowedNamespaces) next.allowedNamespaces = allowedNamespaces.after;
      if (allowedNamespacesMode) next.allowedNamespacesMode = allowedNamespacesMode.after;
      else if (allowedNamespaces) next.allowedNamespacesMode = modeOfList(allowedNamespaces.after);
      return next;
    }
    case 'NamespaceDeleted':
      if (!doc) return null;
      return keepIfUsed({
        ...doc,
        ...stamp,
        existing: false,
        description: null,
        variablesJson: '{}',
        pluginDefaults: [],
        allowedNamespaces: [],
        allowedNamespacesMode: 'ALL',
        defaultAuthentications: [],
      });
  }
}

export const namespacesProjection = documentProjection({
  name: 'namespaces',
  version: 1,
  collection: NAMESPACES,
  indexes: [{ keys: { tenantId: 1, id: 1 }, name: 'tenant_id', unique: true }],
  eventTypes: NAMESPACES_EVENT_TYPES,
  documentId: (event) => docId(event.metadata.tenantId, namespaceOf(event)),
  evolve(doc: NamespaceDocument | null, event): NamespaceDocument | null {
    switch (event.type) {
      case 'FlowCreated':
      case 'FlowDeleted':
      case 'SecretPut':
      case 'SecretDeleted':
        return evolveContentEvent(doc, event);
      case 'NamespaceCreated':
      case 'NamespaceUpdated':
      case 'NamespaceDeleted':
        return evolveNamespaceEvent(doc, event);
    }
  },
});

/** The namespace an event is about: its own id, or the namespace a flow or secret is in. */
function namespaceOf(event: NamespacesEvent): string {
  switch (event.type) {
    case 'FlowCreated':
    case 'FlowDeleted':
    case 'SecretPut':
    case 'SecretDeleted':
      return event.data.namespace;
    case 'NamespaceCreated':
    case 'NamespaceUpdated':
    case 'NamespaceDeleted':
      return event.data.id;
  }
}
