/**
 * Verification of a tenant's ledger against the event log: every event,
 * read from the log as stored, is hashed again and compared with the leaf
 * the ledger took when it first saw it; the tree rebuilt from the log must
 * reach the root of every signed checkpoint, each signed by a trusted key,
 * and every interior node it completes must equal the ledger's (proofs are
 * built from them). One pass in log order, in bounded memory (a page of
 * leaves, a page of checkpoints, a page of nodes per level and the tree's
 * frontier), in time slices.
 */
import { tenantPrefix, type EventStore, type RecordedEvent } from '../eventstore/port.js';
import type { SignedCheckpoint, TrustedKeys } from '../ledger/checkpoint.js';
import { eventLeaf } from '../ledger/leaf.js';
import type { LedgerLeaf, LedgerNode, LedgerStore } from '../ledger/store.js';
import { Frontier, type Hash } from '../shared/merkle.js';
import { EVENT_PAGE_MAX, PageSizer } from '../shared/page-sizer.js';
import { Slicer } from '../shared/slices.js';

export type LedgerProblemSource = 'eventLog' | 'ledger' | 'checkpoint';

export interface LedgerProblem {
  position: number;
  eventId: string | null;
  reason: string;
  source: LedgerProblemSource;
}

export interface LedgerVerification {
  problem: LedgerProblem | null;
  /** Events of the log checked against the ledger in this run. */
  checkedEvents: number;
  /** Signed checkpoints whose root the log reached and whose signature checked out. */
  checkedCheckpoints: number;
  /** The ledger's size where this run stopped (to go on from next time). */
  size: number;
  position: number;
  frontier: Hash[];
}

/** Where a previous verification left the ledger: its size, last position and frontier. */
export interface LedgerPoint {
  size: number;
  position: number;
  frontier: Hash[];
}

/** Small pages: a page is read in one synchronous call on SQLite, so its size bounds how long the event loop waits. */
const PAGE = 250;

/** A sequence read a page at a time; `fetch` knows where the next page starts. */
class Pages<T> {
  private buffer: T[] = [];
  private next = 0;
  private done = false;
  constructor(private readonly fetch: () => Promise<T[]>) {}

  async peek(): Promise<T | undefined> {
    if (this.next >= this.buffer.length && !this.done) {
      const page = await this.fetch();
      this.buffer = page;
      this.next = 0;
      if (page.length < PAGE) this.done = true;
    }
    return this.buffer[this.next];
  }

  take(): void {
    this.next++;
  }
}

