import type http from 'node:http';
import type { Duplex } from 'node:stream';
import {
  getOperationAST,
  GraphQLError,
  NoSchemaIntrospectionCustomRule,
  OperationTypeNode,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type GraphQLFormattedError,
  type GraphQLSchema,
} from 'graphql';
import { useServer, type Extra } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import type { Services } from '../application/services.js';
import type { GraphQLContext } from '../schema/context.js';
import { formatError } from '../schema/errors.js';
import { Loaders } from '../schema/loaders.js';
import type { RequestLimits } from '../config/config.js';
import { checkLiveRights, rootFields } from '../schema/live-rights.js';
import {
  checkCost,
  checkVariableDepth,
  requestLimitError,
  shapeRules,
  stripSuggestions,
  tokenLimit,
  withoutSuggestions,
} from '../schema/query-limits.js';
import { badInput, DomainError, ErrorCode } from '../shared/errors.js';
import type { RateLimiter } from './rate-limit.js';
import type { Logger } from '../shared/logger.js';
import { correlationIdOf, requestInfo, tenantFromPath, type RequestResolver } from './request-context.js';
import { SESSION_CLOSE, verdict, type SessionWatch } from './session-watch.js';

/** What the metrics learn of subscriptions. */
export interface SubscriptionObserver {
  opened(tenant: string): void;
  closed(tenant: string): void;
  sent(): void;
}

/** The GraphQL endpoints, which also accept WebSocket upgrades (graphql-transport-ws protocol). */
const GRAPHQL_PATH = /^\/api\/v[12]\/(?:[^/]+\/)?graphql\/?$/;

/** The schemas by API version: a socket opened on /api/v2/… speaks v2. */
export interface VersionedSchemas {
  v1: GraphQLSchema;
  v2: GraphQLSchema;
}

const schemaOf = (schemas: VersionedSchemas, url: string | undefined): GraphQLSchema =>
  (url ?? '').startsWith('/api/v2/') ? schemas.v2 : schemas.v1;

type ConnectionParams = Record<string, unknown> | undefined;

function bearer(params: ConnectionParams, request: http.IncomingMessage): string | undefined {
  // Browsers cannot set headers on a WebSocket: the token travels in connection_init's payload.
  for (const key of ['authorization', 'Authorization']) {
    const value = params?.[key];
    if (typeof value === 'string') return value;
  }
  const header = request.headers.authorization;
  return typeof header === 'string' ? header : undefined;
}

export interface Subscriptions {
  close(): Promise<void>;
}

/**
 * GraphQL subscriptions over graphql-ws on the same server and paths as
 * queries. Authentication and tenant selection are the same as for HTTP
 * (`RequestResolver`): the token comes from `connectionParams.authorization`
 * (or the upgrade request's Authorization header), the tenant from the path.
 * An unknown token closes the socket with 4403 at connection_init; every
 * operation then authorizes on its own, with a fresh Caller. While the
 * socket is open, the session watch authenticates it again and re-checks
 * what its running subscriptions need: it closes with 4401 once the token
 * no longer authenticates, 4403 once the rights or the tenant are gone.
 */
