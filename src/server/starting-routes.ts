import express from 'express';
import { ErrorCode } from '../shared/errors.js';
import { correlationIdOf } from './request-context.js';
import type { StoreWait } from './store-wait.js';

/**
 * What the gateway answers between binding its port and having its stores
 * open (docs/stores.md, "Start-up while a store is down"): alive (`/healthz` 200),
 * not ready (`/readyz` 503 naming what it waits for), and every other route
 * 503 SERVICE_UNAVAILABLE in GraphQL's error shape, with Retry-After.
 */
export function startingRoutes(wait: StoreWait): express.Express {
  const app = express();
  app.disable('x-powered-by');
  // As once started: every response names its correlation id.
  app.use((req, res, next) => {
    res.setHeader('X-Correlation-Id', correlationIdOf(req));
    next();
  });
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', (_req, res) => {
    res.status(503).json({ status: 'starting', waitingFor: wait.waitingFor() });
  });
  app.use((req, res) => {
    const waitingFor = wait.waitingFor();
    const next = Math.max(0, ...waitingFor.map((w) => w.nextAttemptInMs));
    // Store names only: where they are and why they fail is for /readyz (operators), not for every API client.
    const named = waitingFor.map((w) => w.store).join(', ');
    res
      .status(503)
      .set('Retry-After', String(Math.max(1, Math.ceil(next / 1000))))
      .json({
        errors: [
          {
            message: named ? `tenantry is starting: waiting for ${named}` : 'tenantry is starting',
            extensions: {
              code: ErrorCode.SERVICE_UNAVAILABLE,
              waitingFor: waitingFor.map((w) => w.store),
              correlationId: correlationIdOf(req),
            },
          },
        ],
      });
  });
  return app;
}
