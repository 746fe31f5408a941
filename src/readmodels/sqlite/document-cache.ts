/**
 * Parsed documents of the SQLite store, by the JSON text they were parsed
 * from.
 *
 * Parsing is most of what a read costs once SQLite has found the rows (a
 * page of 50 flows: about 1 µs a document, and the garbage it leaves), and a
 * copy of a parsed document costs as much as parsing it again. So reads hand
 * out one deep-frozen document per stored text, shared by every caller that
 * reads the same text, and parse only texts they have not seen.
 *
 * Keyed by the text itself, the cache needs no invalidation: a document
 * changed by this process, by another process on the same file, or rolled
 * back reads as a different text, and a text always parses to the same
 * document. Memory is bounded (least recently used out first); the size of
 * an entry is estimated from its text (the text and the parsed document
 * together take about 2.4 bytes a character on V8, plus the entry itself).
 */
import { LRUCache } from 'lru-cache';
import type { Plain } from '../memory/values.js';

/** Heap bytes an entry is counted for: its text, the parsed document, the cache's own bookkeeping. */
export function entryBytes(text: string): number {
  return 3 * text.length + 128;
}

/**
 * Makes `value` and everything it holds read-only (documents from JSON:
 * objects, arrays, scalars). Walks without recursion: a stored document may
 * nest deeper than the call stack allows.
 */
export function deepFreeze<V>(value: V): V {
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const next = pending.pop();
    if (next === null || typeof next !== 'object' || Object.isFrozen(next)) continue;
    Object.freeze(next);
    for (const key of Object.keys(next)) pending.push((next as Plain)[key]);
  }
  return value;
}

export interface DocumentCacheStats {
  /** Documents answered from the cache. */
  hits: number;
  /** Documents parsed by reads (not in the cache, or not kept). */
  parsed: number;
  /** Entries and their estimated bytes now. */
  entries: number;
  bytes: number;
}

export class DocumentCache {
  private readonly entries: LRUCache<string, Plain> | null;
  private hits = 0;
  private parsed = 0;

  /** `maxBytes` 0: nothing is kept (every read parses), documents are still frozen. */
  constructor(readonly maxBytes: number) {
    this.entries =
      maxBytes > 0
        ? new LRUCache<string, Plain>({
            maxSize: maxBytes,
            // One document may take at most an eighth: a few huge flows cannot push out every page.
            maxEntrySize: Math.max(1, Math.floor(maxBytes / 8)),
            sizeCalculation: (_doc, text) => entryBytes(text),
          })
        : null;
  }

  /** The shared document of `text`, if it is kept. */
  get(text: string): Plain | undefined {
    const doc = this.entries?.get(text);
    if (doc !== undefined) this.hits++;
    return doc;
  }

  /** A document parsed from `text` (not shared yet: the caller may drop it). */
  parse(text: string): Plain {
    this.parsed++;
    return JSON.parse(text) as Plain;
  }

  /** Freezes `doc` (parsed from `text`), keeps it when it fits, and returns it. */
  keep(text: string, doc: Plain): Plain {
    deepFreeze(doc);
    this.entries?.set(text, doc);
    return doc;
  }

  stats(): DocumentCacheStats {
    return { hits: this.hits, parsed: this.parsed, entries: this.entries?.size ?? 0, bytes: this.entries?.calculatedSize ?? 0 };
  }
}
