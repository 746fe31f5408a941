import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer, HeaderMap, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { expressMiddleware } from '@as-integrations/express5';
import express, { type Request } from 'express';
import { GraphQLError, type GraphQLSchema } from 'graphql';
import type { Application } from '../application/application.js';
import type { Services } from '../application/services.js';
import type { Authenticator } from '../auth/authenticator.js';
import type { Config } from '../config/config.js';
import { inRequestLane, setRequestTenant } from '../readmodels/lanes.js';
import { DomainError, ErrorCode } from '../shared/errors.js';
import { schema, schemaV2 } from '../schema/build.js';
import type { GraphQLContext } from '../schema/context.js';
import { isClientRequestError } from '../schema/errors.js';
import { Loaders } from '../schema/loaders.js';
import { auditExportRouter } from './audit-export.route.js';
import { mountCors } from './cors.js';
import { legacyJsonStatusPlugin } from './graphql-over-http.js';
import { schemaRouter } from './schema.route.js';
import { hardening } from './hardening.js';
import { IdempotencyKeys, requestFingerprint } from './idempotency.js';
import { AuthFailureLimiter } from './rate-limit.js';
import { mountUi } from './ui.js';
import { Metrics, OperationLabels, operationType, packageVersion } from './metrics.js';
import { inCorrelationScope } from './correlation.js';
import { correlationIdOf, requestInfo, RequestResolver, type ResolvedRequest } from './request-context.js';
import { SessionWatch } from './session-watch.js';
import { attachSubscriptions } from './subscriptions.js';
import { startTracing } from './tracing.js';

export interface GatewayOptions {
  /** Largest accepted request body. */
  bodyLimit?: string;
  /** A server bound already (made by createHttpServer): the gateway takes over its requests. */
  server?: http.Server;
}

/** The HTTP server, with its slow-loris limits (docs/api.md, "Limits and hardening"); `handler` can be replaced later. */
export function createHttpServer(limits: Config['limits'], handler: http.RequestListener): http.Server {
  const { headersTimeoutMs, requestTimeoutMs } = limits;
  return http.createServer(
    {
      // Slow-loris: headers and bodies that trickle in are cut off. Node checks every interval.
      headersTimeout: headersTimeoutMs,
      requestTimeout: requestTimeoutMs,
      connectionsCheckingInterval: Math.min(1000, headersTimeoutMs),
    },
    handler,
  );
}

export interface Gateway {
  server: http.Server;
  metrics: Metrics;
  url(path?: string): string;
  listen(port: number, host: string): Promise<void>;
  /** Stops taking requests, finishes in-flight ones. */
  close(): Promise<void>;
}

/** Logs masked errors with their cause and the correlation id the client receives; adds `extensions.position`. */
function observabilityPlugin(app: Application, metrics: Metrics, labels: OperationLabels): ApolloServerPlugin<GraphQLContext> {
  return {
    requestDidStart() {
      const started = process.hrtime.bigint();
      return Promise.resolve({
        didEncounterErrors({ errors, contextValue }) {
          for (const error of errors) {
            const original = error.originalError;
            if (original instanceof DomainError || (error.extensions['code'] && !original)) continue;
            // The client's own mistake, not a server failure; its message and cause may quote the input (a secret value).
            if (isClientRequestError(error.extensions['code'])) continue;
            app.logger.error({ err: original ?? error, correlationId: contextValue.caller.correlationId }, 'request failed');
          }
          return Promise.resolve();
        },
        willSendResponse({ response, contextValue, operationName, operation }) {
          const type = operationType(operation?.operation);
          const name = operationName ?? 'anonymous';
          // Metric labels from a bounded set only (the log line keeps the name as sent).
          const label = labels.label(operationName, contextValue.caller.principal != null);
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
            // An overloaded store's refusal says when to come back; HTTP clients and proxies read the header.
            const retryAfter = Math.max(0, ...(result.errors ?? []).map((e) => Number(e.extensions?.['retryAfterSeconds'] ?? 0)));
            if (retryAfter > 0) {
              response.http.headers.set('retry-after', String(retryAfter));
              // Nothing answered and every error says "come back later": 503, which load balancers and clients act on.
              const allUnavailable = (result.errors ?? []).every((e) => e.extensions?.['code'] === ErrorCode.SERVICE_UNAVAILABLE);
              // (Mutations are nullable: a refused one answers null beside its error, so every root field null is nothing.)
              const nothing = result.data == null || Object.values(result.data).every((value) => value === null);
              if (nothing && allUnavailable) response.http.status = 503;
            }
            metrics.requests.inc({ operation: label, type, outcome: result.errors ? 'error' : 'ok' });
          }
          const seconds = Number(process.hrtime.bigint() - started) / 1e9;
          metrics.latency.observe({ operation: label, type }, seconds);
          // One structured line per operation; the correlation id ties it to the client's error and to the events' metadata.
          const codes = response.body.kind === 'single' ? (response.body.singleResult.errors ?? []).map((e) => e.extensions?.['code']) : [];
          app.logger.info(
            {
              correlationId: contextValue.caller.correlationId,
              tenantId: contextValue.tenantId,
              principal: contextValue.caller.principal?.id ?? null,
              operation: name.slice(0, 200),
              type,
              durationMs: Math.round(seconds * 1000),
              ...(codes.length > 0 ? { errors: codes } : {}),
              ...(contextValue.position > 0 ? { position: contextValue.position } : {}),
            },
            'graphql operation',
          );
          return Promise.resolve();
        },
      });
    },
  };
}

