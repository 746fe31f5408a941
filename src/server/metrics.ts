import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Projections } from '../projections/runtime/coordinator.js';

/** Prometheus metrics, one registry per server so that tests can run several in one process. */
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

  constructor(projections: Projections) {
    collectDefaultMetrics({ register: this.registry });
    const position = new Gauge({
      name: 'tenantry_projection_position',
      help: 'Last event-store position applied, per projection',
      labelNames: ['projection'] as const,
      registers: [this.registry],
      collect() {
        for (const runner of projections.runners) position.set({ projection: runner.projection.name }, runner.appliedPosition);
      },
    });
    const lag = new Gauge({
      name: 'tenantry_projection_lag_events',
      help: 'Events in the log not yet applied, per projection',
      labelNames: ['projection'] as const,
      registers: [this.registry],
      async collect() {
        for (const status of await projections.lag()) lag.set({ projection: status.projection }, status.lagEvents);
      },
    });
  }
}
