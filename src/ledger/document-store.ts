/**
 * The ledger in collections of the read models' document store (MongoDB in
 * production; the memory store in tests). They belong to no projection
 * generation: a rebuild of the read models leaves them alone, so the leaves
 * hashed when the events were first seen stay to be compared with the log.
 * Leaves and nodes are insert-only (a duplicate is the same hash written
 * again); the head moves compare-and-set on its position.
 */
import type { Hash } from '../shared/merkle.js';
import type { Collection, Document, DocumentStore, IndexSpec } from '../readmodels/port.js';
import type { SignedCheckpoint } from './checkpoint.js';
import type { CheckpointPageOptions, LedgerHead, LedgerLeaf, LedgerNode, LedgerStore } from './store.js';

interface HeadDocument extends Document {
  tenantId: string;
  size: number;
  position: number;
  frontier: string[];
}

interface LeafDocument extends Document {
  tenantId: string;
  index: number;
  position: number;
  hash: string;
}

interface NodeDocument extends Document {
  tenantId: string;
  level: number;
  index: number;
  hash: string;
}

type CheckpointDocument = Document & SignedCheckpoint;

export const LEDGER_COLLECTIONS = {
  heads: 'audit_ledger_heads',
  leaves: 'audit_ledger_leaves',
  nodes: 'audit_ledger_nodes',
  checkpoints: 'audit_checkpoints',
} as const;

const INDEXES: Record<keyof typeof LEDGER_COLLECTIONS, IndexSpec[]> = {
  heads: [],
  leaves: [
    { keys: { tenantId: 1, index: 1 }, name: 'tenant_index', unique: true },
    { keys: { tenantId: 1, position: 1 }, name: 'tenant_position' },
  ],
  nodes: [{ keys: { tenantId: 1, level: 1, index: 1 }, name: 'tenant_level_index', unique: true }],
  checkpoints: [{ keys: { tenantId: 1, size: 1, signedAt: 1 }, name: 'tenant_size_time', unique: true }],
};

const hex = (hash: Hash): string => hash.toString('hex');
const bytes = (text: string): Hash => Buffer.from(text, 'hex');

function checkpointOf(doc: CheckpointDocument): SignedCheckpoint {
  return {
    tenantId: doc.tenantId,
    size: doc.size,
    rootHash: doc.rootHash,
    signedAt: doc.signedAt,
    keyId: doc.keyId,
    signature: doc.signature,
  };
}

export class DocumentLedgerStore implements LedgerStore {
  private readonly heads: Collection<HeadDocument>;
  private readonly leafDocs: Collection<LeafDocument>;
  private readonly nodeDocs: Collection<NodeDocument>;
  private readonly checkpointDocs: Collection<CheckpointDocument>;
  private ready: Promise<void> | null = null;

  /** `readOnly`: never creates the indexes (a verification thread reads what the gateway made). */
  constructor(
    readonly documents: DocumentStore,
    private readonly options: { readOnly?: boolean } = {},
  ) {
    const store = documents;
    this.heads = store.collection<HeadDocument>(LEDGER_COLLECTIONS.heads);
    this.leafDocs = store.collection<LeafDocument>(LEDGER_COLLECTIONS.leaves);
    this.nodeDocs = store.collection<NodeDocument>(LEDGER_COLLECTIONS.nodes);
    this.checkpointDocs = store.collection<CheckpointDocument>(LEDGER_COLLECTIONS.checkpoints);
  }

  private init(): Promise<void> {
    if (this.options.readOnly) return Promise.resolve();
    this.ready ??= (async () => {
      for (const [key, name] of Object.entries(LEDGER_COLLECTIONS) as [keyof typeof LEDGER_COLLECTIONS, string][]) {
        await this.documents.collection(name).createIndexes(INDEXES[key]);
      }
    })().catch((error: unknown) => {
      this.ready = null;
      throw error;
    });
    return this.ready;
  }

  async head(tenantId: string): Promise<LedgerHead | null> {
    await this.init();
    const doc = await this.heads.findOne({ _id: tenantId });
    return doc ? { tenantId, size: doc.size, position: doc.position, frontier: doc.frontier.map(bytes) } : null;
  }

  async tenants(): Promise<string[]> {
    await this.init();
    return (await this.heads.find({}, { sort: { _id: 1 }, projection: { _id: 1 } })).map((d) => d._id);
  }

