import {
  currentVersion,
  secretDecider,
  validatePutSecret,
  validateSecretAddress,
  validateSecretValue,
  type SecretState,
  type Tag,
} from '../aggregates/secret/secret.js';
import { tenantDecider } from '../aggregates/tenant/tenant.js';
import type { CommandMetadata } from '../aggregates/decider.js';
import { streamName } from '../eventstore/port.js';
import { NAMESPACES, type NamespaceDocument } from '../projections/namespaces/namespaces.projection.js';
import { docId } from '../projections/runtime/projection.js';
import { SECRETS, secretDocId, type SecretDocument } from '../projections/secrets/secrets.projection.js';
import type { TenantCollection } from '../readmodels/tenant-scoped.js';
import { badInput, conflict, DomainError, ErrorCode, forbidden, tenantNotFound } from '../shared/errors.js';
import { KeyedSerial } from '../shared/keyed-serial.js';
import { Slicer } from '../shared/slices.js';
import type { StoredKey } from '../secrets/vault.js';
import { namespaceLineage, validateId } from '../shared/ids.js';
import type { Application } from './application.js';
import type { Caller } from './caller.js';
import { tenantStream, type TenantService } from './tenants.js';

export interface SecretView extends Pick<
  SecretDocument,
  'tenantId' | 'namespace' | 'key' | 'description' | 'tags' | 'version' | 'revision' | 'createdAt' | 'updatedAt'
> {
  /** false once the value was crypto-shredded (the tenant was deleted, then restored). */
  valueAvailable: boolean;
  /** The namespace the secret is inherited from, when listed for a namespace below it; null for its own namespace. */
  inheritedFrom: string | null;
}

export interface PutSecretInput {
  namespace: string;
  key: string;
  value: string;
  /** Omitted: keep the current description; null: clear it. */
  description?: string | null | undefined;
  /** Omitted: keep the current tags; null or []: clear them. */
  tags?: readonly Tag[] | null | undefined;
}

export const secretStream = (tenantId: string, namespace: string, key: string): string => streamName(tenantId, 'secret', namespace, key);

/** Attempts of a put racing other puts of the same secret, and versions it may skip past (taken by such racers). */
const MAX_PUT_ATTEMPTS = 5;
const MAX_VERSION_SKIPS = 10;

export class SecretService {
  /** Per secret stream, this process's puts: one at a time. */
  private readonly puts = new KeyedSerial();

  constructor(
    private readonly app: Pick<
      Application,
      'beforeStop' | 'commands' | 'config' | 'execute' | 'logger' | 'projections' | 'readModels' | 'settle' | 'vault'
    >,
    private readonly tenants: TenantService,
  ) {}

  collection(tenantId: string): TenantCollection<SecretDocument> {
    return this.app.readModels.forTenant<SecretDocument>(SECRETS, tenantId);
  }

  /**
   * Metadata of the secrets of `namespace` and, with `includeInherited`, of
   * its ancestors (nearest wins on equal keys). Only secrets in namespaces the
   * caller may list (SECRET:LIST) appear, inherited ones included.
   */
  async list(caller: Caller, tenantId: string, namespace: string, includeInherited: boolean): Promise<SecretView[]> {
    const access = await this.tenants.enter(caller, tenantId);
    validateId('namespace', 'namespace', namespace);
    const lineage = includeInherited ? namespaceLineage(namespace) : [namespace];
    const visible = lineage.filter((ns) => access.can('SECRET', 'LIST', ns));
    if (visible.length === 0) return [];
    const docs = await this.collection(tenantId).find({ namespace: { $in: visible } }, { sort: { key: 1 } });
    // Root to leaf, so that a nearer namespace overwrites a farther one.
    const depth = (ns: string) => ns.split('.').length;
    const nearest = new Map<string, SecretDocument>();
    for (const doc of [...docs].sort((a, b) => depth(a.namespace) - depth(b.namespace))) nearest.set(doc.key, doc);
    const chosen = [...nearest.values()].sort((a, b) => a.key.localeCompare(b.key));
    const available = await this.app.vault.available(tenantId, chosen);
    return chosen.map((doc, i) => toView(doc, available[i] ?? false, doc.namespace === namespace ? null : doc.namespace));
  }

