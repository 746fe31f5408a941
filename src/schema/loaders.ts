import DataLoader from 'dataloader';
import type { Services } from '../application/services.js';
import type { FlowRevisionDocument } from '../application/flows.js';
import type { NamespaceDocument } from '../application/namespaces.js';

/**
 * Per-request DataLoaders, never shared between requests or users. Every
 * loader is created for one tenant, so a cache entry can never answer for
 * another tenant.
 */
export class Loaders {
  private readonly namespaceLoaders = new Map<string, DataLoader<string, NamespaceDocument | null>>();

  /** What the namespace loaders have read, by tenant then id, for answers without a promise (`loadedNamespace`). */
  private readonly loadedNamespaces = new Map<string, Map<string, NamespaceDocument | null>>();

  private readonly flowRevisionLoaders = new Map<string, DataLoader<string, FlowRevisionDocument | null>>();

  constructor(private readonly services: Services) {}

  /** Saved flow revisions keyed by `services.flows.revisionKey`: a page of flows asking for `revisions { source }` costs one query. */
  flowRevision(tenantId: string): DataLoader<string, FlowRevisionDocument | null> {
    let loader = this.flowRevisionLoaders.get(tenantId);
    if (!loader) {
      loader = new DataLoader((ids) => this.services.flows.revisionsById(tenantId, ids));
      this.flowRevisionLoaders.set(tenantId, loader);
    }
    return loader;
  }

  namespace(tenantId: string): DataLoader<string, NamespaceDocument | null> {
    let loader = this.namespaceLoaders.get(tenantId);
    if (!loader) {
      const loaded = new Map<string, NamespaceDocument | null>();
      this.loadedNamespaces.set(tenantId, loaded);
      loader = new DataLoader(async (ids) => {
        const docs = await this.services.namespaces.byIds(tenantId, ids);
        ids.forEach((id, i) => loaded.set(id, docs[i] ?? null));
        return docs;
      });
      this.namespaceLoaders.set(tenantId, loader);
    }
    return loader;
  }

  /**
   * A namespace this request's loader has already read (null: it does not
   * exist), or undefined when it has not been read yet. Lets a field resolved
   * for every item of a page answer synchronously once the page's namespaces
   * were loaded in one batch (see FlowResolver.flows).
   */
  loadedNamespace(tenantId: string, id: string): NamespaceDocument | null | undefined {
    return this.loadedNamespaces.get(tenantId)?.get(id);
  }
}
