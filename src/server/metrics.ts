import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { GraphQLSchema } from 'graphql';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { CommandHandler } from '../commands/handler.js';
import type { EventStore } from '../eventstore/port.js';
import type { Projections } from '../projections/runtime/coordinator.js';
import type { AdmissionStats } from '../readmodels/port.js';

/** The event loop is sampled every this many ms (Node's default). */
export const LOOP_DELAY_RESOLUTION_MS = 10;
/** `tenantry_event_loop_delay_*` describe the last full window of this length. */
export const LOOP_DELAY_WINDOW_MS = 10_000;
const LOOP_DELAY_QUANTILES = [0.5, 0.9, 0.99] as const;

export interface LoopDelayWindow {
  /** Seconds by quantile (0.5, 0.9, 0.99). */
  quantiles: Map<number, number>;
  max: number;
  samples: number;
}

/**
 * How late the event loop ran: a timer due every LOOP_DELAY_RESOLUTION_MS
 * records how long each turn really took, so the delay is that minus the
 * resolution (an idle loop is 0, not 10 ms). The histogram starts anew every
 * window; the metrics report the last full one, so that a scrape shows how
 * the loop did in the last seconds rather than since start (before the
 * first window is full: the window so far).
 */
export class LoopDelayMonitor {
  private readonly histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS });
  private readonly timer: NodeJS.Timeout;
  private last: LoopDelayWindow | null = null;

  constructor(windowMs: number) {
    this.histogram.enable();
    this.timer = setInterval(() => this.rotate(), windowMs);
    this.timer.unref();
  }

  /** Closes the current window: it becomes the one reported, and a new one starts. */
  rotate(): void {
    this.last = this.read();
    this.histogram.reset();
  }

  window(): LoopDelayWindow {
    return this.last ?? this.read();
  }

  stop(): void {
    clearInterval(this.timer);
    this.histogram.disable();
  }

  private read(): LoopDelayWindow {
    const delay = (ns: number): number => (this.histogram.count === 0 ? 0 : Math.max(0, ns / 1e6 - LOOP_DELAY_RESOLUTION_MS) / 1000);
    return {
      quantiles: new Map(LOOP_DELAY_QUANTILES.map((q) => [q, delay(this.histogram.percentile(q * 100))])),
      max: delay(this.histogram.max),
      samples: this.histogram.count,
    };
  }
}

/**
 * The `operation` label's values: a metric series per client-chosen name
 * would let any client grow the registry (and every scrape) without bound.
 * Known names are the schema's root fields, as they are (`createFlow`) or
 * capitalised (`CreateFlow`); any other name is `other`, none is `anonymous`,
 * and a request without a principal is always `other`.
 */
export class OperationLabels {
  private readonly known = new Set<string>();

  constructor(schema: GraphQLSchema) {
    for (const type of [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()]) {
      for (const field of Object.keys(type?.getFields() ?? {})) {
        this.known.add(field);
        this.known.add(field.charAt(0).toUpperCase() + field.slice(1));
      }
    }
  }

  label(operationName: string | null | undefined, authenticated: boolean): string {
    if (!authenticated) return 'other';
    if (operationName == null) return 'anonymous';
    return this.known.has(operationName) ? operationName : 'other';
  }
}

/** Upper bounds (seconds) of the request-latency histogram: the usual ladder, cut at the execution timeout, which is the last bucket. */
export function latencyBuckets(executionTimeoutMs: number): number[] {
  const ladder = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];
  if (executionTimeoutMs <= 0) return ladder; // no timeout: the whole ladder
  const timeout = executionTimeoutMs / 1000;
  return [...ladder.filter((b) => b < timeout), timeout];
}

/** Open subscriptions per tenant, as a bounded label: how many tenants have 1, 2-10, 11-100 or more. */
export const SUBSCRIPTION_BUCKETS = ['1', '2-10', '11-100', '101+'] as const;
const subscriptionBucket = (n: number): (typeof SUBSCRIPTION_BUCKETS)[number] =>
  n <= 1 ? '1' : n <= 10 ? '2-10' : n <= 100 ? '11-100' : '101+';

/** The version in package.json (beside `src/` and `dist/` alike). */
export function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** Operation types as labels: a bounded set whatever the request. */
export const operationType = (type: string | undefined): string =>
  type === 'query' || type === 'mutation' || type === 'subscription' ? type : 'unknown';

/**
 * Prometheus metrics, one registry per gateway so that tests can run several
 * in one process. Rebuild throughput is `rate(tenantry_projection_events_applied_total[1m])`.
 * `close()` stops the event-loop monitor (the gateway's close does).
 */
