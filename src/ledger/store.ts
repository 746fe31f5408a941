/**
 * Where the ledger lives: per tenant, the Merkle tree over its events (leaf
 * hashes with the position of their event, the hashes of completed perfect
 * subtrees, and the head: size, the last position hashed, the frontier) and
 * the signed checkpoints. Everything but the checkpoints can be recomputed
 * from the log; it is kept so that verification can name the first event
 * that no longer matches, and so that proofs cost O(log n) lookups.
 */
import type { Hash } from '../shared/merkle.js';
import type { SignedCheckpoint } from './checkpoint.js';

export interface LedgerHead {
  tenantId: string;
  /** Events hashed. */
  size: number;
  /** Position of the last event hashed (0 before the first). */
  position: number;
  /** Roots of the tree's perfect subtrees, largest first (see Frontier). */
  frontier: Hash[];
}

export interface LedgerLeaf {
  index: number;
  position: number;
  hash: Hash;
}

export interface LedgerNode {
  level: number;
  index: number;
  hash: Hash;
}

/** A checkpoint's place in its tenant's list: its size, then its signing time. */
export interface CheckpointKey {
  size: number;
  signedAt: string;
}

export interface CheckpointPageOptions {
  /** Newest first, before `cursor`; else oldest first, after it. */
  backward: boolean;
  cursor: CheckpointKey | null;
  limit: number;
}

export interface LedgerStore {
  head(tenantId: string): Promise<LedgerHead | null>;
  /** Tenants with a head (the checkpointer's list). */
  tenants(): Promise<string[]>;
  /**
   * Adds leaves and completed nodes and moves the head, provided the head is
   * still at `fromPosition` (0: none yet); false when another writer moved
   * it first (nothing of this call counts then: the caller reloads the head).
   */
  append(head: LedgerHead, fromPosition: number, leaves: readonly LedgerLeaf[], nodes: readonly LedgerNode[]): Promise<boolean>;
  /** The perfect subtree at `level` starting at leaf `index × 2^level` (level 0: a leaf), or null. */
  node(tenantId: string, level: number, index: number): Promise<Hash | null>;
  /** Up to `count` interior nodes of `level` (> 0) from `fromIndex`, in order (verification compares them with the log's). */
  nodes(tenantId: string, level: number, fromIndex: number, count: number): Promise<LedgerNode[]>;
  /** Up to `count` leaves from `fromIndex`, in order. */
  leaves(tenantId: string, fromIndex: number, count: number): Promise<LedgerLeaf[]>;
  /** The leaf of the event at `position`, if that event is in the tenant's ledger. */
  leafAt(tenantId: string, position: number): Promise<LedgerLeaf | null>;
  saveCheckpoint(checkpoint: SignedCheckpoint): Promise<void>;
  /** Checkpoints oldest first (by size, then time), after `afterSize` when given, at most `limit`. */
  checkpoints(tenantId: string, options?: { afterSize?: number; limit?: number }): Promise<SignedCheckpoint[]>;
  /**
   * A page of checkpoints by their key (size, then signing time): `after` a
   * key oldest first, or (`backward`) `before` a key newest first; at most
   * `limit`. An index range: the cost of the page, not of the list.
   */
  checkpointPage(tenantId: string, options: CheckpointPageOptions): Promise<SignedCheckpoint[]>;
  /** How many checkpoints the tenant has (counted in the index). */
  countCheckpoints(tenantId: string): Promise<number>;
  latestCheckpoint(tenantId: string): Promise<SignedCheckpoint | null>;
  close(): Promise<void>;
}
