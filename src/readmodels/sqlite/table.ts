/**
 * Synchronous reads and writes of one collection's tables on one connection:
 * documents (JSON by `_id` key), unique keys and ordered index entries kept
 * in step with every write. Writers call these inside a write transaction.
 */
import type Database from 'better-sqlite3';
import { DuplicateKeyError, type Filter, type IndexSpec, type Sort } from '../port.js';
import type { Matcher } from '../memory/filters.js';
import { uniqueKeys } from '../memory/indexes.js';
import { sortDocuments } from '../memory/sort.js';
import { deepEqual, idKey, type Plain } from '../memory/values.js';
import { documentEntries } from './keys.js';
import { columnName } from './catalog.js';
import type { Catalog, CollectionInfo, IndexInfo } from './catalog.js';
import { countSql, plan } from './planner.js';
import type { DocumentCache } from './document-cache.js';

export const ID_INDEX = '_id_';

/** Prepared statements of one connection, by SQL text (dropped when the catalog changes). */
export class Statements {
  private readonly cache = new Map<string, Database.Statement>();

  constructor(readonly db: Database.Database) {}

  private readonly open = new Set<Iterator<unknown>>();

  get(sql: string): Database.Statement {
    return this.prepared(sql, () => this.db.prepare(sql));
  }

  /**
   * A statement that answers the first column of each row alone (no row
   * object: half the cost of reading a page of documents).
   */
  pluck(sql: string): Database.Statement {
    return this.prepared(`pluck:${sql}`, () => this.db.prepare(sql).pluck());
  }

  private prepared(key: string, prepare: () => Database.Statement): Database.Statement {
    let statement = this.cache.get(key);
    if (!statement) {
      statement = prepare();
      this.cache.set(key, statement);
    }
    // A statement still iterating (an unfinished stream) cannot run again: use another one.
    return statement.busy ? prepare() : statement;
  }

  /** Rows (`pluck`: first columns) read lazily; `endAll` ends whatever is still open (before the connection closes). */
  *iterate<R>(sql: string, params: readonly unknown[], pluck = false): Generator<R> {
    const iterator = (pluck ? this.pluck(sql) : this.get(sql)).iterate(...params) as IterableIterator<R>;
    this.open.add(iterator);
    try {
      yield* iterator;
    } finally {
      this.open.delete(iterator);
      iterator.return?.();
    }
  }

  endAll(): void {
    for (const iterator of this.open) iterator.return?.();
    this.open.clear();
  }

  clear(): void {
    this.cache.clear();
  }
}

export interface SelectOptions {
  sort?: Sort;
  skip?: number;
  /** 0 or undefined: all. */
  limit?: number;
}

interface Row {
  doc: string;
  id: string;
}

/** The stored texts of rows read with their `_id` keys, each document once (a multikey index yields one per element). */
function* distinct(rows: Iterable<Row>): Generator<string> {
  const seen = new Set<string>();
  for (const row of rows) {
    if (seen.has(row.id)) continue;
    seen.add(row.id);
    yield row.doc;
  }
}

/** Stored texts of the candidate documents of a filter, with whether they come in the order of `sort`. */
function candidates(
  statements: Statements,
  info: CollectionInfo,
  filter: Filter,
  sort: Sort | undefined,
): { texts: Iterable<string>; sorted: boolean } {
  const p = plan(info, filter, sort);
  switch (p.kind) {
    case 'ids': {
      if (p.keys.length === 1) {
        const text = statements.pluck(`SELECT doc FROM ${info.table} WHERE k = ?`).get(p.keys[0]) as string | undefined;
        return { texts: text === undefined ? [] : [text], sorted: false };
      }
      // Several keys (a DataLoader's batch): one call into SQLite for all of them, not one each.
      const texts = statements
        .pluck(`SELECT doc FROM ${info.table} WHERE k IN (SELECT value FROM json_each(?))`)
        .all(JSON.stringify(p.keys));
      return { texts: texts as string[], sorted: false };
    }
    case 'index':
      return p.index.multikey
        ? { texts: distinct(statements.iterate<Row>(p.sql, p.params)), sorted: p.sorted }
        : { texts: statements.iterate<string>(p.sql, p.params, true), sorted: p.sorted };
    case 'scan':
      return { texts: statements.iterate<string>(`SELECT doc FROM ${info.table}`, [], true), sorted: false };
  }
}

