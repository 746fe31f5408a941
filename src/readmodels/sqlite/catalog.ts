/**
 * The catalog of the SQLite store: which collections exist, under which
 * table, with which indexes. Collections are tables named by number
 * (`c12`), so a rename only changes the catalog (atomic, and cheap whatever
 * the size). Every change bumps a version that every connection checks
 * before using its cached copy, so processes sharing the file see each
 * other's collections.
 */
import type Database from 'better-sqlite3';
import type { IndexSpec } from '../port.js';
import { uniqueIndex, type UniqueIndex } from '../memory/indexes.js';

export interface IndexInfo {
  spec: IndexSpec;
  /** Position among the collection's indexes: names its tables (`c12_u3`, `c12_i3`). */
  n: number;
  paths: string[][];
  dirs: (1 | -1)[];
  /** The unique keys table, for unique indexes. */
  uniqueTable: string | null;
  unique: UniqueIndex | null;
  /** The ordered entries table (every index with keys, except partial ones). */
  orderedTable: string | null;
  /** Some document held an array in an indexed field: one document may have several entries. */
  multikey: boolean;
}

export interface CollectionInfo {
  name: string;
  id: number;
  table: string;
  indexes: IndexInfo[];
}

export const SCHEMA = `
CREATE TABLE IF NOT EXISTS tenantry_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
INSERT OR IGNORE INTO tenantry_meta (key, value) VALUES ('catalog', 0), ('schema', 1);
CREATE TABLE IF NOT EXISTS tenantry_collections (name TEXT PRIMARY KEY, id INTEGER NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS tenantry_indexes (
  collection INTEGER NOT NULL, name TEXT NOT NULL, n INTEGER NOT NULL, spec TEXT NOT NULL, multikey INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (collection, name)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tenantry_sequence (name TEXT PRIMARY KEY, next INTEGER NOT NULL) WITHOUT ROWID;
INSERT OR IGNORE INTO tenantry_sequence (name, next) VALUES ('collection', 1);
`;

export function columnName(i: number): string {
  return `k${i}`;
}

function indexInfo(table: string, spec: IndexSpec, n: number, multikey: boolean): IndexInfo {
  const fields = Object.keys(spec.keys);
  const ordered = !spec.partialFilterExpression && fields.length > 0;
  return {
    spec,
    n,
    paths: fields.map((f) => f.split('.')),
    dirs: fields.map((f) => (spec.keys[f] === -1 ? -1 : 1)),
    uniqueTable: spec.unique ? `${table}_u${n}` : null,
    unique: spec.unique ? uniqueIndex(spec) : null,
    orderedTable: ordered ? `${table}_i${n}` : null,
    multikey,
  };
}

/** The cached catalog of one connection. */
export class Catalog {
  private version = -1;
  private collections = new Map<string, CollectionInfo>();
  private readonly versionStatement: Database.Statement;

  constructor(private readonly db: Database.Database) {
    this.versionStatement = db.prepare(`SELECT value FROM tenantry_meta WHERE key = 'catalog'`);
  }

  /** Re-reads the catalog if any connection changed it since. Returns whether it did. */
  refresh(): boolean {
    const row = this.versionStatement.get() as { value: number };
    if (row.value === this.version) return false;
    const collections = new Map<string, CollectionInfo>();
    for (const c of this.db.prepare('SELECT name, id FROM tenantry_collections').all() as { name: string; id: number }[]) {
      collections.set(c.name, { name: c.name, id: c.id, table: `c${c.id}`, indexes: [] });
    }
    const byId = new Map([...collections.values()].map((c) => [c.id, c]));
    const rows = this.db.prepare('SELECT collection, n, spec, multikey FROM tenantry_indexes ORDER BY collection, n').all() as {
      collection: number;
      n: number;
      spec: string;
      multikey: number;
    }[];
    for (const row of rows) {
      const info = byId.get(row.collection);
      if (info) info.indexes.push(indexInfo(info.table, JSON.parse(row.spec) as IndexSpec, row.n, row.multikey === 1));
    }
    this.collections = collections;
    this.version = row.value;
    return true;
  }

  /** Forgets the cached copy (after a rollback). */
  invalidate(): void {
    this.version = -1;
  }

  get(name: string): CollectionInfo | undefined {
    return this.collections.get(name);
  }

  names(): string[] {
    return [...this.collections.keys()];
  }

  private bump(): void {
    this.db.prepare(`UPDATE tenantry_meta SET value = value + 1 WHERE key = 'catalog'`).run();
  }

  /** Creates the collection's table (inside a write transaction). */
  create(name: string): CollectionInfo {
    const existing = this.get(name);
    if (existing) return existing;
    const { next } = this.db.prepare(`SELECT next FROM tenantry_sequence WHERE name = 'collection'`).get() as { next: number };
    this.db.prepare(`UPDATE tenantry_sequence SET next = ? WHERE name = 'collection'`).run(next + 1);
    this.db.exec(`CREATE TABLE c${next} (k TEXT PRIMARY KEY, doc TEXT NOT NULL) WITHOUT ROWID`);
    this.db.prepare('INSERT INTO tenantry_collections (name, id) VALUES (?, ?)').run(name, next);
    this.bump();
    this.refresh();
    return this.get(name)!;
  }

  /** Declares an index and creates its (empty) tables; the caller fills them. */
  addIndex(info: CollectionInfo, spec: IndexSpec): IndexInfo {
    const n = info.indexes.reduce((max, i) => Math.max(max, i.n), 0) + 1;
    const index = indexInfo(info.table, spec, n, false);
    if (index.uniqueTable) this.db.exec(`CREATE TABLE ${index.uniqueTable} (key TEXT PRIMARY KEY, id TEXT NOT NULL) WITHOUT ROWID`);
    if (index.orderedTable) {
      const columns = index.paths.map((_, i) => `${columnName(i)} TEXT NOT NULL`).join(', ');
      const key = index.dirs.map((d, i) => `${columnName(i)}${d === -1 ? ' DESC' : ''}`).join(', ');
      this.db.exec(`CREATE TABLE ${index.orderedTable} (${columns}, id TEXT NOT NULL, PRIMARY KEY (${key}, id)) WITHOUT ROWID`);
    }
    this.db
      .prepare('INSERT INTO tenantry_indexes (collection, name, n, spec) VALUES (?, ?, ?, ?)')
      .run(info.id, spec.name, n, JSON.stringify(spec));
    this.bump();
    info.indexes.push(index);
    return index;
  }

  markMultikey(info: CollectionInfo, index: IndexInfo): void {
    this.db.prepare('UPDATE tenantry_indexes SET multikey = 1 WHERE collection = ? AND name = ?').run(info.id, index.spec.name);
    this.bump();
    index.multikey = true;
  }

  drop(name: string): void {
    const info = this.get(name);
    if (!info) return;
    for (const index of info.indexes) {
      if (index.uniqueTable) this.db.exec(`DROP TABLE IF EXISTS ${index.uniqueTable}`);
      if (index.orderedTable) this.db.exec(`DROP TABLE IF EXISTS ${index.orderedTable}`);
    }
    this.db.exec(`DROP TABLE IF EXISTS ${info.table}`);
    this.db.prepare('DELETE FROM tenantry_indexes WHERE collection = ?').run(info.id);
    this.db.prepare('DELETE FROM tenantry_collections WHERE id = ?').run(info.id);
    this.bump();
    this.refresh();
  }

  rename(from: string, to: string): void {
    this.drop(to);
    this.db.prepare('UPDATE tenantry_collections SET name = ? WHERE name = ?').run(to, from);
    this.bump();
    this.refresh();
  }
}