  /**
   * Stores the value in the vault under a new version, then appends the
   * SecretPut event naming that version. The vault comes first: if the append
   * then fails, the ciphertext left behind is of a version no event names, so
   * nothing can ever read it, and the next successful put of the key prunes it.
   *
   * Versions are claimed in the vault insert-only: two racing puts can never
   * store their values under one version, and the one whose append loses
   * retries with the version it already holds (or a higher one).
   */
  /**
   * expectedRevision, when given, is the secret stream's revision the client
   * read (0: the key was never used); a stale one is CONFLICT before any
   * value reaches the vault.
   */
  async put(
    caller: Caller,
    tenantId: string,
    input: PutSecretInput,
    expectedRevision?: number | null,
  ): Promise<{ secret: SecretView; position: number }> {
    const access = await this.tenants.enter(caller, tenantId);
    const { namespace, key, ...settings } = validatePutSecret(input);
    const value = validateSecretValue(input.value);
    const stream = secretStream(tenantId, namespace, key);
    // Rights first: whether a namespace exists is not told to someone who may not write there.
    if (!access.can('SECRET', 'CREATE', namespace) && !access.can('SECRET', 'UPDATE', namespace)) {
      const { state } = await this.app.commands.load(secretDecider, stream);
      throw forbidden(state.status === 'active' ? 'SECRET:UPDATE' : 'SECRET:CREATE');
    }
    await this.requireNamespaceAllowed(tenantId, namespace);
    const metadata = caller.commandMetadata(tenantId);
    // One put of a secret at a time in this process: racing puts of one
    // process would each claim a version and then all but one lose the
    // append, over and over (a spurious CONFLICT once out of attempts). Only
    // another process's write can now come in between; the loop retries that.
    // Read-your-writes, pruning and the answer happen after the queue.
    const result = await this.puts.run(stream, async () => {
      let claimed: number | null = null;
      for (let attempt = 1; ; attempt++) {
        const { state, revision } = await this.app.commands.load(secretDecider, stream);
        // A retried request (same Idempotency-Key) finds its event already there: the handler answers as the first time did.
        const replayed = (await this.app.commands.findCommand(stream, metadata)).length > 0;
        if (!replayed) access.require('SECRET', state.status === 'active' ? 'UPDATE' : 'CREATE', namespace);
        if (!replayed && expectedRevision != null && expectedRevision !== revision) {
          throw conflict(`${stream} is at revision ${revision}, not ${expectedRevision}`, revision);
        }
        if (!replayed && (claimed === null || claimed <= currentVersion(state))) {
          claimed = await this.claimVersion(tenantId, namespace, key, currentVersion(state) + 1, value);
          await this.requireStillActive(tenantId);
        }
        try {
          return await this.app.commands.handle(
            secretDecider,
            stream,
            { type: 'PutSecret', data: { namespace, key, version: claimed ?? 0, ...settings }, metadata },
            { expectedRevision: revision },
          );
        } catch (error) {
          const raced = error instanceof DomainError && error.code === ErrorCode.CONFLICT;
          if (!raced || attempt >= MAX_PUT_ATTEMPTS) throw error;
        }
      }
    });
    await this.app.settle(result, stream);
    if (result.state.status === 'active') {
      await this.pruneOldVersions(tenantId, namespace, key, result.state.version - 1);
      this.app.logger.debug({ tenantId, namespace, key, version: result.state.version, position: result.position }, 'secret put');
    }
    return { secret: await this.fromState(tenantId, result.state, result.revision), position: result.position };
  }

  /**
   * Drops the stored values a committed event no longer refers to. It runs
   * after the event is in the log, so its failure (a full disk) must not turn
   * a write that happened into an error: it is logged, and the values stay
   * until the next put of the key prunes every older version (or the
   * tenant's deletion shreds its key); no read can reach them meanwhile.
   */
  private async pruneOldVersions(tenantId: string, namespace: string, key: string, throughVersion: number): Promise<void> {
    try {
      await this.app.vault.delete(tenantId, namespace, key, throughVersion);
    } catch (error) {
      this.app.logger.error(
        { err: error, tenantId, namespace, key, throughVersion },
        'the secret was written, but older stored values could not be removed yet; the vault sweep removes them (at start and every TENANTRY_VAULT_SWEEP_INTERVAL_MS)',
      );
    }
  }

