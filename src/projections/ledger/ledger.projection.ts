import type { RecordedEvent } from '../../eventstore/port.js';
import { eventLeaf, ledgerOf } from '../../ledger/leaf.js';
import type { LedgerLeaf, LedgerNode, LedgerStore } from '../../ledger/store.js';
import { LEDGER_PROJECTION } from '../../ledger/start-guard.js';
import { Frontier } from '../../shared/merkle.js';
import type { Projection } from '../runtime/projection.js';

/** Every event type, whatever it is: the ledger hashes the whole log. */
class EveryType extends Set<string> {
  override has(): boolean {
    return true;
  }
}

const ATTEMPTS = 5;

/**
 * The ledger: per tenant, a Merkle tree (RFC 9162) over its events as
 * stored, in log order (see src/ledger). It receives the events before
 * upcasting (`raw`), writes to the ledger store, not to a read-model
 * generation (a rebuild must not rehash a log that may have been edited
 * since), and skips what a tenant's head already covers, so replays and
 * rebuilds change nothing. O(1) amortized hashes and writes per event.
 */
export function ledgerProjection(store: LedgerStore): Projection {
  return {
    ...LEDGER_PROJECTION,
    raw: true,
    eventTypes: new EveryType(),
    collections: {},
    async apply(events: readonly RecordedEvent[]) {
      const byTenant = new Map<string, RecordedEvent[]>();
      for (const event of events) {
        const tenant = ledgerOf(event.streamName);
        const list = byTenant.get(tenant);
        if (list) list.push(event);
        else byTenant.set(tenant, [event]);
      }
      for (const [tenantId, list] of byTenant) {
        for (let attempt = 1; ; attempt++) {
          const head = await store.head(tenantId);
          const from = head?.position ?? 0;
          const fresh = list.filter((e) => e.position > from);
          if (fresh.length === 0) break;
          const frontier = new Frontier(head?.size ?? 0, head?.frontier ?? []);
          const leaves: LedgerLeaf[] = [];
          const nodes: LedgerNode[] = [];
          for (const event of fresh) {
            const hash = eventLeaf(event);
            leaves.push({ index: frontier.size, position: event.position, hash });
            frontier.append(hash, (level, index, node) => {
              if (level > 0) nodes.push({ level, index, hash: node });
            });
          }
          const last = fresh.at(-1)!;
          const moved = await store.append(
            { tenantId, size: frontier.size, position: last.position, frontier: frontier.hashes() },
            from,
            leaves,
            nodes,
          );
          if (moved) break;
          // Another writer (a replica, the CLI) moved the head first: start again from where it left it.
          if (attempt >= ATTEMPTS) throw new Error(`the ledger head of ${tenantId} kept moving under this writer`);
        }
      }
    },
  };
}