/**
 * Matching documents, in the sort order, skipped and limited. With a cache
 * (reads), documents are shared and deep-frozen, and those returned are kept
 * in it; without one (writes, which change what they read), fresh objects.
 */
export function selectDocuments(
  statements: Statements,
  info: CollectionInfo,
  filter: Filter,
  matcher: Matcher,
  options: SelectOptions = {},
  cache: DocumentCache | null = null,
): Plain[] {
  const skip = options.skip ?? 0;
  const limit = options.limit ?? 0;
  const sort = options.sort && Object.keys(options.sort).length > 0 ? options.sort : undefined;
  const { texts, sorted } = candidates(statements, info, filter, sort);
  const out: Plain[] = [];
  const streaming = !sort || sorted;
  /** Texts of matches not yet kept, kept once the sort has picked the page. */
  const unkept = cache && !streaming ? new Map<Plain, string>() : null;
  let skipped = 0;
  for (const text of texts) {
    const shared = cache?.get(text);
    const doc = shared ?? (cache ? cache.parse(text) : (JSON.parse(text) as Plain));
    if (!matcher(doc)) continue;
    if (streaming) {
      if (skipped < skip) {
        skipped++;
        continue;
      }
      out.push(shared ?? (cache ? cache.keep(text, doc) : doc));
      if (limit > 0 && out.length >= limit) break;
    } else {
      out.push(doc);
      if (unkept && !shared) unkept.set(doc, text);
    }
  }
  if (streaming) return out;
  const sortedDocs = sortDocuments(out, sort, limit > 0 ? skip + limit : undefined);
  const page = limit > 0 ? sortedDocs.slice(skip, skip + limit) : sortedDocs.slice(skip);
  if (cache && unkept) {
    for (const doc of page) {
      const text = unkept.get(doc);
      if (text !== undefined) cache.keep(text, doc);
    }
  }
  return page;
}

/** Lazily read matching documents, fresh objects (the caller stops early by breaking). */
export function* iterateDocuments(
  statements: Statements,
  info: CollectionInfo,
  filter: Filter,
  matcher: Matcher,
  sort: Sort | undefined,
): Generator<Plain> {
  const { texts, sorted } = candidates(statements, info, filter, sort);
  if (sort && Object.keys(sort).length > 0 && !sorted) {
    yield* selectDocuments(statements, info, filter, matcher, { sort });
    return;
  }
  for (const text of texts) {
    const doc = JSON.parse(text) as Plain;
    if (matcher(doc)) yield doc;
  }
}

export function countDocuments(statements: Statements, info: CollectionInfo, filter: Filter, matcher: Matcher): number {
  if (Object.keys(filter).length === 0) return (statements.get(`SELECT count(*) AS n FROM ${info.table}`).get() as { n: number }).n;
  const p = plan(info, filter, undefined);
  if (p.kind === 'index' && p.exact) return (statements.get(countSql(p)).get(...p.params) as { n: number }).n;
  let n = 0;
  for (const doc of iterateDocuments(statements, info, filter, matcher, undefined)) {
    void doc;
    n++;
  }
  return n;
}

/** Writes of one collection, inside a write transaction. */
export class TableWriter {
  constructor(
    private readonly statements: Statements,
    private readonly catalog: Catalog,
    private readonly info: CollectionInfo,
  ) {}

  private uniqueCheck(key: string, doc: Plain): string[][] {
    const all: string[][] = [];
    for (const index of this.info.indexes) {
      if (!index.unique) {
        all.push([]);
        continue;
      }
      const keys = uniqueKeys(index.unique, doc);
      const owner = this.statements.get(`SELECT id FROM ${index.uniqueTable} WHERE key = ?`);
      for (const k of keys) {
        const row = owner.get(k) as { id: string } | undefined;
        if (row && row.id !== key) throw new DuplicateKeyError(this.info.name, index.spec.name);
      }
      all.push(keys);
    }
    return all;
  }

  private addEntries(index: IndexInfo, key: string, doc: Plain): void {
    if (!index.orderedTable) return;
    const { entries, multikey } = documentEntries(doc, index.paths);
    if (multikey && !index.multikey) this.catalog.markMultikey(this.info, index);
    const columns = index.paths.map((_, i) => columnName(i));
    const insert = this.statements.get(
      `INSERT OR IGNORE INTO ${index.orderedTable} (${columns.join(', ')}, id) VALUES (${columns.map(() => '?').join(', ')}, ?)`,
    );
    for (const entry of entries) insert.run(...entry, key);
  }