  async append(head: LedgerHead, fromPosition: number, leaves: readonly LedgerLeaf[], nodes: readonly LedgerNode[]): Promise<boolean> {
    await this.init();
    const tenantId = head.tenantId;
    const current = await this.heads.findOne({ _id: tenantId });
    if ((current?.position ?? 0) !== fromPosition) return false;
    if (leaves.length > 0) {
      await this.leafDocs.bulkWrite(
        leaves.map((l) => ({
          insertOne: { document: { _id: `${tenantId}/${l.index}`, tenantId, index: l.index, position: l.position, hash: hex(l.hash) } },
        })),
        { ordered: false },
      );
    }
    const interior = nodes.filter((n) => n.level > 0);
    if (interior.length > 0) {
      await this.nodeDocs.bulkWrite(
        interior.map((n) => ({
          insertOne: {
            document: { _id: `${tenantId}/${n.level}/${n.index}`, tenantId, level: n.level, index: n.index, hash: hex(n.hash) },
          },
        })),
        { ordered: false },
      );
    }
    const next = { tenantId, size: head.size, position: head.position, frontier: head.frontier.map(hex) };
    if (!current) {
      const inserted = await this.heads.bulkWrite([{ insertOne: { document: { _id: tenantId, ...next } } }], { ordered: false });
      return inserted.duplicateKeyErrors.length === 0;
    }
    const moved = await this.heads.updateOne({ _id: tenantId, position: fromPosition }, { $set: next });
    return moved.matchedCount === 1;
  }

  async node(tenantId: string, level: number, index: number): Promise<Hash | null> {
    await this.init();
    if (level === 0) {
      const leaf = await this.leafDocs.findOne({ _id: `${tenantId}/${index}` });
      return leaf ? bytes(leaf.hash) : null;
    }
    const doc = await this.nodeDocs.findOne({ _id: `${tenantId}/${level}/${index}` });
    return doc ? bytes(doc.hash) : null;
  }

  async nodes(tenantId: string, level: number, fromIndex: number, count: number): Promise<LedgerNode[]> {
    await this.init();
    const docs = await this.nodeDocs.find({ tenantId, level, index: { $gte: fromIndex } }, { sort: { index: 1 }, limit: count });
    return docs.map((d) => ({ level: d.level, index: d.index, hash: bytes(d.hash) }));
  }

  async leaves(tenantId: string, fromIndex: number, count: number): Promise<LedgerLeaf[]> {
    await this.init();
    const docs = await this.leafDocs.find({ tenantId, index: { $gte: fromIndex } }, { sort: { index: 1 }, limit: count });
    return docs.map((d) => ({ index: d.index, position: d.position, hash: bytes(d.hash) }));
  }

  async leafAt(tenantId: string, position: number): Promise<LedgerLeaf | null> {
    await this.init();
    const doc = await this.leafDocs.findOne({ tenantId, position });
    return doc ? { index: doc.index, position: doc.position, hash: bytes(doc.hash) } : null;
  }

  async saveCheckpoint(c: SignedCheckpoint): Promise<void> {
    await this.init();
    await this.checkpointDocs.bulkWrite([{ insertOne: { document: { _id: `${c.tenantId}/${c.size}/${c.signedAt}`, ...c } } }], {
      ordered: false,
    });
  }

  async checkpoints(tenantId: string, options: { afterSize?: number; limit?: number } = {}): Promise<SignedCheckpoint[]> {
    await this.init();
    const docs = await this.checkpointDocs.find(
      { tenantId, size: { $gt: options.afterSize ?? -1 } },
      { sort: { size: 1, signedAt: 1 }, limit: options.limit ?? 0 },
    );
    return docs.map(checkpointOf);
  }

  async checkpointPage(tenantId: string, { backward, cursor, limit }: CheckpointPageOptions): Promise<SignedCheckpoint[]> {
    // A find's limit 0 means no limit.
    if (limit === 0) return [];
    await this.init();
    const beyond = backward ? '$lt' : '$gt';
    const filter = cursor
      ? { tenantId, $or: [{ size: { [beyond]: cursor.size } }, { size: cursor.size, signedAt: { [beyond]: cursor.signedAt } }] }
      : { tenantId };
    const order = backward ? -1 : 1;
    const docs = await this.checkpointDocs.find(filter, { sort: { size: order, signedAt: order }, limit });
    return docs.map(checkpointOf);
  }

  async countCheckpoints(tenantId: string): Promise<number> {
    await this.init();
    return this.checkpointDocs.countDocuments({ tenantId });
  }

  async latestCheckpoint(tenantId: string): Promise<SignedCheckpoint | null> {
    await this.init();
    const doc = await this.checkpointDocs.findOne({ tenantId }, { sort: { size: -1, signedAt: -1 } });
    return doc ? checkpointOf(doc) : null;
  }

  async close(): Promise<void> {}
}
