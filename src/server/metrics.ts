import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { CommandHandler } from '../commands/handler.js';
import type { EventStore } from '../eventstore/port.js';
import type { Projections } from '../projections/runtime/coordinator.js';

/**
 * Prometheus metrics, one registry per gateway so that tests can run several
 * in one process. Rebuild throughput is `rate(tenantry_projection_events_applied_total[1m])`.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'tenantry_graphql_requests_total',
    help: 'GraphQL operations by operation name, type and outcome',
    labelNames: ['operation', 'type', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly latency = new Histogram({
    name: 'tenantry_graphql_request_duration_seconds',
    help: 'GraphQL operation latency',
    labelNames: ['operation', 'type'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  constructor(projections: Projections, commands: CommandHandler, events: EventStore) {
    collectDefaultMetrics({ register: this.registry });

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
  }
}
