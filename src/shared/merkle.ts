/**
 * Merkle trees as Certificate Transparency defines them (RFC 9162, section
 * 2.1): leaf hash H(0x00 ‖ leaf), interior node H(0x01 ‖ left ‖ right),
 * SHA-256; the tree of n leaves splits at the largest power of two below n.
 * Inclusion proofs show a leaf is in a tree of a given size; consistency
 * proofs show a tree of size m is a prefix of one of size n. Both are
 * O(log n) hashes, built from the hashes of perfect subtrees (a store keeps
 * them: `NodeSource`) and checked with nothing but the proof and the roots.
 */
import { createHash } from 'node:crypto';

export type Hash = Buffer;

const LEAF = Buffer.from([0]);
const NODE = Buffer.from([1]);

export const emptyRoot = (): Hash => createHash('sha256').digest();

// A string leaf is hashed as its UTF-8 bytes, encoded by the hash itself: no copy of a large event on the heap.
export const leafHash = (leaf: Buffer | string): Hash =>
  (typeof leaf === 'string'
    ? createHash('sha256').update(LEAF).update(leaf, 'utf8')
    : createHash('sha256').update(LEAF).update(leaf)
  ).digest();

export const nodeHash = (left: Hash, right: Hash): Hash => createHash('sha256').update(NODE).update(left).update(right).digest();

/** The largest power of two strictly below n (n ≥ 2). */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

const isPowerOfTwo = (n: number): boolean => n > 0 && Number.isInteger(Math.log2(n));

/**
 * The hash of the perfect subtree at `level` (2^level leaves) whose leaves
 * start at `index × 2^level`. Level 0 is the leaf hashes.
 */
export type NodeSource = (level: number, index: number) => Promise<Hash>;

/** The root of the leaves [start, start + size) of a tree, from perfect subtrees (O(log size) lookups). */
export async function rangeHash(nodes: NodeSource, start: number, size: number): Promise<Hash> {
  if (size === 0) return emptyRoot();
  if (isPowerOfTwo(size) && start % size === 0) return nodes(Math.log2(size), start / size);
  const k = splitPoint(size);
  return nodeHash(await rangeHash(nodes, start, k), await rangeHash(nodes, start + k, size - k));
}

export const treeRoot = (nodes: NodeSource, size: number): Promise<Hash> => rangeHash(nodes, 0, size);

/** RFC 9162 PATH(m, D[n]): the inclusion proof of leaf `index` in the tree of `size` leaves. */
export async function inclusionProof(nodes: NodeSource, index: number, size: number): Promise<Hash[]> {
  if (!(index >= 0 && index < size)) throw new RangeError(`leaf ${index} is not in a tree of ${size} leaves`);
  const path: Hash[] = [];
  let start = 0;
  let n = size;
  let m = index;
  // Walk down from the root; the proof lists the siblings from the bottom up.
  const siblings: Hash[] = [];
  while (n > 1) {
    const k = splitPoint(n);
    if (m < k) {
      siblings.push(await rangeHash(nodes, start + k, n - k));
      n = k;
    } else {
      siblings.push(await rangeHash(nodes, start, k));
      start += k;
      m -= k;
      n -= k;
    }
  }
  for (let i = siblings.length - 1; i >= 0; i--) path.push(siblings[i]!);
  return path;
}

/** RFC 9162 PROOF(m, D[n]): that the tree of `first` leaves is a prefix of the tree of `second`. */
export async function consistencyProof(nodes: NodeSource, first: number, second: number): Promise<Hash[]> {
  if (!(first >= 0 && first <= second)) throw new RangeError(`no consistency proof from ${first} to ${second} leaves`);
  if (first === 0 || first === second) return [];
  const proof: Hash[] = [];
  // SUBPROOF(m, D[start:start+n], whole), iteratively: the tail hashes are appended in reverse order of discovery.
  const tail: Hash[] = [];
  let start = 0;
  let n = second;
  let m = first;
  let whole = true;
  while (m !== n) {
    const k = splitPoint(n);
    if (m <= k) {
      tail.push(await rangeHash(nodes, start + k, n - k));
      n = k;
    } else {
      tail.push(await rangeHash(nodes, start, k));
      start += k;
      m -= k;
      n -= k;
      whole = false;
    }
  }
  if (!whole) proof.push(await rangeHash(nodes, start, n));
  for (let i = tail.length - 1; i >= 0; i--) proof.push(tail[i]!);
  return proof;
}

/** RFC 9162 section 2.1.3.2. */
export function verifyInclusion(index: number, size: number, leaf: Hash, path: readonly Hash[], root: Hash): boolean {
  if (!(index >= 0 && index < size)) return false;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of path) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && r.equals(root);
}

/** RFC 9162 section 2.1.4.2. */
export function verifyConsistency(first: number, second: number, firstRoot: Hash, secondRoot: Hash, proof: readonly Hash[]): boolean {
  if (first < 0 || first > second) return false;
  if (first === second) return proof.length === 0 && firstRoot.equals(secondRoot);
  if (first === 0) return proof.length === 0 && firstRoot.equals(emptyRoot());
  if (proof.length === 0) return false;
  const path = isPowerOfTwo(first) ? [firstRoot, ...proof] : [...proof];
  let fn = first - 1;
  let sn = second - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr = path[0]!;
  let sr = path[0]!;
  for (let i = 1; i < path.length; i++) {
    const c = path[i]!;
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return fr.equals(firstRoot) && sr.equals(secondRoot) && sn === 0;
}

/**
 * The right edge of a growing tree: the roots of its perfect subtrees, from
 * the largest (left) to the smallest, O(log n) of them. Appending a leaf
 * merges equal-sized subtrees (amortized O(1) hashes) and reports every
 * perfect subtree it completes, for the store that answers proofs later.
 */
export class Frontier {
  /** Sizes (powers of two) and hashes, largest first. */
  private readonly subtrees: { level: number; hash: Hash }[];

  constructor(
    public size: number = 0,
    hashes: readonly Hash[] = [],
  ) {
    const levels: number[] = [];
    for (let level = 52; level >= 0; level--) if (Math.floor(size / 2 ** level) % 2 === 1) levels.push(level);
    if (levels.length !== hashes.length)
      throw new Error(`a frontier of ${size} leaves has ${levels.length} subtrees, not ${hashes.length}`);
    this.subtrees = levels.map((level, i) => ({ level, hash: hashes[i]! }));
  }

  /** Adds a leaf; calls `completed` for the leaf itself and every perfect subtree it completes (level, index, hash). */
  append(leaf: Hash, completed?: (level: number, index: number, hash: Hash) => void): void {
    const index = this.size;
    completed?.(0, index, leaf);
    let node = { level: 0, hash: leaf };
    let last = this.subtrees.at(-1);
    while (last && last.level === node.level) {
      this.subtrees.pop();
      node = { level: node.level + 1, hash: nodeHash(last.hash, node.hash) };
      completed?.(node.level, Math.floor(index / 2 ** node.level), node.hash);
      last = this.subtrees.at(-1);
    }
    this.subtrees.push(node);
    this.size++;
  }

  /** The root of the tree so far. */
  root(): Hash {
    if (this.subtrees.length === 0) return emptyRoot();
    let acc = this.subtrees.at(-1)!.hash;
    for (let i = this.subtrees.length - 2; i >= 0; i--) acc = nodeHash(this.subtrees[i]!.hash, acc);
    return acc;
  }

  /** The subtree hashes, largest first (what `new Frontier(size, hashes)` takes back). */
  hashes(): Hash[] {
    return this.subtrees.map((s) => s.hash);
  }
}
