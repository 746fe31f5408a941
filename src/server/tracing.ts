/**
 * OpenTelemetry spans of GraphQL requests (docs/api.md, "Tracing"): one
 * server span per request to a GraphQL endpoint, the child of the request's
 * W3C `traceparent` when it has one, exported over OTLP/HTTP to the endpoint
 * of the standard OTEL_EXPORTER_OTLP_* variables (config/tracing.ts).
 *
 * Only when that is configured: createGateway calls startTracing then, and
 * the SDK, the exporter and the propagator are loaded by it (dynamic
 * imports). Unset, none of it is loaded and no handler or plugin is added.
 *
 * The span is started by the first handler of the GraphQL routes (so the
 * body's reading is in it) and ended when the response is sent; what only
 * Apollo knows (operation name and type, tenant, error codes) is added by a
 * plugin, which finds the span of its request in an AsyncLocalStorage entered
 * after the body is read, as correlation.ts does for the correlation id.
 *
 * The gateway's own provider, not the global one: several gateways in a
 * process (tests) each export to their own endpoint, and nothing else in the
 * process is traced by accident.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { IncomingMessage } from 'node:http';
import type { ApolloServerPlugin } from '@apollo/server';
import type { Span } from '@opentelemetry/api';
import type { NextFunction, Request, Response } from 'express';
import type { TracingConfig } from '../config/config.js';
import type { Logger } from '../shared/logger.js';
import { correlationIdOf } from './request-context.js';

export interface RequestTracing {
  /** First handler of a GraphQL route: starts the request's span, ended when the response is sent. */
  start: (req: Request, res: Response, next: NextFunction) => void;
  /** Runs `next` (the rest of the request's handling) with the request's span as the current one. */
  inSpan<T>(req: IncomingMessage, next: () => T): T;
  /** Adds what Apollo knows of the request to its span. */
  plugin<Context extends { tenantId: string | null }>(): ApolloServerPlugin<Context>;
  /** Sends the spans still waiting and stops the exporter. */
  shutdown(): Promise<void>;
}

/** Codes of errors that are the server's failure rather than the client's: the span's status is ERROR. */
const SERVER_FAILURES = new Set(['INTERNAL_SERVER_ERROR', 'SERVICE_UNAVAILABLE']);

/** The longest operation name a span carries (the client chooses it). */
const MAX_NAME = 100;

/** How often a failing export is logged at most. */
const EXPORT_FAILURE_LOG_MS = 60_000;