/** How long each check of /readyz may take. */
const READINESS_CHECK_MS = 1000;

export async function createGateway(
  app: Application,
  services: Services,
  authenticator: Authenticator,
  options: GatewayOptions = {},
): Promise<Gateway> {
  const expressApp = express();
  expressApp.disable('x-powered-by');
  // Every response names its correlation id, the one its errors and log lines carry.
  expressApp.use((req, res, next) => {
    res.setHeader('X-Correlation-Id', correlationIdOf(req));
    next();
  });
  // Browsers on the origins of TENANTRY_CORS_ORIGINS may call the API and the export; nothing when unset.
  mountCors(expressApp, app.config.corsOrigins);
  // Bound before the stores opened (start.ts): its starting routes answer until every route here is mounted.
  const server = options.server ?? createHttpServer(app.config.limits, expressApp);
  const metrics = new Metrics(app.projections, app.commands, app.events, app.config.limits.executionTimeoutMs);
  const admission = app.documents.admissionStats?.bind(app.documents);
  if (admission) metrics.watchAdmission(admission);

  // OpenTelemetry spans only when an OTLP endpoint is configured; otherwise nothing of the SDK is loaded.
  const tracing = app.config.tracing ? await startTracing(app.config.tracing, app.logger, packageVersion()) : null;

  const apolloSchema = await schema();
  const v2Schema = await schemaV2();
  // Request limits, CSRF prevention, batching, introspection and error formatting (docs/api.md, "Limits and hardening").
  const limits = hardening<GraphQLContext>(app.config, apolloSchema);
  // v2 (docs/api-v2.md) is served with the same hardening and the same rate budget per principal.
  const limitsV2 = hardening<GraphQLContext>(app.config, v2Schema, limits.rateLimiter);
  const apolloFor = (served: GraphQLSchema, hardened: typeof limits, drain: boolean) =>
    new ApolloServer<GraphQLContext>({
      schema: served,
      ...hardened.apollo,
      includeStacktraceInErrorResponses: false,
      // The process owns SIGTERM/SIGINT (cli.ts): Apollo's handler would stop only Apollo, then re-send the
      // signal and kill the process before the stores are closed and the projection leases released.
      stopOnTerminationSignals: false,
      plugins: [
        // No cache hints in this API: without this plugin Apollo does not wrap every field resolver.
        ApolloServerPluginCacheControlDisabled(),
        // One of the two servers drains the HTTP server on stop (both serve on it).
        ...(drain ? [ApolloServerPluginDrainHttpServer({ httpServer: server })] : []),
        observabilityPlugin(app, metrics, new OperationLabels(served)),
        ...hardened.apollo.plugins,
        // The GraphQL-over-HTTP status codes for clients that accept only application/json (docs/api.md).
        legacyJsonStatusPlugin(),
        ...(tracing ? [tracing.plugin<GraphQLContext>()] : []),
      ],
    });
  const apollo = apolloFor(apolloSchema, limits, true);
  const apolloV2 = apolloFor(v2Schema, limitsV2, false);
  await Promise.all([apollo.start(), apolloV2.start()]);

  expressApp.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  /**
   * Each check of /readyz answers within a second or counts as failed: a
   * store that accepts connections but queues every operation must not hold
   * the probe (and the load balancer behind it) for the driver's timeouts.
   */
  const withinReadinessBudget = <T>(check: Promise<T>, what: string): Promise<T> => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not answer within ${READINESS_CHECK_MS} ms`)), READINESS_CHECK_MS);
    });
    check.catch(() => undefined);
    return Promise.race([check, late]).finally(() => clearTimeout(timer));
  };

  expressApp.get('/readyz', async (_req, res) => {
    const checks: Record<string, string> = {};
    let ready = true;
    // All at once: the whole answer takes at most one budget.
    const lagging = withinReadinessBudget(app.projections.lag(), 'projections');
    lagging.catch(() => undefined); // awaited below; not unhandled meanwhile
    await Promise.all(
      (
        [
          ['eventStore', () => app.events.ping()],
          ['readModels', () => app.documents.ping()],
          ['vault', () => app.vault.ping()],
        ] as const
      ).map(async ([name, ping]) => {
        try {
          await withinReadinessBudget(ping(), name);
          checks[name] = 'ok';
        } catch (error) {
          ready = false;
          checks[name] = error instanceof Error ? error.message : 'unreachable';
        }
      }),
    );
    let projections: unknown = null;
    try {
      const lag = await lagging;
      projections = lag.map((l) => ({
        projection: l.projection,
        position: l.position,
        lagEvents: l.lagEvents,
        error: l.error,
        ...(l.stalled ? { stalled: l.stalled } : {}),
      }));
      // Behind by a bounded, moving lag is ready (read-your-writes covers each client's own writes); failing or stalled is not.
      const maxLag = app.config.readyMaxLagEvents;
      if (!lag.every((l) => l.error === null && !l.stalled && l.lagEvents <= maxLag)) ready = false;
    } catch {
      ready = false;
    }
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not ready', checks, projections });
  });

  expressApp.get('/metrics', async (_req, res) => {
    res.set('Content-Type', metrics.registry.contentType);
    res.send(await metrics.registry.metrics());
  });

  const idempotency = new IdempotencyKeys();
  const authFailures = new AuthFailureLimiter(app.config.limits);
  const requests = new RequestResolver(app, services, authenticator, authFailures);
  requests.onAuthenticationFailure = () => metrics.authenticationFailures.inc();
  limits.rateLimiter.onRefusal = (scope) => metrics.rateLimitRefusals.inc({ scope });
  authFailures.onRefusal = (scope) => metrics.rateLimitRefusals.inc({ scope });
  const context = async ({ req }: { req: Request }): Promise<GraphQLContext> => {
    // A damaged log is refused by requests.resolve below, for every route alike (SERVICE_UNAVAILABLE, 503).
    const pathTenant = typeof req.params['tenant'] === 'string' ? req.params['tenant'] : null;
    let resolved: ResolvedRequest;
    try {
      const info = requestInfo(req, pathTenant);
      resolved = await requests.resolve(info.idempotencyKey ? { ...info, requestFingerprint: requestFingerprint(req.body) } : info);
    } catch (error) {
      const { message, extensions } = error instanceof DomainError ? error : { message: 'authentication failed', extensions: {} };
      const code = error instanceof DomainError ? error.code : ErrorCode.UNAUTHENTICATED;
      if (code === ErrorCode.RATE_LIMITED) {
        const seconds = (extensions as Record<string, unknown>)['retryAfterSeconds'];
        const retryAfter = String(typeof seconds === 'number' ? seconds : 60);
        throw new GraphQLError(message, {
          extensions: { ...extensions, code, http: { status: 429, headers: new HeaderMap([['retry-after', retryAfter]]) } },
        });
      }
      const unavailable = code === ErrorCode.SERVICE_UNAVAILABLE;
      const seconds = (extensions as Record<string, unknown>)['retryAfterSeconds'];
      const headers = new HeaderMap(typeof seconds === 'number' ? [['retry-after', String(seconds)]] : []);
      throw new GraphQLError(message, {
        extensions: unavailable
          ? { ...extensions, code: ErrorCode.SERVICE_UNAVAILABLE, http: { status: 503, headers } }
          : { ...extensions, code: 'UNAUTHENTICATED', http: { status: 401 } },
      });
    }
    const { caller, tenantId } = resolved;
    setRequestTenant(tenantId ?? '');
    // After authentication: the budget is the principal's. A batch spends one request per operation.
    await limits.rateLimiter.admit(caller, tenantId, req.socket.remoteAddress, Array.isArray(req.body) ? req.body.length : 1);
    const key = caller.client.idempotencyKey;
    if (key && caller.principal) {
      try {
        idempotency.check(`${caller.principal.type}:${caller.principal.id}:${tenantId ?? ''}`, key, caller.client.requestFingerprint ?? '');
      } catch (error) {
        const { message, extensions } = error as DomainError;
        // 422 Unprocessable Content, as the IETF idempotency-key draft answers a key reused with another request.
        throw new GraphQLError(message, { extensions: { ...extensions, code: ErrorCode.BAD_USER_INPUT, http: { status: 422 } } });
      }
    }
    return { caller, services, loaders: new Loaders(services), tenantId, position: 0 };
  };

  const graphqlMiddleware = (served: ApolloServer<GraphQLContext>) => [
    // The request's span, the child of its traceparent, from before its body is read until its response is sent.
    ...(tracing ? [tracing.start] : []),
    express.json({ limit: options.bodyLimit ?? limits.bodyLimitBytes }),
    // After the body is read (its callbacks run outside this context): everything the operation reads is a request's,
    // which an overloaded read-model store may refuse, and which takes the turn of the tenant in the path until the
    // authenticated one is known (src/readmodels/admission.ts).
    (req: Request, _res: express.Response, next: express.NextFunction) =>
      inCorrelationScope(correlationIdOf(req), () => {
        const lane = () => inRequestLane(next, typeof req.params['tenant'] === 'string' ? req.params['tenant'] : '');
        return tracing ? tracing.inSpan(req, lane) : lane();
      }),
    expressMiddleware(served, { context }),
  ];
  const graphql = graphqlMiddleware(apollo);
  const graphqlV2 = graphqlMiddleware(apolloV2);
  expressApp.use('/api/v1/graphql', ...graphql);
  expressApp.use('/api/v1/:tenant/graphql', ...graphql);
  expressApp.use('/api/v2/graphql', ...graphqlV2);
  expressApp.use('/api/v2/:tenant/graphql', ...graphqlV2);
  // Live sessions (subscriptions, export downloads) follow revocation: re-checked every TENANTRY_SESSION_RECHECK_MS.
  const sessions = new SessionWatch(app.config.sessionRecheckMs, app.logger);
  expressApp.use(
    auditExportRouter(services, requests, app.logger, limits.rateLimiter, sessions, (format, outcome) =>
      metrics.exports.inc({ format, outcome }),
    ),
  );
  // The schema as SDL for any authenticated client, also where introspection is off (docs/api.md, "The schema").
  expressApp.use(schemaRouter(requests, limits.rateLimiter, app.logger));
  mountUi(expressApp);
  const subscriptions = attachSubscriptions(
    server,
    { v1: apolloSchema, v2: v2Schema },
    requests,
    services,
    app.logger,
    {
      limits: app.config.limits,
      rateLimiter: limits.rateLimiter,
      sessions,
      production: app.config.production,
    },
    {
      opened: (tenant) => metrics.subscriptionOpened(tenant),
      closed: (tenant) => metrics.subscriptionClosed(tenant),
      sent: () => metrics.subscriptionMessages.inc(),
    },
  );

  // Body-parser failures (too large, malformed JSON) answer in GraphQL's error shape, not an HTML page.
  expressApp.use((error: unknown, req: Request, res: express.Response, next: express.NextFunction) => {
    if (res.headersSent) return next(error);
    const status = typeof (error as { status?: unknown }).status === 'number' ? (error as { status: number }).status : 500;
    const message = status === 413 ? 'request body too large' : status < 500 ? 'malformed request body' : 'internal error';
    if (status >= 500) app.logger.error({ err: error }, 'http request failed');
    const code = status < 500 ? 'BAD_USER_INPUT' : 'INTERNAL_SERVER_ERROR';
    res.status(status).json({ errors: [{ message, extensions: { code, correlationId: correlationIdOf(req) } }] });
  });

  if (options.server) {
    server.removeAllListeners('request');
    server.on('request', expressApp);
  }

  return {
    server,
    metrics,
    url(path = '') {
      const address = server.address() as AddressInfo;
      return `http://127.0.0.1:${address.port}${path}`;
    },
    listen(port, host) {
      if (server.listening) return Promise.resolve();
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => resolve());
      });
    },
    async close() {
      await subscriptions.close();
      sessions.stop();
      await apolloV2.stop();
      await apollo.stop();
      // The spans of the last requests are sent before the process goes.
      await tracing?.shutdown();
      if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
      metrics.close();
    },
  };
}
