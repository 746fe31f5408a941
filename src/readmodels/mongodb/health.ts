/**
 * Health of the server as one store sees it: every data operation bounded by
 * the operation timeout, and a circuit breaker that fails fast while the
 * server is down and pings it until it answers again.
 */
import type { Db } from 'mongodb';
import { DocumentStoreUnavailableError } from '../port.js';

/** An operation that got no answer within the gateway's operation timeout: the server may be down, or only slow. */
export class MongoOperationTimeoutError extends DocumentStoreUnavailableError {}

export class MongoHealth {
  constructor(
    private readonly db: Db,
    readonly operationTimeoutMS: number,
  ) {}

  /**
   * `operation`, or a DocumentStoreUnavailableError once operationTimeoutMS
   * has passed without an answer. The driver bounds server selection, but an
   * operation can still wait without end inside it (an operation on a
   * connection the server's restart left behind was seen to); a projection
   * that awaits it would stand still, reporting nothing, for good.
   */
  async bounded<R>(operation: Promise<R>): Promise<R> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(
        () => reject(new MongoOperationTimeoutError(`MongoDB did not answer within ${this.operationTimeoutMS} ms`)),
        this.operationTimeoutMS,
      );
      timer.unref();
    });
    try {
      return await Promise.race([operation, deadline]);
    } finally {
      clearTimeout(timer);
      // An abandoned operation that fails later must not surface as an unhandled rejection.
      operation.catch(() => undefined);
    }
  }

  /**
   * A circuit breaker: after an outage error every operation fails at once
   * (instead of each waiting out server selection) until a background ping
   * succeeds. Callers that can do without the read models (the write path
   * falls back to the log) then answer in milliseconds, not seconds.
   */
  private down = false;
  private probe: NodeJS.Timeout | null = null;
  /** How long one probe ping may take before the next one is sent regardless. */
  private static readonly PROBE_TIMEOUT_MS = 2_000;

  /**
   * What an unavailable-error says about the server. A refused connection, a
   * cleared pool, a failed server selection: it is down, fail fast. One slow
   * operation is not an outage: the server may be alive and busy (catching
   * up after a restart, every projection writing at once). Tripping the
   * breaker then made every projection fail and back off together, retry
   * together, overload it again, and never catch up under load. So a
   * timeout only asks a ping, and the breaker opens if the ping fails too.
   */
  outage(error: DocumentStoreUnavailableError): void {
    if (!(error instanceof MongoOperationTimeoutError)) return this.markDown();
    if (this.down || this.suspecting) return;
    this.suspecting = true;
    // Bounded by our own timer as well: a ping on a connection that gets no answer may outlive the driver's timeoutMS.
    let timer: NodeJS.Timeout | undefined;
    const unanswered = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error('no answer to the ping')), MongoHealth.PROBE_TIMEOUT_MS);
      timer.unref();
    });
    Promise.race([this.db.command({ ping: 1 }, { timeoutMS: MongoHealth.PROBE_TIMEOUT_MS }), unanswered])
      .then(
        () => undefined,
        () => this.markDown(),
      )
      .finally(() => clearTimeout(timer))
      .finally(() => (this.suspecting = false));
  }

  private suspecting = false;

  failFast(): void {
    if (this.down) throw new DocumentStoreUnavailableError('MongoDB unavailable (failing fast until it answers a ping again)');
  }

  markDown(): void {
    if (this.down) return;
    this.down = true;
    // A ping that never answers must not end the probing: each one is bounded
    // (the driver's timeoutMS), and one that outlives even that is given up on.
    let probingSince = 0;
    this.probe = setInterval(() => {
      if (probingSince !== 0 && Date.now() - probingSince < 2 * MongoHealth.PROBE_TIMEOUT_MS) return;
      const started = Date.now();
      probingSince = started;
      this.db
        .command({ ping: 1 }, { timeoutMS: MongoHealth.PROBE_TIMEOUT_MS })
        .then(() => this.markUp())
        .catch(() => undefined)
        .finally(() => {
          if (probingSince === started) probingSince = 0;
        });
    }, 500);
    this.probe.unref();
  }

  markUp(): void {
    this.down = false;
    if (this.probe) clearInterval(this.probe);
    this.probe = null;
  }
}
