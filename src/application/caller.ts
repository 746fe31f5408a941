import { randomUUID } from 'node:crypto';
import { v5 as uuidv5 } from 'uuid';
import type { CommandMetadata } from '../aggregates/decider.js';
import type { Access, Authorizer } from '../auth/authorizer.js';
import type { Principal } from '../auth/principal.js';
import type { Actor } from '../eventstore/port.js';
import { unauthenticated } from '../shared/errors.js';
import { noDeadline, Slicer } from '../shared/slices.js';

const IDEMPOTENCY_NAMESPACE = '0b6f2f4e-1f43-4c43-a2b1-8f3e6f1d9c27';

/**
 * Who is asking, independent of the transport: GraphQL requests and CLI
 * commands both become a Caller. Access is computed once per tenant per
 * caller (a caller lives for one request).
 */
export class Caller {
  private readonly accessByTenant = new Map<string, Promise<Access>>();
  /** The same rights once computed, for resolvers that can then answer without a promise. */
  private readonly knownAccessByTenant = new Map<string, Access>();
  private sequence = 0;
  /**
   * The request's deadline: the execution timeout aborts it. Long work on
   * behalf of this caller runs through `slicer()`, which yields to the event
   * loop between slices and stops once the deadline has passed.
   */
  signal: AbortSignal = noDeadline();

  constructor(
    readonly principal: Principal | null,
    private readonly authorizer: Authorizer,
    readonly correlationId: string = randomUUID(),
    readonly client: {
      ip?: string | undefined;
      userAgent?: string | undefined;
      idempotencyKey?: string | undefined;
      /** The request's fingerprint: a retry is recognised only when it is the same request. */
      requestFingerprint?: string | undefined;
    } = {},
  ) {}

  authenticated(): Principal {
    if (!this.principal) throw unauthenticated();
    return this.principal;
  }

  actor(): Actor {
    const principal = this.authenticated();
    return { type: principal.type, id: principal.id };
  }

  access(tenantId: string): Promise<Access> {
    const principal = this.authenticated();
    let access = this.accessByTenant.get(tenantId);
    if (!access) {
      const computing = this.authorizer.access(principal, tenantId);
      access = computing;
      this.accessByTenant.set(tenantId, computing);
      computing.then(
        (known) => {
          // Unless invalidated meanwhile.
          if (this.accessByTenant.get(tenantId) === computing) this.knownAccessByTenant.set(tenantId, known);
        },
        () => undefined, // the caller of access() sees the failure
      );
    }
    return access;
  }

  /**
   * The rights `access(tenantId)` has already computed for this caller, or
   * undefined when they are not known yet: a field resolved many times in one
   * response (a flow's namespace, for each flow of a page) can then answer
   * synchronously instead of creating promises per item.
   */
  knownAccess(tenantId: string): Access | undefined {
    return this.knownAccessByTenant.get(tenantId);
  }

  /** A fresh time slicer bound to this caller's deadline. */
  slicer(budgetMs?: number): Slicer {
    return new Slicer(this.signal, budgetMs);
  }

  /** Forget cached rights (after this caller changed bindings). */
  invalidateAccess(): void {
    this.accessByTenant.clear();
    this.knownAccessByTenant.clear();
  }

  /**
   * With an Idempotency-Key the n-th command of a request gets the same id on
   * every retry of that request, so the command handler recognises the retry.
   * A request whose number of commands depends on what is left to do (a
   * deletion that first revokes, unbinds and leaves, only what still exists)
   * names its final command by `step` instead (unique within the request,
   * e.g. naming the stream): its id is the same on a retry that found
   * nothing left to cascade, so the retry can find it.
   */
  commandMetadata(tenantId: string, options: { step?: string } = {}): CommandMetadata {
    const which = options.step === undefined ? String(this.sequence++) : `step:${options.step}`;
    const key = this.client.idempotencyKey;
    const principal = this.authenticated();
    const request = this.client.requestFingerprint ?? '';
    const commandId = key
      ? uuidv5(`${principal.type}:${principal.id}:${tenantId}:${key}:${request}:${which}`, IDEMPOTENCY_NAMESPACE)
      : randomUUID();
    const now = new Date();
    return {
      commandId,
      tenantId,
      actor: this.actor(),
      now: now.toISOString(),
      correlationId: this.correlationId,
      ip: this.client.ip,
      userAgent: this.client.userAgent,
      // A random id cannot have been handled before: the handler need not look for an earlier attempt.
      ...(key ? {} : { fresh: true }),
    };
  }

  /**
   * A deletion's own command, after its cascade: named by its stream, so a
   * retry whose cascade found nothing left still finds it. Asked for again
   * when appended, so that its time follows the cascade's events.
   */
  deletionMetadata(tenantId: string, stream: string): CommandMetadata {
    return this.commandMetadata(tenantId, { step: `delete ${stream}` });
  }
}
