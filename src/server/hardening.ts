/**
 * The abuse limits of the GraphQL endpoint, gathered for createGateway:
 * request shape (depth, aliases, directives, tokens, cost), execution
 * timeout, batching, suggestions in production, and the rate limiter.
 * README, "Limits and hardening", documents each.
 */
import type { ApolloServerOptions, ApolloServerPlugin } from '@apollo/server';
import type { GraphQLSchema } from 'graphql';
import type { Config } from '../config/config.js';
import { formatError } from '../schema/errors.js';
import { checkCost, shapeRules, tokenLimit, withoutSuggestions } from '../schema/query-limits.js';
import { executionTimeoutPlugin, guardResolvers } from './execution-timeout.js';
import { RateLimiter } from './rate-limit.js';

/** Cost needs the variables (`first: $n`), so it is checked once the operation is known, before execution. */
function costPlugin<Context extends object>(schema: GraphQLSchema, maxCost: number): ApolloServerPlugin<Context> {
  return {
    requestDidStart() {
      return Promise.resolve({
        didResolveOperation({ document, request }) {
          checkCost(schema, document, request.variables, maxCost);
          return Promise.resolve();
        },
      });
    },
  };
}

type HardenedOptions<Context extends object> = Pick<
  ApolloServerOptions<Context>,
  'validationRules' | 'parseOptions' | 'allowBatchedHttpRequests' | 'formatError' | 'csrfPrevention' | 'introspection'
> & { plugins: ApolloServerPlugin<Context>[] };

export interface Hardening<Context extends object> {
  /** Spread into the ApolloServer options. */
  apollo: HardenedOptions<Context>;
  rateLimiter: RateLimiter;
  bodyLimitBytes: number;
}

export function hardening<Context extends object>(config: Config, schema: GraphQLSchema): Hardening<Context> {
  const { limits, production } = config;
  guardResolvers(schema);
  return {
    apollo: {
      validationRules: shapeRules(limits),
      parseOptions: tokenLimit(limits),
      allowBatchedHttpRequests: limits.allowBatchedRequests,
      formatError: production ? withoutSuggestions(formatError) : formatError,
      // Apollo's CSRF prevention refuses simple (form-like) requests without a
      // JSON content type or a preflight-forcing header, so a malicious page in
      // the user's browser cannot trigger mutations with ambient credentials.
      csrfPrevention: true,
      introspection: !production,
      plugins: [costPlugin(schema, limits.maxCost), executionTimeoutPlugin(limits.executionTimeoutMs)],
    },
    rateLimiter: new RateLimiter(limits),
    bodyLimitBytes: limits.bodyLimitBytes,
  };
}
