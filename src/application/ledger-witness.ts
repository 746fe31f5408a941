/**
 * A full verification's last step when a witness file is configured
 * (src/ledger/witness.ts): every checkpoint of the tenant witnessed there
 * must still be in the ledger's store, and today's ledger must reach its
 * root. The ledger pass has just checked the ledger against the log and the
 * log against every stored checkpoint; a forged history re-signed inside the
 * data dir passes that, and is named here. The file is streamed a line at a
 * time (bounded memory); a line costs one checkpoint lookup, and a tree root
 * (O(log n) node lookups) only when its checkpoint is not in the store.
 */
import type { SignedCheckpoint, TrustedKeys } from '../ledger/checkpoint.js';
import type { LedgerStore } from '../ledger/store.js';
import { witnessLines } from '../ledger/witness.js';
import { treeRoot } from '../shared/merkle.js';
import type { Slicer } from '../shared/slices.js';
import type { LedgerProblem } from './ledger-verify.js';

const same = (a: SignedCheckpoint, b: SignedCheckpoint): boolean =>
  a.size === b.size && a.rootHash === b.rootHash && a.signedAt === b.signedAt && a.keyId === b.keyId && a.signature === b.signature;

export async function verifyWitness(input: {
  tenantId: string;
  file: string;
  ledger: LedgerStore;
  trusted: TrustedKeys;
  /** The ledger's size the ledger pass verified against the log (checkpoints it checked are up to it). */
  verifiedSize: number;
  /** Where the ledger pass stopped (reported when the tenant has no event at a checkpoint's size). */
  position: number;
  slicer?: Slicer | undefined;
}): Promise<{ problem: LedgerProblem | null; checked: number }> {
  const { tenantId, file, ledger, trusted } = input;
  let checked = 0;
  const positionAt = async (size: number): Promise<number> =>
    size > 0 ? ((await ledger.leaves(tenantId, size - 1, 1))[0]?.position ?? input.position) : input.position;
  const problem = async (size: number, reason: string) => ({
    problem: { position: await positionAt(size), eventId: null, reason, source: 'checkpoint' as const },
    checked,
  });
  for await (const { line, checkpoint: c } of witnessLines(file)) {
    await input.slicer?.tick();
    if (!c) return problem(0, `line ${line} of the witness file ${file} is not a signed checkpoint`);
    if (c.tenantId !== tenantId) continue;
    const named = `the witnessed checkpoint of size ${c.size} (${c.signedAt}, line ${line} of ${file})`;
    const untrusted = trusted.problem(c);
    if (untrusted) return problem(c.size, `${named} cannot be trusted: ${untrusted}`);
    const stored = (await ledger.checkpoints(tenantId, { afterSize: c.size - 1, limit: 100 })).filter((s) => s.size === c.size);
    if (stored.some((s) => same(s, c))) {
      // In the store as witnessed: the ledger pass checked the log against it (unless it was signed after that pass).
      if (c.size <= input.verifiedSize) checked++;
      continue;
    }
    const size = (await ledger.head(tenantId))?.size ?? 0;
    if (c.size > size) {
      return problem(
        size,
        `${named} is missing from the ledger's store, and the ledger now holds ${size} events: signed history was removed`,
      );
    }
    let root: string | null;
    try {
      root = (
        await treeRoot(async (level, index) => {
          const hash = await ledger.node(tenantId, level, index);
          if (!hash) throw new Error('missing node');
          return hash;
        }, c.size)
      ).toString('hex');
    } catch {
      root = null;
    }
    if (root !== c.rootHash) {
      return problem(
        c.size,
        `${named} is not extended by today's ledger (its root at size ${c.size} is ${root ?? 'not computable'}): history before it was rewritten, and the checkpoints in the data dir with it`,
      );
    }
    return problem(c.size, `${named} is missing from the ledger's store (deleted), though the ledger still reaches its root`);
  }
  return { problem: null, checked };
}