  async delete(
    caller: Caller,
    tenantId: string,
    namespace: string,
    key: string,
    expectedRevision?: number | null,
  ): Promise<{ position: number }> {
    const access = await this.tenants.enter(caller, tenantId);
    const address = validateSecretAddress(namespace, key);
    access.require('SECRET', 'DELETE', address.namespace);
    const metadata = caller.commandMetadata(tenantId);
    const position = await this.deleteOne(tenantId, address.namespace, address.key, metadata, true, expectedRevision);
    return { position };
  }

  /** deleteNamespace(force: true): every secret of the namespace, each by its own SecretDeleted. */
  async deleteAllIn(caller: Caller, tenantId: string, namespace: string): Promise<number> {
    const access = await this.tenants.enter(caller, tenantId);
    access.require('SECRET', 'DELETE', namespace);
    const secrets = await this.collection(tenantId).find({ namespace }, { projection: { key: 1 }, sort: { key: 1 } });
    let position = 0;
    for (const secret of secrets) {
      // One read-your-writes wait at the end covers them all.
      const written = await this.deleteOne(tenantId, namespace, secret.key, caller.commandMetadata(tenantId), false);
      position = Math.max(position, written);
    }
    if (position > 0) await this.app.projections.waitFor(position, this.app.config.readYourWritesTimeoutMs);
    return position;
  }

  /**
   * The startup half of crypto-shredding. TenantService destroys a tenant's
   * data key right after appending TenantDeleted, and again before appending
   * TenantRestored; this sweep covers a process that stopped between the
   * append and the destroy. It starts from the vault (the few tenants that
   * hold a key) and asks each tenant's own stream whether it is deleted, so
   * it needs no caught-up projection and costs one short stream read per
   * keyed tenant. Idempotent. Returns the tenants whose key it destroyed.
   */
  async shredDeletedTenants(): Promise<string[]> {
    const shredded: string[] = [];
    for (const tenantId of await this.app.vault.keyedTenants()) {
      const { state } = await this.app.commands.load(tenantDecider, tenantStream(tenantId));
      if (state.status !== 'deleted') continue;
      await this.app.vault.destroyTenantKey(tenantId);
      shredded.push(tenantId);
    }
    if (shredded.length > 0) this.app.logger.info({ tenants: shredded }, 'destroyed the data keys of deleted tenants');
    return shredded;
  }

  /**
   * Removes stored values that no event refers to any more: versions older
   * than a secret's current one, and every version of a deleted secret up to
   * the one its deletion covered. They are left behind when the removal after
   * a committed event fails (a full disk: the write is answered OK, the
   * removal is only logged). Each secret's own stream decides (the truth,
   * never behind a projection). Versions above the stream's are not touched:
   * a put may have stored its value and not yet appended its event; the next
   * put of the key removes them if it never does. Runs at start and every
   * TENANTRY_VAULT_SWEEP_INTERVAL_MS, in time slices; returns the secrets it
   * cleaned. Costs one stream read per secret with stored values.
   */
  async sweepOrphans(options: { pageSize?: number; signal?: AbortSignal } = {}): Promise<number> {
    const pageSize = options.pageSize ?? 500;
    const slicer = new Slicer();
    let cleaned = 0;
    let after: StoredKey | null = null;
    for (;;) {
      const page = await this.app.vault.storedKeys(after, pageSize);
      if (page.length === 0) break;
      for (const stored of page) {
        if (options.signal?.aborted) return cleaned;
        const { state } = await this.app.commands.load(secretDecider, secretStream(stored.tenantId, stored.namespace, stored.key));
        const through = state.status === 'deleted' ? state.version : state.status === 'active' ? state.version - 1 : 0;
        if (stored.minVersion <= through) {
          await this.app.vault.delete(stored.tenantId, stored.namespace, stored.key, through);
          cleaned++;
        }
        await slicer.tick();
      }
      after = page.at(-1) ?? null;
    }
    if (cleaned > 0) this.app.logger.info({ secrets: cleaned }, 'removed stored secret values no event refers to any more');
    return cleaned;
  }

  private sweeping: Promise<unknown> | null = null;
  private sweepTimer: NodeJS.Timeout | null = null;

