/**
 * The Merkle tree of RFC 9162 (Certificate Transparency): roots, inclusion
 * and consistency proofs built from stored perfect subtrees agree with the
 * RFC's recursive definitions, verify with the RFC's algorithms, and fail
 * for a wrong leaf, a wrong root, a forked or rewritten tree.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  consistencyProof,
  emptyRoot,
  Frontier,
  inclusionProof,
  leafHash,
  nodeHash,
  splitPoint,
  treeRoot,
  verifyConsistency,
  verifyInclusion,
  type Hash,
  type NodeSource,
} from '../../src/shared/merkle.js';

/** The RFC's definitions, literally (recursive, over the leaf hashes). */
function mth(leaves: readonly Hash[]): Hash {
  if (leaves.length === 0) return emptyRoot();
  if (leaves.length === 1) return leaves[0]!;
  const k = splitPoint(leaves.length);
  return nodeHash(mth(leaves.slice(0, k)), mth(leaves.slice(k)));
}
function path(m: number, leaves: readonly Hash[]): Hash[] {
  if (leaves.length <= 1) return [];
  const k = splitPoint(leaves.length);
  return m < k ? [...path(m, leaves.slice(0, k)), mth(leaves.slice(k))] : [...path(m - k, leaves.slice(k)), mth(leaves.slice(0, k))];
}
function subproof(m: number, leaves: readonly Hash[], whole: boolean): Hash[] {
  const n = leaves.length;
  if (m === n) return whole ? [] : [mth(leaves)];
  const k = splitPoint(n);
  return m <= k
    ? [...subproof(m, leaves.slice(0, k), whole), mth(leaves.slice(k))]
    : [...subproof(m - k, leaves.slice(k), false), mth(leaves.slice(0, k))];
}

/** A tree built with Frontier.append, its perfect subtrees kept as a store would keep them. */
function build(count: number, leafOf = (i: number) => leafHash(`event ${i}`)): { leaves: Hash[]; nodes: NodeSource; frontier: Frontier } {
  const stored = new Map<string, Hash>();
  const frontier = new Frontier();
  const leaves: Hash[] = [];
  for (let i = 0; i < count; i++) {
    const leaf = leafOf(i);
    leaves.push(leaf);
    frontier.append(leaf, (level, index, hash) => stored.set(`${level}/${index}`, hash));
  }
  const nodes: NodeSource = (level, index) => {
    const hash = stored.get(`${level}/${index}`);
    return hash ? Promise.resolve(hash) : Promise.reject(new Error(`no node ${level}/${index}`));
  };
  return { leaves, nodes, frontier };
}

const hex = (hashes: readonly Hash[]) => hashes.map((h) => h.toString('hex'));

describe('Merkle tree (RFC 9162)', () => {
  it('hashes leaves and nodes with their domain prefixes; the empty tree is SHA-256 of nothing', () => {
    expect(emptyRoot().toString('hex')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    // SHA-256(0x00) and SHA-256(0x01 ‖ a ‖ a) for a = SHA-256(0x00): values any CT implementation gives.
    expect(leafHash(Buffer.alloc(0)).toString('hex')).toBe('6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d');
  });

  it('roots, inclusion and consistency proofs equal the RFC definitions for every size up to 70', async () => {
    for (let n = 0; n <= 70; n++) {
      const { leaves, nodes, frontier } = build(n);
      const root = mth(leaves);
      expect(frontier.root().equals(root), `frontier root of ${n}`).toBe(true);
      expect((await treeRoot(nodes, n)).equals(root), `stored root of ${n}`).toBe(true);
      expect(new Frontier(n, frontier.hashes()).root().equals(root)).toBe(true);
      for (let m = 0; m < n; m++) {
        const proof = await inclusionProof(nodes, m, n);
        expect(hex(proof)).toEqual(hex(path(m, leaves)));
        expect(verifyInclusion(m, n, leaves[m]!, proof, root)).toBe(true);
      }
      for (let m = 0; m <= n; m++) {
        const proof = await consistencyProof(nodes, m, n);
        expect(hex(proof)).toEqual(hex(m === 0 ? [] : subproof(m, leaves, true)));
        expect(verifyConsistency(m, n, mth(leaves.slice(0, m)), root, proof), `consistency ${m} → ${n}`).toBe(true);
      }
    }
  });

  it('an inclusion proof fails for another leaf, another index, another root or a tampered path', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 2, max: 300 }), fc.nat(), fc.nat(), async (n, a, b) => {
        const { leaves, nodes, frontier } = build(n);
        const m = a % n;
        const other = b % n;
        const proof = await inclusionProof(nodes, m, n);
        const root = frontier.root();
        expect(verifyInclusion(m, n, leaves[m]!, proof, root)).toBe(true);
        if (other !== m) expect(verifyInclusion(m, n, leaves[other]!, proof, root)).toBe(false);
        expect(verifyInclusion(m, n, leaves[m]!, proof, leafHash('another root'))).toBe(false);
        if (proof.length > 0) {
          const tampered = [...proof];
          tampered[b % proof.length] = leafHash('tampered');
          expect(verifyInclusion(m, n, leaves[m]!, tampered, root)).toBe(false);
        }
      }),
      { numRuns: 60 },
    );
  });

  it('a consistency proof fails against a forked, rewritten or truncated log', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 1, max: 300 }), fc.nat(), async (x, y, pick) => {
        const [m, n] = x <= y ? [x, y] : [y, x];
        if (m === n) return;
        const honest = build(n);
        const oldRoot = mth(honest.leaves.slice(0, m));
        const proof = await consistencyProof(honest.nodes, m, n);
        expect(verifyConsistency(m, n, oldRoot, honest.frontier.root(), proof)).toBe(true);
        // The same history rewritten at one event before m: the new log does not extend the old checkpoint.
        const changed = pick % m;
        const forked = build(n, (i) => leafHash(i === changed ? `rewritten ${i}` : `event ${i}`));
        const forkedProof = await consistencyProof(forked.nodes, m, n);
        expect(verifyConsistency(m, n, oldRoot, forked.frontier.root(), forkedProof)).toBe(false);
        // Nor does a proof made for the honest log vouch for the forked root.
        expect(verifyConsistency(m, n, oldRoot, forked.frontier.root(), proof)).toBe(false);
        // An event deleted (every later one moves up): n - 1 leaves that do not extend the first m.
        const deleted = build(n - 1, (i) => leafHash(`event ${i >= changed ? i + 1 : i}`));
        if (m <= n - 1 && m !== n - 1) {
          const deletedProof = await consistencyProof(deleted.nodes, m, n - 1);
          expect(verifyConsistency(m, n - 1, oldRoot, deleted.frontier.root(), deletedProof)).toBe(false);
        }
      }),
      { numRuns: 60 },
    );
  });
});