export class Metrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'tenantry_graphql_requests_total',
    help: 'GraphQL operations by operation name, type and outcome',
    labelNames: ['operation', 'type', 'outcome'] as const,
    registers: [this.registry],
  });
  /** Buckets up to the execution timeout (the longest a query may run). */
  readonly latency: Histogram<'operation' | 'type'>;
  /** Subscriptions running now (their streams started), all tenants. */
  readonly subscriptionsOpen = new Gauge({
    name: 'tenantry_subscriptions_open',
    help: 'GraphQL subscriptions running now',
    registers: [this.registry],
  });
  readonly subscriptionMessages = new Counter({
    name: 'tenantry_subscription_messages_sent_total',
    help: 'Messages (results) sent to subscribers',
    registers: [this.registry],
  });
  readonly authenticationFailures = new Counter({
    name: 'tenantry_authentication_failures_total',
    help: 'Requests refused as UNAUTHENTICATED (no token, or a refused one), all transports',
    registers: [this.registry],
  });
  readonly rateLimitRefusals = new Counter({
    name: 'tenantry_rate_limit_refusals_total',
    help: 'Requests refused as RATE_LIMITED, by budget (principal, tenant, address)',
    labelNames: ['scope'] as const,
    registers: [this.registry],
  });
  readonly exports = new Counter({
    name: 'tenantry_audit_exports_total',
    help: 'Audit-log export downloads, by format (ndjson, csv, none when refused before it was known) and outcome (ok, refused, failed)',
    labelNames: ['format', 'outcome'] as const,
    registers: [this.registry],
  });

  private readonly loopDelay: LoopDelayMonitor;
  /** Open subscriptions per tenant (for the bucket gauge); a tenant leaves the map with its last one. */
  private readonly openByTenant = new Map<string, number>();

  constructor(projections: Projections, commands: CommandHandler, events: EventStore, executionTimeoutMs = 10_000) {
    collectDefaultMetrics({ register: this.registry });
    // Gauges named like counters (promtool refuses them); nodejs_active_{handles,requests,resources}{type} say the same per type.
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
      this.registry.removeSingleMetric(name);
    }
    this.latency = new Histogram({
      name: 'tenantry_graphql_request_duration_seconds',
      help: 'GraphQL operation latency',
      labelNames: ['operation', 'type'] as const,
      buckets: latencyBuckets(executionTimeoutMs),
      registers: [this.registry],
    });

    new Gauge({
      name: 'tenantry_build_info',
      help: 'Always 1; the labels say which build runs',
      labelNames: ['version', 'node_version'] as const,
      registers: [this.registry],
    }).set({ version: packageVersion(), node_version: process.version }, 1);

    const openByTenant = this.openByTenant;
    const byTenant = new Gauge({
      name: 'tenantry_subscription_tenants',
      help: 'Tenants by how many subscriptions they have open now (bucket: 1, 2-10, 11-100, 101+)',
      labelNames: ['subscriptions'] as const,
      registers: [this.registry],
      collect() {
        const counts = new Map<string, number>(SUBSCRIPTION_BUCKETS.map((b) => [b, 0]));
        for (const n of openByTenant.values()) {
          const bucket = subscriptionBucket(n);
          counts.set(bucket, (counts.get(bucket) ?? 0) + 1);
        }
        for (const [bucket, tenants] of counts) byTenant.set({ subscriptions: bucket }, tenants);
      },
    });

    const loopDelay = new LoopDelayMonitor(LOOP_DELAY_WINDOW_MS);
    this.loopDelay = loopDelay;
    const windowSeconds = LOOP_DELAY_WINDOW_MS / 1000;
    // One gauge per percentile, named as prom-client names its own (nodejs_eventloop_lag_p50_seconds): a `quantile`
    // label is reserved for summaries, and these are read from a perf_hooks histogram, not observed one by one.
    for (const quantile of LOOP_DELAY_QUANTILES) {
      const percentile = Math.round(quantile * 100);
      const gauge: Gauge = new Gauge({
        name: `tenantry_event_loop_delay_p${percentile}_seconds`,
        help: `Event-loop delay (how late a timer due every ${LOOP_DELAY_RESOLUTION_MS} ms ran), ${percentile}th percentile over the last ${windowSeconds} s window`,
        registers: [this.registry],
        collect() {
          gauge.set(loopDelay.window().quantiles.get(quantile) ?? 0);
        },
      });
    }
    const delayMax = new Gauge({
      name: 'tenantry_event_loop_delay_max_seconds',
      help: `Longest event-loop delay in the last ${windowSeconds} s window`,
      registers: [this.registry],
      collect() {
        delayMax.set(loopDelay.window().max);
      },
    });

    const append = new Histogram({
      name: 'tenantry_event_append_duration_seconds',
      help: 'Event-store append latency, by outcome (ok, conflict, error)',
      labelNames: ['outcome'] as const,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [this.registry],
    });
    commands.appendObserver = (seconds, outcome) => append.observe({ outcome }, seconds);

    const applied = new Counter({
      name: 'tenantry_projection_events_applied_total',
      help: 'Events applied to read models by this process, per projection',
      labelNames: ['projection'] as const,
      registers: [this.registry],
    });
    for (const runner of projections.runners) {
      runner.onApplied((batch) => applied.inc({ projection: runner.projection.name }, batch.length));
    }

    const position = new Gauge({
      name: 'tenantry_projection_position',
      help: 'Last event-store position applied, per projection',
      labelNames: ['projection'] as const,
      registers: [this.registry],
      collect() {
        for (const runner of projections.runners) position.set({ projection: runner.projection.name }, runner.appliedPosition);
      },
    });
    const active = new Gauge({
      name: 'tenantry_projection_active',
      help: '1 when this process applies the projection, 0 when it stands by (another replica holds the lease)',
      labelNames: ['projection'] as const,
      registers: [this.registry],
      collect() {
        for (const runner of projections.runners)
          active.set({ projection: runner.projection.name }, runner.status().role === 'active' ? 1 : 0);
      },
    });
    const lagEvents = new Gauge({
      name: 'tenantry_projection_lag_events',
      help: 'Events in the log not yet applied, per projection',
      labelNames: ['projection'] as const,
      registers: [this.registry],
      async collect() {
        for (const status of await projections.lag()) lagEvents.set({ projection: status.projection }, status.lagEvents);
      },
    });
    const lagSeconds = new Gauge({
      name: 'tenantry_projection_lag_seconds',
      help: 'Age of the oldest event not yet applied, per projection (0 when caught up)',
      labelNames: ['projection'] as const,
      registers: [this.registry],
      async collect() {
        const now = Date.now();
        for (const status of await projections.lag()) {
          let seconds = 0;
          if (status.lagEvents > 0) {
            const [next] = await events.readAll({ after: status.position, maxCount: 1 });
            if (next) seconds = Math.max(0, (now - Date.parse(next.metadata.occurredAt)) / 1000);
          }
          lagSeconds.set({ projection: status.projection }, seconds);
        }
      },
    });
    const stalled = new Gauge({
      name: 'tenantry_projection_stalled_seconds',
      help: 'Seconds a projection has been behind the log without moving, once the watchdog reports it stalled (0 otherwise); the reason is in /readyz and the log',
      labelNames: ['projection'] as const,
      registers: [this.registry],
      collect() {
        for (const runner of projections.runners) {
          const stall = projections.watchdog.stall(runner.projection.name);
          stalled.set({ projection: runner.projection.name }, stall ? stall.seconds : 0);
        }
      },
    });
  }

  /**
   * The read-model store's admission control (MongoDB), when it has one:
   * operations on the wire, waiting by lane, request reads refused.
   */
  watchAdmission(stats: () => AdmissionStats): void {
    const inFlight = new Gauge({
      name: 'tenantry_readmodel_operations_in_flight',
      help: 'Read-model (MongoDB) operations sent and not answered yet; at most TENANTRY_MONGODB_MAX_IN_FLIGHT',
      registers: [this.registry],
      collect() {
        inFlight.set(stats().inFlight);
      },
    });
    const waiting = new Gauge({
      name: 'tenantry_readmodel_operations_waiting',
      help: "Read-model operations waiting for a slot, by lane (background: projections and jobs, never refused; request: clients' reads, bounded by TENANTRY_MONGODB_MAX_QUEUED_READS)",
      labelNames: ['lane'] as const,
      registers: [this.registry],
      collect() {
        const now = stats();
        waiting.set({ lane: 'background' }, now.waitingBackground);
        waiting.set({ lane: 'request' }, now.waitingRequests);
      },
    });
    let counted = 0;
    const refused: Counter = new Counter({
      name: 'tenantry_readmodel_reads_refused_total',
      help: 'Request reads refused as overloaded (SERVICE_UNAVAILABLE with retryAfterSeconds) because the read-model queue was full',
      registers: [this.registry],
      collect() {
        const total = stats().refused;
        if (total > counted) refused.inc(total - counted);
        counted = total;
      },
    });
  }

  /** A subscription of this tenant (`_instance` on the instance endpoint) started streaming. */
  subscriptionOpened(tenant: string): void {
    this.subscriptionsOpen.inc();
    this.openByTenant.set(tenant, (this.openByTenant.get(tenant) ?? 0) + 1);
  }

  /** One that had started ended (completed, stopped by the client, or its socket closed). */
  subscriptionClosed(tenant: string): void {
    this.subscriptionsOpen.dec();
    const left = (this.openByTenant.get(tenant) ?? 1) - 1;
    if (left > 0) this.openByTenant.set(tenant, left);
    else this.openByTenant.delete(tenant);
  }

  /** Stops sampling the event loop. */
  close(): void {
    this.loopDelay.stop();
  }
}
