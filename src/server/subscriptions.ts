import type http from 'node:http';
import type { Duplex } from 'node:stream';
import type { GraphQLFormattedError, GraphQLSchema } from 'graphql';
import { useServer, type Extra } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import type { Services } from '../application/services.js';
import type { GraphQLContext } from '../schema/context.js';
import { formatError } from '../schema/errors.js';
import { Loaders } from '../schema/loaders.js';
import { ErrorCode } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { requestInfo, tenantFromPath, type RequestResolver } from './request-context.js';

/** The GraphQL endpoints, which also accept WebSocket upgrades (graphql-transport-ws protocol). */
const GRAPHQL_PATH = /^\/api\/v1\/(?:[^/]+\/)?graphql\/?$/;

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
 * operation then authorizes on its own, with a fresh Caller.
 */
export function attachSubscriptions(
  server: http.Server,
  schema: GraphQLSchema,
  requests: RequestResolver,
  services: Services,
  logger: Logger,
): Subscriptions {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1024 * 1024 });
  const onUpgrade = (request: http.IncomingMessage, socket: Duplex, head: Buffer): void => {
    if (!GRAPHQL_PATH.test((request.url ?? '').split('?')[0] ?? '')) {
      socket.destroy();
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request));
  };
  server.on('upgrade', onUpgrade);

  const resolve = (params: ConnectionParams, extra: Extra) =>
    requests.resolve({
      ...requestInfo(extra.request, tenantFromPath(extra.request.url, 'graphql')),
      authorization: bearer(params, extra.request),
    });

  const format = (errors: readonly { toJSON(): GraphQLFormattedError }[]): GraphQLFormattedError[] =>
    errors.map((error) => formatError(error.toJSON(), error));

  const disposable = useServer<Record<string, unknown>, Record<string, never>>(
    {
      schema,
      onConnect: async (ctx) => {
        try {
          await resolve(ctx.connectionParams, ctx.extra);
          return true;
        } catch {
          return false;
        }
      },
      context: async (ctx): Promise<GraphQLContext> => {
        const { caller, tenantId } = await resolve(ctx.connectionParams, ctx.extra);
        return { caller, services, loaders: new Loaders(services), tenantId, position: 0 };
      },
      // Same error contract as HTTP: codes from the contract, internals masked.
      onNext: (_ctx, _id, _payload, _args, result) => (result.errors ? { ...result, errors: format(result.errors) } : undefined),
      onError: (_ctx, _id, _payload, errors) =>
        errors.map((e) => ({
          message: e.message,
          ...(e.locations ? { locations: e.locations } : {}),
          extensions: { code: ErrorCode.BAD_USER_INPUT },
        })),
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