export async function startTracing(config: TracingConfig, logger: Logger, version: string): Promise<RequestTracing> {
  const [api, core, sdk, resources, otlp] = await Promise.all([
    import('@opentelemetry/api'),
    import('@opentelemetry/core'),
    import('@opentelemetry/sdk-trace-base'),
    import('@opentelemetry/resources'),
    config.protocol === 'http/json'
      ? import('@opentelemetry/exporter-trace-otlp-http')
      : import('@opentelemetry/exporter-trace-otlp-proto'),
  ]);
  const { ROOT_CONTEXT, SpanKind, SpanStatusCode, defaultTextMapGetter } = api;

  // The SDK reports a failed export to its global error handler (silent by default): here, a warning a minute at most.
  // The handler is the process's: with several gateways in one process (tests), the last one started logs.
  let lastFailureLog = 0;
  core.setGlobalErrorHandler((error) => {
    if (Date.now() - lastFailureLog < EXPORT_FAILURE_LOG_MS) return;
    lastFailureLog = Date.now();
    logger.warn({ err: error, endpoint: config.url }, 'cannot export trace spans (OTLP); retrying with the next batch');
  });

  const exporter = new otlp.OTLPTraceExporter({ url: config.url, headers: config.headers });
  const provider = new sdk.BasicTracerProvider({
    resource: resources.resourceFromAttributes({ 'service.name': config.serviceName, 'service.version': version }),
    spanProcessors: [new sdk.BatchSpanProcessor(exporter, { scheduledDelayMillis: config.scheduleDelayMs })],
  });
  const tracer = provider.getTracer('tenantry', version);
  const propagator = new core.W3CTraceContextPropagator();
  const spans = new WeakMap<IncomingMessage, Span>();
  const current = new AsyncLocalStorage<Span>();

  /** Error codes of the request so far (the context function's refusal, or the result's errors). */
  const codes = new WeakMap<Span, string[]>();
  const recordCodes = (span: Span, found: string[]): void => {
    if (found.length === 0) return;
    codes.set(span, found);
    span.setAttribute('tenantry.error_codes', found);
    span.setAttribute('error.type', found[0] ?? 'unknown');
  };

  return {
    start: (req, res, next) => {
      // An absent or malformed traceparent leaves the root context: the span starts a trace of its own.
      const parent = propagator.extract(ROOT_CONTEXT, req.headers, defaultTextMapGetter);
      const route = typeof req.params['tenant'] === 'string' ? '/api/v1/{tenant}/graphql' : '/api/v1/graphql';
      const span = tracer.startSpan(
        `${req.method} ${route}`,
        {
          kind: SpanKind.SERVER,
          attributes: {
            'http.request.method': req.method,
            'http.route': route,
            'url.path': (req.originalUrl || req.url).split('?')[0] ?? '',
            'tenantry.correlation_id': correlationIdOf(req),
          },
        },
        parent,
      );
      spans.set(req, span);
      let ended = false;
      const end = (): void => {
        if (ended) return;
        ended = true;
        span.setAttribute('http.response.status_code', res.statusCode);
        const found = codes.get(span) ?? [];
        if (found.length === 0 && res.statusCode >= 400) span.setAttribute('error.type', String(res.statusCode));
        // A client's mistake is not a failure of the server (OpenTelemetry's rule for server spans and 4xx).
        if (res.statusCode >= 500 || found.some((code) => SERVER_FAILURES.has(code))) {
          span.setStatus({ code: SpanStatusCode.ERROR, message: found.join(',') || String(res.statusCode) });
        }
        span.end();
      };
      res.once('finish', end);
      res.once('close', end);
      next();
    },

    inSpan(req, next) {
      const span = spans.get(req);
      return span ? current.run(span, next) : next();
    },

    plugin<Context extends { tenantId: string | null }>(): ApolloServerPlugin<Context> {
      return {
        // Authentication, rate limits, Idempotency-Key reuse: refused before the operation is known.
        contextCreationDidFail({ error }) {
          const span = current.getStore();
          const code = (error as { extensions?: Record<string, unknown> }).extensions?.['code'];
          if (span) recordCodes(span, [typeof code === 'string' ? code : 'INTERNAL_SERVER_ERROR']);
          return Promise.resolve();
        },
        requestDidStart() {
          const span = current.getStore();
          if (!span) return Promise.resolve();
          return Promise.resolve({
            willSendResponse({ response, contextValue, operation, operationName }) {
              const type = operation?.operation;
              if (type) {
                span.setAttribute('graphql.operation.type', type);
                // OpenTelemetry's GraphQL convention: "{type} {name}", or the type alone.
                span.updateName(operationName ? `${type} ${operationName.slice(0, MAX_NAME)}` : type);
              }
              if (operationName) span.setAttribute('graphql.operation.name', operationName.slice(0, MAX_NAME));
              if (contextValue.tenantId) span.setAttribute('tenantry.tenant', contextValue.tenantId);
              if (response.body.kind === 'single') {
                const errors = response.body.singleResult.errors ?? [];
                recordCodes(
                  span,
                  errors.map((e) => {
                    const code = e.extensions?.['code'];
                    return typeof code === 'string' ? code : 'INTERNAL_SERVER_ERROR';
                  }),
                );
              }
              return Promise.resolve();
            },
          });
        },
      };
    },

    shutdown: () => provider.shutdown(),
  };
}