export async function verifyLedger(input: {
  tenantId: string;
  events: EventStore;
  ledger: LedgerStore;
  trusted: TrustedKeys;
  /** Go on from here (an incremental run); null: from the first event. */
  from: LedgerPoint | null;
  /**
   * The ledger projection's applied position when the run began: every event
   * of the log up to it must be in the ledger (0: unknown, then events past
   * the ledger's head are taken for lag).
   */
  hashedUpTo?: number | undefined;
  slicer?: Slicer | undefined;
  /** Events checked so far, against the events the ledger held when the run began (its head: known without a scan). */
  onProgress?: ((checked: number, total: number) => void) | undefined;
}): Promise<LedgerVerification> {
  const { tenantId, events, ledger, trusted } = input;
  const slicer = input.slicer ?? new Slicer();
  const frontier = new Frontier(input.from?.size ?? 0, input.from?.frontier ?? []);
  const head = await ledger.head(tenantId);
  const headSize = head?.size ?? 0;
  let checked = 0;
  let checkedCheckpoints = 0;
  let position = input.from?.position ?? 0;
  const total = Math.max(0, headSize - frontier.size);
  /** Every way out reports how far the run got. */
  const result = (problem: LedgerProblem | null): LedgerVerification => {
    input.onProgress?.(checked, Math.max(total, checked));
    return {
      problem,
      checkedEvents: checked,
      checkedCheckpoints,
      size: frontier.size,
      position,
      frontier: frontier.hashes(),
    };
  };

  let leafFrom = frontier.size;
  const leaves = new Pages<LedgerLeaf>(async () => {
    const page = await ledger.leaves(tenantId, leafFrom, PAGE);
    leafFrom += page.length;
    return page;
  });
  let checkpointAfter = frontier.size - 1;
  const checkpoints = new Pages<SignedCheckpoint>(async () => {
    const page = await ledger.checkpoints(tenantId, { afterSize: checkpointAfter, limit: PAGE });
    const last = page.at(-1);
    if (last) checkpointAfter = last.size;
    return page;
  });

  const storedNodes = new StoredNodes(ledger, tenantId);

  /**
   * The first event whose leaf differs from the ledger's, waiting for the
   * next signed checkpoint to tell which side changed: when the log still
   * reaches the signed root, the log is intact and the ledger's store was
   * edited; when it does not, the log was.
   */
  let candidate: LedgerProblem | null = null;

  /** Checks every checkpoint of the size the tree has now reached; a problem, or null. */
  const checkCheckpoints = async (): Promise<LedgerProblem | null> => {
    for (let c = await checkpoints.peek(); c && c.size <= frontier.size; c = await checkpoints.peek()) {
      checkpoints.take();
      if (c.size < frontier.size) continue; // before the start of an incremental run
      const signature = trusted.problem(c);
      if (signature)
        return {
          position,
          eventId: null,
          reason: `the checkpoint of size ${c.size} (${c.signedAt}) cannot be trusted: ${signature}`,
          source: 'checkpoint',
        };
      if (c.rootHash !== frontier.root().toString('hex')) {
        return (
          candidate ?? {
            position,
            eventId: null,
            reason: `the log no longer reaches the root signed at size ${c.size} (${c.signedAt}): history before it was changed`,
            source: 'checkpoint',
          }
        );
      }
      if (candidate) {
        return {
          position: candidate.position,
          eventId: null,
          reason: `the ledger's own record of the event at position ${candidate.position} was changed (the log still reaches the root signed at size ${c.size})`,
          source: 'ledger',
        };
      }
      checkedCheckpoints++;
    }
    return null;
  };

  let after = position;
  const sizer = new PageSizer(EVENT_PAGE_MAX);
  for (;;) {
    const { page, full } = await sizer.read((maxCount): Promise<RecordedEvent[]> =>
      events.readAll({ after, maxCount, streamPrefix: tenantPrefix(tenantId), fromStorage: true }),
    );
    for (const event of page) {
      const leaf = eventLeaf(event);
      if (candidate === null) {
        const expected = await leaves.peek();
        if (!expected && frontier.size < headSize) {
          return result({
            position,
            eventId: null,
            reason: `the ledger's leaf ${frontier.size} is missing (its store was edited)`,
            source: 'ledger',
          });
        }
        if (!expected || frontier.size >= headSize) {
          // Past the ledger's head, yet hashed by its projection: the ledger lost it (deleted, truncated, an older copy).
          if (event.position <= (input.hashedUpTo ?? 0)) {
            return result((await checkCheckpoints()) ?? notInLedger(event, input.hashedUpTo ?? 0, headSize));
          }
          // Past what the ledger has hashed (it lags the log a little): nothing more to compare.
          return result((await checkCheckpoints()) ?? (await trailingCheckpoints(checkpoints, frontier.size, position)));
        }
        if (event.position !== expected.position || !leaf.equals(expected.hash)) {
          const missing = event.position > expected.position;
          candidate = {
            position: missing ? expected.position : event.position,
            eventId: missing ? null : event.id,
            reason: missing
              ? `the event at position ${expected.position}, hashed into the ledger, is missing from the log (deleted, or moved)`
              : event.position < expected.position
                ? `the event at position ${event.position} is not in the ledger: it was inserted into the log afterwards (or events were reordered)`
                : `the event at position ${event.position} differs from the one hashed into the ledger (edited)`,
            source: 'eventLog',
          };
        } else {
          leaves.take();
        }
      }
      const completed: { level: number; index: number; hash: Hash }[] = [];
      frontier.append(leaf, (level, index, hash) => {
        if (level > 0) completed.push({ level, index, hash });
      });
      // The ledger's leaves agree with the log so far: its interior nodes (what proofs are built from) must agree with them.
      if (candidate === null) {
        for (const node of completed) {
          const stored = await storedNodes.get(node.level, node.index);
          if (!stored || !stored.equals(node.hash)) {
            position = event.position;
            return result({
              position,
              eventId: null,
              reason: `the ledger's node ${node.level}/${node.index} ${stored ? 'does not match' : 'is missing, though the ledger holds'} its leaves (its store was edited)`,
              source: 'ledger',
            });
          }
        }
      }
      position = event.position;
      checked++;
      const problem = await checkCheckpoints();
      if (problem) return result(problem);
      // No checkpoint left to tell which side changed: the log is the suspect.
      if (candidate && (await checkpoints.peek()) === undefined) return result(candidate);
      if (checked % 5_000 === 0) input.onProgress?.(checked, Math.max(total, checked));
      await slicer.tick();
    }
    const last = page.at(-1);
    if (!last || !full) break;
    after = last.position;
  }
  if (candidate) return result(candidate);
  const missing = await leaves.peek();
  if (missing && frontier.size < headSize) {
    return result({
      position: missing.position,
      eventId: null,
      reason: `the event at position ${missing.position}, hashed into the ledger, is missing from the log (the log ends before the ledger)`,
      source: 'eventLog',
    });
  }
  if (head && frontier.size === head.size && !frontier.root().equals(new Frontier(head.size, head.frontier).root())) {
    return result({ position, eventId: null, reason: "the ledger's head does not match its own leaves", source: 'ledger' });
  }
  return result(await trailingCheckpoints(checkpoints, frontier.size, position));
}

