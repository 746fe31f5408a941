import type { SignedCheckpoint } from '../ledger/checkpoint.js';
import type { CheckpointKey, LedgerStore } from '../ledger/store.js';
import { CheckpointWitness } from '../ledger/witness.js';
import { badInput, notFound } from '../shared/errors.js';
import { consistencyProof, Frontier, inclusionProof, treeRoot, type NodeSource } from '../shared/merkle.js';
import { Slicer } from '../shared/slices.js';
import type { Application } from './application.js';
import type { AuditService } from './audit.js';
import type { Caller } from './caller.js';
import { decodeCursor, encodeCursor, pageDirection, toPage, type Page, type PageArgs } from './pagination.js';

export interface ConsistencyProofView {
  tenantId: string;
  fromSize: number;
  toSize: number;
  /** The root of the first `fromSize` events (compare it with the checkpoint you kept). */
  fromRoot: string;
  toRoot: string;
  /** RFC 9162 consistency proof, hex hashes. */
  proof: string[];
  /** The signed checkpoint of size `toSize`, when there is one. */
  toCheckpoint: SignedCheckpoint | null;
}

export interface InclusionProofView {
  tenantId: string;
  position: number;
  leafIndex: number;
  treeSize: number;
  /** The leaf: SHA-256(0x00 ‖ JCS of the event as stored), hex. */
  leafHash: string;
  /** RFC 9162 inclusion proof (audit path), hex hashes. */
  proof: string[];
  /** The signed checkpoint of size `treeSize`. */
  checkpoint: SignedCheckpoint;
}

const hex = (hashes: readonly Buffer[]): string[] => hashes.map((h) => h.toString('hex'));

/** The ledger's perfect subtrees, as proofs need them. */
function nodesOf(ledger: LedgerStore, tenantId: string): NodeSource {
  return async (level, index) => {
    const hash = await ledger.node(tenantId, level, index);
    if (!hash) throw new Error(`the ledger of ${tenantId} has no node ${level}/${index}`);
    return hash;
  };
}

/**
 * Signed checkpoints of each tenant's ledger (at a bounded interval and on
 * demand) and the proofs an auditor checks them with: consistency (today's
 * log extends the checkpoint I kept) and inclusion (this event is in a
 * signed checkpoint). Reading them needs what verification needs:
 * AUDITLOG:LIST on the whole tenant.
 */
export class AuditLedgerService {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  /** TENANTRY_AUDIT_WITNESS_FILE: every checkpoint signed here is appended to it. */
  private readonly witness: CheckpointWitness | null;
  /** Tenants whose latest checkpoint is stored but failed to reach the witness: appended at their next signing. */
  private readonly unwitnessed = new Set<string>();

  constructor(
    private readonly app: Pick<Application, 'beforeStop' | 'config' | 'ledger' | 'logger' | 'signing'>,
    private readonly audit: AuditService,
  ) {
    this.witness = app.config.auditWitnessFile ? new CheckpointWitness(app.config.auditWitnessFile) : null;
  }

  private get ledger(): LedgerStore {
    return this.app.ledger;
  }

  /** Signs the tenant's current tree head unless the latest checkpoint already covers it; the checkpoint that covers it. */
  async checkpointNow(tenantId: string): Promise<SignedCheckpoint | null> {
    const head = await this.ledger.head(tenantId);
    if (!head || head.size === 0) return null;
    const latest = await this.ledger.latestCheckpoint(tenantId);
    if (latest && latest.size >= head.size) {
      // Its append to the witness failed before: witnessed now (verification would otherwise miss it there, not name it).
      if (this.unwitnessed.has(tenantId)) {
        await this.witness?.append(latest);
        this.unwitnessed.delete(tenantId);
      }
      return latest;
    }
    const checkpoint = this.app.signing.key.sign({
      tenantId,
      size: head.size,
      rootHash: new Frontier(head.size, head.frontier).root().toString('hex'),
      signedAt: new Date().toISOString(),
    });
    await this.ledger.saveCheckpoint(checkpoint);
    // After the store: a witnessed checkpoint is always in the store too (verification names one that is not).
    try {
      await this.witness?.append(checkpoint);
    } catch (error) {
      this.unwitnessed.add(tenantId);
      throw error;
    }
    return checkpoint;
  }

  /** Every tenant with new events gets a checkpoint, then again every `intervalMs`. */
  start(intervalMs = this.app.config.auditCheckpointIntervalMs): void {
    if (intervalMs <= 0 || this.timer) return;
    this.timer = setInterval(() => void this.checkpointAll(), intervalMs);
    this.timer.unref();
    this.app.beforeStop(async () => {
      if (this.timer) clearInterval(this.timer);
      this.timer = null;
      await this.running?.catch(() => undefined);
    });
  }

  /** One round: a checkpoint for each tenant whose ledger moved since its last one. */
  checkpointAll(): Promise<void> {
    this.running ??= (async () => {
      try {
        const slicer = new Slicer();
        for (const tenantId of await this.ledger.tenants()) {
          await this.checkpointNow(tenantId);
          await slicer.tick();
        }
      } catch (error) {
        this.app.logger.warn({ err: error }, 'signing audit ledger checkpoints failed; trying again at the next interval');
      } finally {
        this.running = null;
      }
    })();
    return this.running;
  }