  private removeEntries(index: IndexInfo, key: string, doc: Plain): void {
    if (!index.orderedTable) return;
    const { entries } = documentEntries(doc, index.paths);
    const columns = index.paths.map((_, i) => `${columnName(i)} = ?`);
    const remove = this.statements.get(`DELETE FROM ${index.orderedTable} WHERE ${columns.join(' AND ')} AND id = ?`);
    for (const entry of entries) remove.run(...entry, key);
  }

  insert(doc: Plain): void {
    const key = idKey(doc['_id']);
    if (this.statements.get(`SELECT 1 FROM ${this.info.table} WHERE k = ?`).get(key)) {
      throw new DuplicateKeyError(this.info.name, ID_INDEX);
    }
    const uniques = this.uniqueCheck(key, doc);
    this.statements.get(`INSERT INTO ${this.info.table} (k, doc) VALUES (?, ?)`).run(key, JSON.stringify(doc));
    this.info.indexes.forEach((index, i) => {
      if (index.uniqueTable) {
        const insert = this.statements.get(`INSERT OR REPLACE INTO ${index.uniqueTable} (key, id) VALUES (?, ?)`);
        for (const k of uniques[i]!) insert.run(k, key);
      }
      this.addEntries(index, key, doc);
    });
  }

  /** `text`: `next` as JSON, when the caller has it already. */
  replace(prev: Plain, next: Plain, text = JSON.stringify(next)): void {
    const key = idKey(prev['_id']);
    const uniques = this.uniqueCheck(key, next);
    this.statements.get(`UPDATE ${this.info.table} SET doc = ? WHERE k = ?`).run(text, key);
    this.info.indexes.forEach((index, i) => {
      if (index.uniqueTable) {
        const remove = this.statements.get(`DELETE FROM ${index.uniqueTable} WHERE key = ? AND id = ?`);
        for (const k of uniqueKeys(index.unique!, prev)) remove.run(k, key);
        const insert = this.statements.get(`INSERT OR REPLACE INTO ${index.uniqueTable} (key, id) VALUES (?, ?)`);
        for (const k of uniques[i]!) insert.run(k, key);
      }
      if (index.orderedTable && !sameEntries(index, prev, next)) {
        this.removeEntries(index, key, prev);
        this.addEntries(index, key, next);
      }
    });
  }

  remove(doc: Plain): void {
    const key = idKey(doc['_id']);
    this.statements.get(`DELETE FROM ${this.info.table} WHERE k = ?`).run(key);
    for (const index of this.info.indexes) {
      if (index.uniqueTable) {
        const remove = this.statements.get(`DELETE FROM ${index.uniqueTable} WHERE key = ? AND id = ?`);
        for (const k of uniqueKeys(index.unique!, doc)) remove.run(k, key);
      }
      this.removeEntries(index, key, doc);
    }
  }

  /** Declares and fills an index; throws DuplicateKeyError over existing duplicates (the transaction is then rolled back). */
  createIndex(spec: IndexSpec): void {
    const index = this.catalog.addIndex(this.info, spec);
    this.statements.clear();
    let after = '';
    const page = this.statements.get(`SELECT k, doc FROM ${this.info.table} WHERE k > ? ORDER BY k LIMIT 1000`);
    for (;;) {
      const rows = page.all(after) as { k: string; doc: string }[];
      if (rows.length === 0) break;
      for (const row of rows) {
        const doc = JSON.parse(row.doc) as Plain;
        if (index.unique) {
          const owner = this.statements.get(`SELECT id FROM ${index.uniqueTable} WHERE key = ?`);
          const insert = this.statements.get(`INSERT INTO ${index.uniqueTable} (key, id) VALUES (?, ?)`);
          for (const k of uniqueKeys(index.unique, doc)) {
            const found = owner.get(k) as { id: string } | undefined;
            if (found && found.id !== row.k) throw new DuplicateKeyError(this.info.name, spec.name);
            if (!found) insert.run(k, row.k);
          }
        }
        this.addEntries(index, row.k, doc);
      }
      after = rows[rows.length - 1]!.k;
    }
  }
}

function sameEntries(index: IndexInfo, prev: Plain, next: Plain): boolean {
  for (const parts of index.paths) {
    if (parts.length !== 1) return false;
    const a = prev[parts[0]!];
    const b = next[parts[0]!];
    if (a !== b && !deepEqual(a, b)) return false;
  }
  return true;
}
