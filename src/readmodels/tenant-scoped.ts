/**
 * Tenant isolation by construction: a collection handle that can only see and
 * write documents of one tenant.
 *
 * - Every filter is ANDed with `{ tenantId }`. When the caller's filter does
 *   not mention `tenantId` at top level it is merged (`{ ...filter, tenantId }`);
 *   when it says exactly `tenantId: <this tenant>` (or `{$eq: <this tenant>}`)
 *   it is kept; otherwise it
 *   becomes `{ $and: [{ tenantId }, filter] }`. A caller-supplied `tenantId` can
 *   only narrow the result (to nothing, if it names another tenant), never
 *   widen or redirect it. An upsert whose filter names another tenant is
 *   rejected (it could only create a document).
 * - Inserted and replacing documents get `tenantId` set to the scope's tenant;
 *   a document that carries a different `tenantId` is rejected.
 * - Updates that would change `tenantId` (`$set`/`$setOnInsert` to another
 *   value, `$unset`, `$rename`, `$inc`, ... or any dotted path below it) are
 *   rejected. Upserts get `$setOnInsert: { tenantId }`.
 * - `drop` is not available: a collection is shared by all tenants.
 */
import type {
  BulkWriteOptions,
  BulkWriteResult,
  Collection,
  Document,
  Filter,
  FindOptions,
  Update,
  UpdateOptions,
  UpdateResult,
  WriteOperation,
} from './port.js';

export const TENANT_FIELD = 'tenantId';

/** A collection handle confined to one tenant. */
export interface TenantCollection<T extends Document = Document> extends Omit<Collection<T>, 'drop'> {
  readonly tenantId: string;
}

export class TenantScopeError extends Error {
  override readonly name = 'TenantScopeError';
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

function touchesTenant(path: string): boolean {
  return path === TENANT_FIELD || path.startsWith(`${TENANT_FIELD}.`);
}

class ScopedCollection<T extends Document> implements TenantCollection<T> {
  constructor(
    private readonly inner: Collection<T>,
    readonly tenantId: string,
  ) {}

  get name(): string {
    return this.inner.name;
  }

  scopeFilter(filter: Filter): Filter {
    if (!isPlainObject(filter)) throw new TenantScopeError('filter must be a plain object');
    if (!Object.prototype.hasOwnProperty.call(filter, TENANT_FIELD)) return { ...filter, [TENANT_FIELD]: this.tenantId };
    // Already scoped to this very tenant by equality: nothing to add (and an
    // upsert must not see two equalities on the same path).
    if (this.isThisTenant(filter[TENANT_FIELD])) return filter;
    return { $and: [{ [TENANT_FIELD]: this.tenantId }, filter] };
  }

  private isThisTenant(condition: unknown): boolean {
    if (condition === this.tenantId) return true;
    return isPlainObject(condition) && Object.keys(condition).length === 1 && condition['$eq'] === this.tenantId;
  }

  /** An upsert must not be able to create a document from a filter that names another tenant. */
  private scopeUpsertFilter(filter: Filter, upsert: boolean): Filter {
    if (upsert && isPlainObject(filter) && Object.prototype.hasOwnProperty.call(filter, TENANT_FIELD)) {
      const given = filter[TENANT_FIELD];
      if (!this.isThisTenant(given))
        throw new TenantScopeError(
          `upsert filter names ${TENANT_FIELD} ${JSON.stringify(given)} outside tenant ${JSON.stringify(this.tenantId)}`,
        );
    }
    return this.scopeFilter(filter);
  }

  private scopeDocument(document: T): T {
    if (!isPlainObject(document)) throw new TenantScopeError('document must be a plain object');
    const given = (document as Record<string, unknown>)[TENANT_FIELD];
    if (given !== undefined && given !== this.tenantId) {
      throw new TenantScopeError(`document belongs to tenant ${JSON.stringify(given)}, not ${JSON.stringify(this.tenantId)}`);
    }
    if (given === this.tenantId) return document; // the store copies it; no need for a second copy here
    return { ...document, [TENANT_FIELD]: this.tenantId };
  }

  private scopeUpdate(update: Update, upsert: boolean): Update {
    if (!isPlainObject(update)) throw new TenantScopeError('update must be a plain object');
    for (const [op, spec] of Object.entries(update)) {
      if (!isPlainObject(spec)) continue; // the store rejects malformed updates
      for (const [path, value] of Object.entries(spec)) {
        if (op === '$rename' && typeof value === 'string' && touchesTenant(value)) {
          throw new TenantScopeError(`update may not rename a field onto ${TENANT_FIELD}`);
        }
        if (!touchesTenant(path)) continue;
        if ((op === '$set' || op === '$setOnInsert') && path === TENANT_FIELD && value === this.tenantId) continue;
        throw new TenantScopeError(`update may not change ${TENANT_FIELD} (${op} ${path})`);
      }
    }
    if (!upsert) return update;
    const set = update['$set'];
    const setOnInsert = update['$setOnInsert'];
    if (isPlainObject(set) && TENANT_FIELD in set) return update;
    if (isPlainObject(setOnInsert) && TENANT_FIELD in setOnInsert) return update;
    return { ...update, $setOnInsert: { ...(isPlainObject(setOnInsert) ? setOnInsert : {}), [TENANT_FIELD]: this.tenantId } };
  }