  async sign(caller: Caller, tenantId: string): Promise<SignedCheckpoint> {
    await this.audit.requireWholeTrail(caller, tenantId);
    const checkpoint = await this.checkpointNow(tenantId);
    if (!checkpoint) throw notFound(`events of ${tenantId} in the ledger`);
    return checkpoint;
  }

  async checkpoints(caller: Caller, tenantId: string, options: { afterSize?: number | null; first?: number | null } = {}) {
    await this.audit.requireWholeTrail(caller, tenantId);
    const first = options.first ?? 100;
    if (!Number.isInteger(first) || first < 0 || first > 1000) throw badInput('first', 'first must be an integer from 0 to 1000');
    return this.ledger.checkpoints(tenantId, { afterSize: options.afterSize ?? -1, limit: first });
  }

  /**
   * The checkpoints as a Relay page, oldest first (`first`/`after`), or the
   * newest ones (`last`/`before`); cursors name a checkpoint's size and
   * signing time. Each page is an index range of the ledger's store.
   */
  async checkpointPage(caller: Caller, tenantId: string, paging: PageArgs): Promise<Page<SignedCheckpoint>> {
    await this.audit.requireWholeTrail(caller, tenantId);
    const direction = pageDirection(paging, 100, 1000);
    const field = direction.backward ? 'before' : 'after';
    let cursor: CheckpointKey | null = null;
    if (direction.cursor) {
      const [size, signedAt] = decodeCursor(field, direction.cursor, 2) as [string, string];
      if (!Number.isSafeInteger(Number(size))) throw badInput(field, `${field} is not a cursor returned by this list`);
      cursor = { size: Number(size), signedAt };
    }
    const rows =
      direction.size === 0
        ? []
        : await this.ledger.checkpointPage(tenantId, { backward: direction.backward, cursor, limit: direction.size + 1 });
    return toPage(
      rows,
      direction.size,
      () => this.ledger.countCheckpoints(tenantId),
      (c) => encodeCursor([String(c.size), c.signedAt]),
      (c) => c,
      direction,
    );
  }

  async consistency(caller: Caller, tenantId: string, fromSize: number, toSize?: number | null): Promise<ConsistencyProofView> {
    await this.audit.requireWholeTrail(caller, tenantId);
    const latest = await this.ledger.latestCheckpoint(tenantId);
    const to = toSize ?? latest?.size ?? (await this.ledger.head(tenantId))?.size ?? 0;
    const head = await this.ledger.head(tenantId);
    if (!Number.isInteger(fromSize) || fromSize < 0) throw badInput('fromSize', 'fromSize must be a non-negative integer');
    if (!Number.isInteger(to) || to < fromSize || to > (head?.size ?? 0)) {
      throw badInput('toSize', `toSize must be from fromSize (${fromSize}) to the ledger's size (${head?.size ?? 0})`);
    }
    const nodes = nodesOf(this.ledger, tenantId);
    const [fromRoot, toRoot, proof] = await Promise.all([
      treeRoot(nodes, fromSize),
      treeRoot(nodes, to),
      consistencyProof(nodes, fromSize, to),
    ]);
    const toCheckpoint = (await this.ledger.checkpoints(tenantId, { afterSize: to - 1, limit: 1 })).find((c) => c.size === to) ?? null;
    return {
      tenantId,
      fromSize,
      toSize: to,
      fromRoot: fromRoot.toString('hex'),
      toRoot: toRoot.toString('hex'),
      proof: hex(proof),
      toCheckpoint,
    };
  }

  async inclusion(caller: Caller, tenantId: string, position: number, treeSize?: number | null): Promise<InclusionProofView> {
    await this.audit.requireWholeTrail(caller, tenantId);
    const leaf = await this.ledger.leafAt(tenantId, position);
    if (!leaf) throw notFound(`the event at position ${position} in the ledger of ${tenantId}`);
    // The first signed checkpoint that covers the event, or the one asked for.
    const candidates = await this.ledger.checkpoints(tenantId, { afterSize: (treeSize ?? leaf.index + 1) - 1, limit: 1 });
    const checkpoint = candidates[0];
    if (!checkpoint || (treeSize != null && checkpoint.size !== treeSize)) {
      throw notFound(
        `a signed checkpoint of ${tenantId} ${treeSize != null ? `of size ${treeSize}` : `covering position ${position}`} (sign one first)`,
      );
    }
    const proof = await inclusionProof(nodesOf(this.ledger, tenantId), leaf.index, checkpoint.size);
    return {
      tenantId,
      position,
      leafIndex: leaf.index,
      treeSize: checkpoint.size,
      leafHash: leaf.hash.toString('hex'),
      proof: hex(proof),
      checkpoint,
    };
  }

  /** The public keys whose signatures verification accepts; `current` signs new checkpoints. */
  keys(): { current: string; trusted: { keyId: string; publicKeyPem: string }[] } {
    return { current: this.app.signing.key.keyId, trusted: this.app.signing.trusted.list() };
  }
}