/** The ledger's interior nodes, read a page per level as the tree rebuilt from the log completes them (indexes rise per level). */
class StoredNodes {
  private readonly levels = new Map<number, { nodes: LedgerNode[]; next: number }>();
  constructor(
    private readonly ledger: LedgerStore,
    private readonly tenantId: string,
  ) {}

  async get(level: number, index: number): Promise<Hash | null> {
    let page = this.levels.get(level);
    while (page && page.next < page.nodes.length && page.nodes[page.next]!.index < index) page.next++;
    if (!page || page.next >= page.nodes.length) {
      page = { nodes: await this.ledger.nodes(this.tenantId, level, index, PAGE), next: 0 };
      this.levels.set(level, page);
    }
    const node = page.nodes[page.next];
    return node?.index === index ? node.hash : null;
  }
}

/** An event the ledger's projection hashed that the ledger does not hold. */
function notInLedger(event: RecordedEvent, hashedUpTo: number, headSize: number): LedgerProblem {
  return {
    position: event.position,
    eventId: event.id,
    reason:
      `the event at position ${event.position} is not in the ledger, which holds ${headSize} events of the tenant, ` +
      `though the ledger projection hashed the log up to position ${hashedUpTo} (the ledger was deleted, truncated or replaced by an older copy)`,
    source: 'ledger',
  };
}

/** A checkpoint beyond what the log and the ledger hold: the ledger lost events it had signed. */
async function trailingCheckpoints(checkpoints: Pages<SignedCheckpoint>, size: number, position: number): Promise<LedgerProblem | null> {
  const beyond = await checkpoints.peek();
  if (beyond && beyond.size > size) {
    return {
      position,
      eventId: null,
      reason: `a checkpoint of size ${beyond.size} (${beyond.signedAt}) was signed, but the log and the ledger now hold ${size} events`,
      source: 'checkpoint',
    };
  }
  return null;
}