  private scopeOperation(op: WriteOperation<T>): WriteOperation<T> {
    if ('insertOne' in op) return { insertOne: { document: this.scopeDocument(op.insertOne.document) } };
    if ('replaceOne' in op) {
      const r = op.replaceOne;
      return {
        replaceOne: {
          filter: this.scopeUpsertFilter(r.filter, r.upsert ?? false),
          replacement: this.scopeDocument(r.replacement),
          ...(r.upsert !== undefined ? { upsert: r.upsert } : {}),
        },
      };
    }
    if ('updateOne' in op) {
      const u = op.updateOne;
      return {
        updateOne: {
          filter: this.scopeUpsertFilter(u.filter, u.upsert ?? false),
          update: this.scopeUpdate(u.update, u.upsert ?? false),
          ...(u.upsert !== undefined ? { upsert: u.upsert } : {}),
        },
      };
    }
    if ('updateMany' in op) {
      return { updateMany: { filter: this.scopeFilter(op.updateMany.filter), update: this.scopeUpdate(op.updateMany.update, false) } };
    }
    if ('deleteOne' in op) return { deleteOne: { filter: this.scopeFilter(op.deleteOne.filter) } };
    if ('deleteMany' in op) return { deleteMany: { filter: this.scopeFilter(op.deleteMany.filter) } };
    throw new TenantScopeError(`unknown bulk write operation ${JSON.stringify(Object.keys(op))}`);
  }

  async findOne(filter: Filter, options?: FindOptions): Promise<T | null> {
    return await this.inner.findOne(this.scopeFilter(filter), options);
  }

  async find(filter: Filter, options?: FindOptions): Promise<T[]> {
    return await this.inner.find(this.scopeFilter(filter), options);
  }

  stream(filter: Filter, options?: FindOptions): AsyncIterable<T> {
    const inner = this.inner;
    const scoped = (): Filter => this.scopeFilter(filter);
    return (async function* () {
      yield* inner.stream(scoped(), options);
    })();
  }

  async countDocuments(filter: Filter): Promise<number> {
    return await this.inner.countDocuments(this.scopeFilter(filter));
  }

  async insertOne(document: T): Promise<void> {
    await this.inner.insertOne(this.scopeDocument(document));
  }

  async updateOne(filter: Filter, update: Update, options?: UpdateOptions): Promise<UpdateResult> {
    const upsert = options?.upsert ?? false;
    return await this.inner.updateOne(this.scopeUpsertFilter(filter, upsert), this.scopeUpdate(update, upsert), options);
  }

  async updateMany(filter: Filter, update: Update): Promise<UpdateResult> {
    return await this.inner.updateMany(this.scopeFilter(filter), this.scopeUpdate(update, false));
  }

  async replaceOne(filter: Filter, replacement: T, options?: UpdateOptions): Promise<UpdateResult> {
    return await this.inner.replaceOne(this.scopeUpsertFilter(filter, options?.upsert ?? false), this.scopeDocument(replacement), options);
  }

  async deleteOne(filter: Filter): Promise<number> {
    return await this.inner.deleteOne(this.scopeFilter(filter));
  }

  async deleteMany(filter: Filter): Promise<number> {
    return await this.inner.deleteMany(this.scopeFilter(filter));
  }

  async bulkWrite(operations: readonly WriteOperation<T>[], options?: BulkWriteOptions): Promise<BulkWriteResult> {
    // Scope (and validate) every operation before any of them runs.
    const scoped = operations.map((op) => this.scopeOperation(op));
    return await this.inner.bulkWrite(scoped, options);
  }

  async createIndexes(indexes: Parameters<Collection<T>['createIndexes']>[0]): Promise<void> {
    await this.inner.createIndexes(indexes);
  }
}

/**
 * Wraps `collection` so that every read and write is confined to `tenantId`.
 * Operations reject with TenantScopeError, before touching the store, on any
 * attempt to write another tenant's id.
 */
export function tenantScoped<T extends Document>(collection: Collection<T>, tenantId: string): TenantCollection<T> {
  if (typeof tenantId !== 'string' || tenantId.length === 0) {
    throw new TenantScopeError('tenantScoped requires a non-empty tenant id');
  }
  return new ScopedCollection(collection, tenantId);
}