export function attachSubscriptions(
  server: http.Server,
  schemas: VersionedSchemas,
  requests: RequestResolver,
  services: Services,
  logger: Logger,
  guard: { limits: RequestLimits; rateLimiter: RateLimiter; sessions: SessionWatch; production: boolean },
  observe: SubscriptionObserver = { opened: () => undefined, closed: () => undefined, sent: () => undefined },
): Subscriptions {
  /** Per connection: its tenant (`_instance` on the instance endpoint), and the subscriptions streaming on it. */
  const tenants = new WeakMap<object, string>();
  const streaming = new WeakMap<object, Set<string>>();
  const ended = (ctx: object, id: string): void => {
    if (streaming.get(ctx)?.delete(id)) observe.closed(tenants.get(ctx) ?? '_instance');
  };
  // A message is bounded like an HTTP body (TENANTRY_BODY_LIMIT); past it ws closes the socket with 1009.
  const wss = new WebSocketServer({ noServer: true, maxPayload: guard.limits.bodyLimitBytes });
  // Production settings as over HTTP: no introspection, no "Did you mean …?" in messages.
  const rules = [...specifiedRules, ...shapeRules(guard.limits), ...(guard.production ? [NoSchemaIntrospectionCustomRule] : [])];
  const clean = guard.production ? stripSuggestions : (message: string) => message;
  const formatted = guard.production ? withoutSuggestions(formatError) : formatError;
  const onUpgrade = (request: http.IncomingMessage, socket: Duplex, head: Buffer): void => {
    if (!GRAPHQL_PATH.test((request.url ?? '').split('?')[0] ?? '')) {
      socket.destroy();
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request));
  };
  server.on('upgrade', onUpgrade);

  const resolve = (params: ConnectionParams, extra: Extra, options?: { budget: boolean }) =>
    requests.resolve(
      {
        ...requestInfo(extra.request, tenantFromPath(extra.request.url, 'graphql')),
        authorization: bearer(params, extra.request),
      },
      options,
    );

  /** Per connection: the root fields of each running subscription, and how to stop watching it. */
  const live = new WeakMap<object, { fields: Map<string, string[]>; unwatch: () => void }>();
  const watch = (ctx: { connectionParams?: ConnectionParams; extra: Extra }): void => {
    const fields = new Map<string, string[]>();
    const unwatch = guard.sessions.add({
      check: async () => {
        const { caller, tenantId } = await resolve(ctx.connectionParams, ctx.extra, { budget: false });
        if (fields.size > 0) await checkLiveRights(services, caller, tenantId, new Set([...fields.values()].flat()));
      },
      end: (code, reason) => ctx.extra.socket.close(code, reason),
    });
    live.set(ctx, { fields, unwatch });
  };

  // Every error of a subscription names the connection's correlation id (its upgrade request's, as over HTTP).
  const withCorrelation = (error: GraphQLFormattedError, extra: Extra): GraphQLFormattedError => ({
    ...error,
    extensions: { ...error.extensions, correlationId: correlationIdOf(extra.request) },
  });
  const format = (errors: readonly { toJSON(): GraphQLFormattedError }[], extra: Extra): GraphQLFormattedError[] =>
    errors.map((error) => withCorrelation(formatted(error.toJSON(), error), extra));

  const disposable = useServer<Record<string, unknown>, Record<string, never>>(
    {
      schema: (ctx) => schemaOf(schemas, ctx.extra.request.url),
      onConnect: async (ctx) => {
        try {
          const { tenantId } = await resolve(ctx.connectionParams, ctx.extra);
          tenants.set(ctx, tenantId ?? '_instance');
        } catch (error) {
          // Not "forbidden" (4403, which the client must not retry) when the gateway cannot serve anyone now.
          const ending = verdict(error);
          if (ending?.code === SESSION_CLOSE.UNAVAILABLE) ctx.extra.socket.close(ending.code, ending.reason);
          return false;
        }
        watch(ctx);
        return true;
      },
      // A subscription that started (its result is a stream) is watched for as long as it runs.
      onOperation: (ctx, id, _payload, args, result) => {
        if (!(Symbol.asyncIterator in result)) return;
        live.get(ctx)?.fields.set(id, rootFields(args.document, args.operationName));
        const ids = streaming.get(ctx) ?? new Set<string>();
        streaming.set(ctx, ids);
        if (!ids.has(id)) {
          ids.add(id);
          observe.opened(tenants.get(ctx) ?? '_instance');
        }
      },
      onComplete: (ctx, id) => {
        live.get(ctx)?.fields.delete(id);
        ended(ctx, id);
      },
      onClose: (ctx) => {
        live.get(ctx)?.unwatch();
        for (const id of [...(streaming.get(ctx) ?? [])]) ended(ctx, id);
      },
      // The same limits as over HTTP: token count, shape, cost and the rate limit, before anything runs.
      onSubscribe: async (ctx, _id, payload) => {
        let document: DocumentNode;
        try {
          document = parse(payload.query, tokenLimit(guard.limits));
        } catch (error) {
          return [asGraphQLError(error)];
        }
        const schema = schemaOf(schemas, ctx.extra.request.url);
        const invalid = validate(schema, document, rules);
        if (invalid.length > 0) return invalid;
        // Only subscriptions: queries and mutations go over HTTP, where the execution timeout and the response-size cap apply.
        if (getOperationAST(document, payload.operationName)?.operation !== OperationTypeNode.SUBSCRIPTION) {
          return [asGraphQLError(badInput('query', 'only subscriptions are served over WebSocket: send queries and mutations over HTTP'))];
        }
        try {
          checkVariableDepth(payload.variables);
          checkCost(schema, document, payload.variables ?? undefined, guard.limits.maxCost);
          const { caller, tenantId } = await resolve(ctx.connectionParams, ctx.extra);
          await guard.rateLimiter.admit(caller, tenantId, ctx.extra.request.socket.remoteAddress);
        } catch (error) {
          return [asGraphQLError(error)];
        }
        return undefined;
      },
      context: async (ctx): Promise<GraphQLContext> => {
        const { caller, tenantId } = await resolve(ctx.connectionParams, ctx.extra);
        return { caller, services, loaders: new Loaders(services), tenantId, position: 0 };
      },
      // Same error contract as HTTP: codes from the contract, internals masked.
      onNext: (ctx, _id, _payload, _args, result) => {
        observe.sent();
        return result.errors ? { ...result, errors: format(result.errors, ctx.extra) } : undefined;
      },
      onError: (ctx, _id, _payload, errors) =>
        errors.map((e) => {
          if (e.extensions['code'] === ErrorCode.RATE_LIMITED) {
            const { http: _http, ...extensions } = e.extensions;
            return withCorrelation({ message: clean(e.message), extensions }, ctx.extra);
          }
          const refusal = requestLimitError(e) ?? (e.originalError instanceof DomainError ? e.originalError : null);
          return withCorrelation(
            {
              message: clean(refusal?.message ?? e.message),
              ...(e.locations ? { locations: e.locations } : {}),
              // A refused request keeps its code (QUERY_TOO_COMPLEX, RATE_LIMITED, ...); anything else the client sent wrong is BAD_USER_INPUT.
              extensions: refusal ? { ...refusal.extensions, code: refusal.code } : { code: ErrorCode.BAD_USER_INPUT },
            },
            ctx.extra,
          );
        }),
    },
    wss,
  );

  return {
    async close() {
      server.off('upgrade', onUpgrade);
      for (const client of wss.clients) client.close(1001, 'server shutting down');
      await disposable.dispose();
      logger.debug('subscriptions closed');
    },
  };
}

function asGraphQLError(error: unknown): GraphQLError {
  if (error instanceof GraphQLError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new GraphQLError(message, { originalError: error instanceof Error ? error : undefined });
}
