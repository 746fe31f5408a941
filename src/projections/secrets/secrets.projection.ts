import type { Tag } from '../../aggregates/secret/secret.js';
import { docId, documentProjection, type ReadModelDocument } from '../runtime/projection.js';

/** Secret metadata, one document per live secret. There is no value here, and no event would give one. */
export interface SecretDocument extends ReadModelDocument {
  namespace: string;
  key: string;
  description: string | null;
  tags: Tag[];
  /** The version the vault holds the current value under. */
  version: number;
  /** Events in the secret's stream (what expectedRevision is compared with). */
  revision: number;
  createdAt: string;
  updatedAt: string;
}

export const SECRETS = 'secrets';

export const secretDocId = (tenantId: string, namespace: string, key: string): string => docId(tenantId, namespace, key);

export const secretsProjection = documentProjection({
  name: 'secrets',
  version: 2,
  collection: SECRETS,
  indexes: [{ keys: { tenantId: 1, namespace: 1, key: 1 }, name: 'tenant_namespace_key', unique: true }],
  eventTypes: ['SecretPut', 'SecretDeleted'],
  documentId: (event) => secretDocId(event.metadata.tenantId, event.data.namespace, event.data.key),
  evolve(doc: SecretDocument | null, event): SecretDocument | null {
    switch (event.type) {
      case 'SecretPut': {
        const { namespace, key, description, tags, version } = event.data;
        const tenantId = event.metadata.tenantId;
        const at = event.metadata.occurredAt;
        return {
          _id: secretDocId(tenantId, namespace, key),
          tenantId,
          _pos: event.position,
          namespace,
          key,
          description,
          tags,
          version,
          revision: event.streamRevision + 1,
          createdAt: doc && !event.data.created ? doc.createdAt : at,
          updatedAt: at,
        };
      }
      case 'SecretDeleted':
        return null;
    }
  },
});
