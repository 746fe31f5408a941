import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { expressMiddleware } from '@as-integrations/express5';
import express, { type Request } from 'express';
import { GraphQLError } from 'graphql';
import type { Application } from '../application/application.js';
import { Caller } from '../application/caller.js';
import type { Services } from '../application/services.js';
import type { Authenticator } from '../auth/authenticator.js';
import { DomainError } from '../shared/errors.js';
import { schema } from '../schema/build.js';
import type { GraphQLContext } from '../schema/context.js';
import { formatError } from '../schema/errors.js';
import { Loaders } from '../schema/loaders.js';
import { Metrics } from './metrics.js';

export interface GatewayOptions {
  /** Largest accepted request body. */
  bodyLimit?: string;
}

export interface Gateway {
  server: http.Server;
  metrics: Metrics;
  url(path?: string): string;
  listen(port: number, host: string): Promise<void>;
  /** Stops taking requests, finishes in-flight ones. */
  close(): Promise<void>;
}

function clientIp(req: Request): string | undefined {
  return req.socket.remoteAddress ?? undefined;
}

/** Logs masked errors with their cause and the correlation id the client receives; adds `extensions.position`. */
function observabilityPlugin(app: Application, metrics: Metrics): ApolloServerPlugin<GraphQLContext> {
  return {
    requestDidStart() {
      const started = process.hrtime.bigint();
      return Promise.resolve({
        didEncounterErrors({ errors, contextValue }) {
          for (const error of errors) {
            const original = error.originalError;
            if (original instanceof DomainError || (error.extensions['code'] && !original)) continue;
            app.logger.error({ err: original ?? error, correlationId: contextValue.caller.correlationId }, 'request failed');
          }
          return Promise.resolve();
        },
        willSendResponse({ response, contextValue, operationName, operation }) {
          const type = operation?.operation ?? 'unknown';
          const name = operationName ?? 'anonymous';
          if (response.body.kind === 'single') {
            const result = response.body.singleResult;
            const correlationId = contextValue.caller.correlationId;
            if (result.errors) {
              result.errors = result.errors.map((e) => ({
                ...e,
                extensions: { ...e.extensions, correlationId },
              }));
            }
            if (contextValue.position > 0) {
              result.extensions = { ...result.extensions, position: String(contextValue.position) };
            }
            metrics.requests.inc({ operation: name, type, outcome: result.errors ? 'error' : 'ok' });
          }
          metrics.latency.observe({ operation: name, type }, Number(process.hrtime.bigint() - started) / 1e9);
          return Promise.resolve();
        },
      });
    },
  };
}

export async function createGateway(
  app: Application,
  services: Services,
  authenticator: Authenticator,
  options: GatewayOptions = {},
): Promise<Gateway> {
  const expressApp = express();
  expressApp.disable('x-powered-by');
  const server = http.createServer(expressApp);
  const metrics = new Metrics(app.projections);

  const apollo = new ApolloServer<GraphQLContext>({
    schema: await schema(),
    formatError,
    // Apollo's CSRF prevention refuses simple (form-like) requests without a
    // JSON content type or a preflight-forcing header, so a malicious page in
    // the user's browser cannot trigger mutations with ambient credentials.
    csrfPrevention: true,
    introspection: !app.config.production,
    includeStacktraceInErrorResponses: false,
    plugins: [ApolloServerPluginDrainHttpServer({ httpServer: server }), observabilityPlugin(app, metrics)],
  });
  await apollo.start();

  expressApp.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  expressApp.get('/readyz', async (_req, res) => {
    const checks: Record<string, string> = {};
    let ready = true;
    for (const [name, ping] of [
      ['eventStore', () => app.events.ping()],
      ['readModels', () => app.documents.ping()],
    ] as const) {
      try {
        await ping();
        checks[name] = 'ok';
      } catch (error) {
        ready = false;
        checks[name] = error instanceof Error ? error.message : 'unreachable';
      }
    }
    let projections: unknown = null;
    try {
      const lag = await app.projections.lag();
      projections = lag.map((l) => ({ projection: l.projection, position: l.position, lagEvents: l.lagEvents, error: l.error }));
      if (!lag.every((l) => l.lagEvents === 0 && l.error === null)) ready = false;
    } catch {
      ready = false;
    }
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not ready', checks, projections });
  });

  expressApp.get('/metrics', async (_req, res) => {
    res.set('Content-Type', metrics.registry.contentType);
    res.send(await metrics.registry.metrics());
  });

  const context = async ({ req }: { req: Request }): Promise<GraphQLContext> => {
    const ip = clientIp(req);
    const correlationId = req.header('x-correlation-id')?.slice(0, 128) || randomUUID();
    let principal;
    try {
      principal = await authenticator.authenticate(req.header('authorization'), { ip });
    } catch (error) {
      const message = error instanceof Error ? error.message : 'authentication failed';
      throw new GraphQLError(message, { extensions: { code: 'UNAUTHENTICATED', correlationId, http: { status: 401 } } });
    }
    const pathTenant = typeof req.params['tenant'] === 'string' ? req.params['tenant'] : null;
    let tenantId = pathTenant ?? req.header('x-tenant-id') ?? null;
    if (tenantId === null) {
      const host = (req.header('host') ?? '').replace(/:\d+$/, '');
      if (host) tenantId = (await services.tenants.byDomain(host))?.id ?? null;
    }
    const caller = new Caller(principal, app.authorizer, correlationId, {
      ip,
      userAgent: req.header('user-agent')?.slice(0, 512),
      idempotencyKey: req.header('idempotency-key')?.slice(0, 200),
    });
    return { caller, services, loaders: new Loaders(services), tenantId, position: 0 };
  };

  const graphql = [express.json({ limit: options.bodyLimit ?? '1mb' }), expressMiddleware(apollo, { context })];
  expressApp.use('/api/v1/graphql', ...graphql);
  expressApp.use('/api/v1/:tenant/graphql', ...graphql);

  // Body-parser failures (too large, malformed JSON) answer in GraphQL's error shape, not an HTML page.
  expressApp.use((error: unknown, _req: Request, res: express.Response, next: express.NextFunction) => {
    if (res.headersSent) return next(error);
    const status = typeof (error as { status?: unknown }).status === 'number' ? (error as { status: number }).status : 500;
    const message =
      status === 413 ? 'request body too large' : status < 500 ? 'malformed request body' : 'internal error';
    if (status >= 500) app.logger.error({ err: error }, 'http request failed');
    res.status(status).json({ errors: [{ message, extensions: { code: status < 500 ? 'BAD_USER_INPUT' : 'INTERNAL_SERVER_ERROR' } }] });
  });

  return {
    server,
    metrics,
    url(path = '') {
      const address = server.address() as AddressInfo;
      return `http://127.0.0.1:${address.port}${path}`;
    },
    listen(port, host) {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => resolve());
      });
    },
    async close() {
      await apollo.stop();
      if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
