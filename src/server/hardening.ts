/**
 * The abuse limits of the GraphQL endpoint, gathered for createGateway:
 * request shape (depth, aliases, directives, tokens, cost), execution
 * timeout, batching, suggestions in production, and the rate limiter.
 * README, "Limits and hardening", documents each.
 */
import type { ApolloServerOptions, ApolloServerPlugin } from '@apollo/server';
import type { DocumentNode, GraphQLSchema } from 'graphql';
import type { Config } from '../config/config.js';
import { formatError } from '../schema/errors.js';
import { checkCost, pageSizeVariables, shapeRules, tokenLimit, withoutSuggestions } from '../schema/query-limits.js';
import { executionTimeoutPlugin, guardResolvers, type DeadlineContext } from './execution-timeout.js';
import { RateLimiter } from './rate-limit.js';

/**
 * Cost needs the variables that set page sizes (`first: $n`), so it is
 * checked once the operation is known, before execution. Apollo hands the
 * same parsed document for the same query text, so the verdict is remembered
 * per document and the values of just those variables: a frontend repeating
 * its queries, or a client sending the same mutation with new inputs, pays
 * for the analysis once.
 */
function costPlugin<Context extends object>(schema: GraphQLSchema, maxCost: number): ApolloServerPlugin<Context> {
  const verdicts = new WeakMap<DocumentNode, { pageVariables: string[]; byValues: Map<string, Error | null> }>();
  return {
    requestDidStart() {
      return Promise.resolve({
        didResolveOperation({ document, request }) {
          let cached = verdicts.get(document);
          if (!cached) verdicts.set(document, (cached = { pageVariables: pageSizeVariables(document), byValues: new Map() }));
          const variables: Record<string, unknown> = request.variables ?? {};
          let key: string | null = null;
          try {
            key = JSON.stringify(
              cached.pageVariables.map((name): unknown => (Object.prototype.hasOwnProperty.call(variables, name) ? variables[name] : null)),
            );
          } catch {
            // Too deep to serialise (hostile input): not a cache key; variable coercion will refuse it.
          }
          if (key === null || key.length > 2048) {
            checkCost(schema, document, request.variables, maxCost);
            return Promise.resolve();
          }
          const { byValues } = cached;
          if (!byValues.has(key)) {
            let refusal: Error | null = null;
            try {
              checkCost(schema, document, request.variables, maxCost);
            } catch (error) {
              refusal = error instanceof Error ? error : new Error(String(error));
            }
            if (byValues.size >= 256) byValues.clear();
            byValues.set(key, refusal);
          }
          const refusal = byValues.get(key);
          if (refusal) throw refusal;
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

export function hardening<Context extends DeadlineContext>(config: Config, schema: GraphQLSchema): Hardening<Context> {
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