  /** sweepOrphans now, in the background, and every `intervalMs` (0: only now); stopped with the application. */
  startSweeps(intervalMs = this.app.config.vaultSweepIntervalMs): void {
    if (this.sweepTimer || this.sweeping) return;
    const abort = new AbortController();
    const sweep = (): void => {
      this.sweeping ??= this.sweepOrphans({ signal: abort.signal })
        .catch((error: unknown) => this.app.logger.warn({ err: error }, 'the sweep of stored secret values failed; it runs again later'))
        .finally(() => (this.sweeping = null));
    };
    sweep();
    if (intervalMs > 0) {
      this.sweepTimer = setInterval(sweep, intervalMs);
      this.sweepTimer.unref();
    }
    this.app.beforeStop(async () => {
      abort.abort();
      if (this.sweepTimer) clearInterval(this.sweepTimer);
      this.sweepTimer = null;
      await this.sweeping;
    });
  }

  private async deleteOne(
    tenantId: string,
    namespace: string,
    key: string,
    metadata: CommandMetadata,
    waitForProjections: boolean,
    expectedRevision?: number | null,
  ): Promise<number> {
    const command = { type: 'DeleteSecret' as const, data: { namespace, key }, metadata };
    const stream = secretStream(tenantId, namespace, key);
    const result = waitForProjections
      ? await this.app.execute(secretDecider, stream, command, { expectedRevision })
      : await this.app.commands.handle(secretDecider, stream, command);
    // Only versions the event covers: a put racing this delete keeps the higher version it claimed.
    if (result.state.status !== 'absent') await this.pruneOldVersions(tenantId, namespace, key, result.state.version);
    this.app.logger.debug({ tenantId, namespace, key, position: result.position }, 'secret deleted');
    return result.position;
  }

  /** Stores the value under the first free version from `from` on. */
  private async claimVersion(tenantId: string, namespace: string, key: string, from: number, value: string): Promise<number> {
    for (let version = from; version < from + MAX_VERSION_SKIPS; version++) {
      if (await this.app.vault.put(tenantId, namespace, key, version, value)) return version;
    }
    throw conflict(`secret ${namespace}/${key} is being changed concurrently; retry`);
  }

  /**
   * Closes the race with a concurrent deleteTenant, which destroys the data
   * key after appending TenantDeleted. Asked of the tenant's own stream (the
   * truth, never behind): a put that still finds the tenant active after its
   * vault write used a key that delete will destroy; one that finds it
   * deleted destroys the key it may have just created, and fails.
   */
  private async requireStillActive(tenantId: string): Promise<void> {
    const { state } = await this.app.commands.load(tenantDecider, tenantStream(tenantId));
    if (state.status === 'active') return;
    await this.app.vault.destroyTenantKey(tenantId);
    throw tenantNotFound(tenantId);
  }

  /** Tenant setting `requireExistingNamespace` applies to secrets as it does to flows. */
  private async requireNamespaceAllowed(tenantId: string, namespace: string): Promise<void> {
    const tenant = await this.tenants.requireActive(tenantId);
    if (!tenant.requireExistingNamespace) return;
    const namespaces = this.app.readModels.forTenant<NamespaceDocument>(NAMESPACES, tenantId);
    const doc = await namespaces.findOne({ _id: docId(tenantId, namespace) });
    if (!doc?.existing) {
      throw badInput('namespace', `namespace ${namespace} does not exist, and this tenant requires secrets to be in existing namespaces`);
    }
  }

  /** A mutation's answer comes from the aggregate state; timestamps from the read model, which the put waited for. */
  private async fromState(tenantId: string, state: SecretState, revision: number): Promise<SecretView> {
    if (state.status !== 'active') throw new Error('a put leaves the secret active');
    const doc = await this.collection(tenantId).findOne({ _id: secretDocId(tenantId, state.namespace, state.key) });
    const [available] = await this.app.vault.available(tenantId, [state]);
    const now = new Date().toISOString();
    return {
      tenantId,
      namespace: state.namespace,
      key: state.key,
      description: state.description,
      tags: state.tags,
      version: state.version,
      revision,
      createdAt: doc?.createdAt ?? now,
      updatedAt: doc?.version === state.version ? doc.updatedAt : now,
      valueAvailable: available ?? false,
      inheritedFrom: null,
    };
  }
}

function toView(doc: SecretDocument, valueAvailable: boolean, inheritedFrom: string | null): SecretView {
  return {
    tenantId: doc.tenantId,
    namespace: doc.namespace,
    key: doc.key,
    description: doc.description,
    tags: doc.tags,
    version: doc.version,
    revision: doc.revision,
    createdAt: doc.createdAt,
    updatedAt: doc.updatedAt,
    valueAvailable,
    inheritedFrom,
  };
}
