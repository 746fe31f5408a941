import { randomUUID } from 'node:crypto';
import type { ChainHeadDocument } from '../projections/audit/audit-entry.js';
import { AUDIT_CHAIN_HEADS } from '../projections/audit/audit.projection.js';
import type { Document } from '../readmodels/port.js';
import { inBackgroundLane } from '../readmodels/lanes.js';
import { tenantScoped, type TenantCollection } from '../readmodels/tenant-scoped.js';
import { Slicer } from '../shared/slices.js';
import type { Application } from './application.js';
import type { AuditService } from './audit.js';
import type { AuditVerification } from './audit-verify.js';
import type { Caller } from './caller.js';
import type { HeavySlot } from './heavy-work.js';

export type AuditJobStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'ERROR' | 'ABANDONED';

/** A job's fields, as stored and as read. */
export interface AuditJobFields {
  tenantId: string;
  status: AuditJobStatus;
  startedAt: string;
  startedBy: string;
  finishedAt: string | null;
  /** Moves every few seconds while the job runs; a RUNNING job whose heartbeat stopped was abandoned (its process died). */
  heartbeatAt: string;
  checkedEntries: number;
  /** Entries in the chain when the job started (the chain head's count). */
  totalEntries: number;
  /** The audit projection's position when the job started: entries up to it are checked. */
  targetPosition: number;
  result: AuditVerification | null;
  error: string | null;
}

export interface AuditJobDocument extends Document, AuditJobFields {}

/** A job as read: its fields and its id (not `Omit<AuditJobDocument, '_id'>`, which would keep only the Document's index signature). */
export interface AuditJobView extends AuditJobFields {
  id: string;
}

export const AUDIT_JOBS = 'audit_verification_jobs';
const HEARTBEAT_MS = 5_000;
/** A heartbeat older than this: the process running the job is gone. */
const ABANDONED_AFTER_MS = 30_000;
const PROGRESS_WRITE_MS = 1_000;
/** Jobs kept per tenant (older ones are deleted when a new one starts). */
const KEEP = 20;

function view(doc: AuditJobDocument, now = Date.now()): AuditJobView {
  const { _id, ...rest } = doc;
  const abandoned = doc.status === 'RUNNING' && now - Date.parse(doc.heartbeatAt) > ABANDONED_AFTER_MS;
  return { id: _id, ...rest, status: abandoned ? 'ABANDONED' : doc.status };
}

/**
 * Full re-verifications of a tenant's audit chain as background jobs: the
 * request that starts one answers at once with the job, which then runs in
 * time slices on this process (never blocking other requests), holding one
 * of the tenant's slots for expensive work, and writes its progress every
 * second. Any replica can read a job's state (it is stored with the read
 * models); only the one that started it runs it.
 */
export class AuditVerificationJobs {
  private readonly running = new Map<string, { id: string; abort: AbortController }>();

  constructor(
    private readonly app: Pick<Application, 'beforeStop' | 'documents' | 'heavy' | 'logger' | 'projections' | 'readModels'>,
    private readonly audit: AuditService,
  ) {
    app.beforeStop(() => this.stopAll());
  }

  private indexed: Promise<void> | null = null;

  private jobs(tenantId: string): TenantCollection<AuditJobDocument> {
    return tenantScoped(this.app.documents.collection<AuditJobDocument>(AUDIT_JOBS), tenantId);
  }

  private async ensureIndexes(): Promise<void> {
    this.indexed ??= this.app.documents
      .collection(AUDIT_JOBS)
      .createIndexes([{ keys: { tenantId: 1, startedAt: -1 }, name: 'tenant_started' }])
      .catch((error: unknown) => {
        this.indexed = null;
        throw error;
      });
    await this.indexed;
  }

  /** Starts a full verification of the tenant's chain, or answers with the one already running here. */
  async start(caller: Caller, tenantId: string): Promise<AuditJobView> {
    await this.audit.requireWholeTrail(caller, tenantId);
    const current = this.running.get(tenantId);
    if (current) {
      const doc = await this.jobs(tenantId).findOne({ _id: current.id });
      if (doc) return view(doc);
    }
    await this.ensureIndexes();
    const slot = this.app.heavy.acquire(tenantId, 'audit verification');
    try {
      const head = await this.app.readModels.forTenant<ChainHeadDocument>(AUDIT_CHAIN_HEADS, tenantId).findOne({
        _id: tenantId,
      });
      const now = new Date().toISOString();
      const doc: AuditJobDocument = {
        _id: randomUUID(),
        tenantId,
        status: 'RUNNING',
        startedAt: now,
        startedBy: caller.actor().id,
        finishedAt: null,
        heartbeatAt: now,
        checkedEntries: 0,
        totalEntries: head?.entries ?? 0,
        targetPosition: this.app.projections.runner('auditLogs').appliedPosition,
        result: null,
        error: null,
      };
      await this.prune(tenantId);
      await this.jobs(tenantId).insertOne(doc);
      const abort = new AbortController();
      this.running.set(tenantId, { id: doc._id, abort });
      // Outlives the request that started it: its reads wait for the store rather than being refused as the request's.
      void inBackgroundLane(() => this.run(tenantId, doc._id, slot, abort.signal));
      return view(doc);
    } catch (error) {
      slot.release();
      throw error;
    }
  }

  async get(caller: Caller, tenantId: string, id: string): Promise<AuditJobView | null> {
    await this.audit.requireWholeTrail(caller, tenantId);
    const doc = await this.jobs(tenantId).findOne({ _id: id });
    return doc ? view(doc) : null;
  }

  /** The tenant's recent jobs, newest first. */
  async list(caller: Caller, tenantId: string): Promise<AuditJobView[]> {
    await this.audit.requireWholeTrail(caller, tenantId);
    const now = Date.now();
    return (await this.jobs(tenantId).find({}, { sort: { startedAt: -1 }, limit: KEEP })).map((d) => view(d, now));
  }

  private async prune(tenantId: string): Promise<void> {
    const old = await this.jobs(tenantId).find({}, { sort: { startedAt: -1 }, skip: KEEP - 1, projection: { _id: 1 } });
    if (old.length > 0) await this.jobs(tenantId).deleteMany({ _id: { $in: old.map((d) => d._id) } });
  }

  private async run(tenantId: string, id: string, slot: HeavySlot, signal: AbortSignal): Promise<void> {
    const jobs = this.jobs(tenantId);
    let checked = 0;
    let written = Date.now();
    const heartbeat = setInterval(() => {
      void jobs.updateOne({ _id: id }, { $set: { heartbeatAt: new Date().toISOString(), checkedEntries: checked } }).catch(() => undefined);
    }, HEARTBEAT_MS);
    heartbeat.unref();
    try {
      const result = await this.audit.verifyNow(tenantId, {
        full: true,
        slicer: new Slicer(signal),
        onProgress: (n) => {
          checked = n;
          if (Date.now() - written < PROGRESS_WRITE_MS) return;
          written = Date.now();
          void jobs.updateOne({ _id: id }, { $set: { checkedEntries: n, heartbeatAt: new Date().toISOString() } }).catch(() => undefined);
        },
      });
      await this.finish(jobs, id, { status: result.ok ? 'SUCCEEDED' : 'FAILED', result, checkedEntries: result.checkedEntries });
    } catch (error) {
      const message = signal.aborted
        ? 'the gateway stopped before the verification finished'
        : error instanceof Error
          ? error.message
          : String(error);
      this.app.logger.warn({ err: error, tenantId, job: id }, 'audit verification job ended without a result');
      await this.finish(jobs, id, { status: 'ERROR', error: message, checkedEntries: checked });
    } finally {
      clearInterval(heartbeat);
      slot.release();
      if (this.running.get(tenantId)?.id === id) this.running.delete(tenantId);
    }
  }

  private async finish(jobs: TenantCollection<AuditJobDocument>, id: string, fields: Partial<AuditJobDocument>): Promise<void> {
    const now = new Date().toISOString();
    await jobs.updateOne({ _id: id }, { $set: { ...fields, finishedAt: now, heartbeatAt: now } }).catch(() => undefined);
  }

  /** Stops every job this process runs (shutdown); each ends as ERROR, saying why. */
  private async stopAll(): Promise<void> {
    const stopping = [...this.running.values()];
    for (const job of stopping) job.abort.abort(new Error('the gateway stopped'));
    for (let waited = 0; this.running.size > 0 && waited < 2_000; waited += 20) await new Promise((r) => setTimeout(r, 20));
  }
}
