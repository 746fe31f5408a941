/**
 * The abuse limits of the GraphQL endpoint, gathered for createGateway:
 * request shape (depth, aliases, directives, tokens, cost), execution
 * timeout, batching, suggestions in production, and the rate limiter.
 * docs/api.md, "Limits and hardening", documents each.
 */
import type { ApolloServerOptions, ApolloServerPlugin } from '@apollo/server';
import type { DocumentNode, FormattedExecutionResult, GraphQLSchema } from 'graphql';
import type { Config } from '../config/config.js';
import { formatError } from '../schema/errors.js';
import {
  checkCost,
  checkVariableDepth,
  pageSizeVariables,
  shapeRules,
  tokenLimit,
  tooComplex,
  withoutSuggestions,
} from '../schema/query-limits.js';
import { executionTimeoutPlugin, guardResolvers, type DeadlineContext } from './execution-timeout.js';
import { withCorrelationId } from './correlation.js';
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
          checkVariableDepth(request.variables);
          let cached = verdicts.get(document);
          if (!cached) verdicts.set(document, (cached = { pageVariables: pageSizeVariables(document), byValues: new Map() }));
          const variables: Record<string, unknown> = request.variables ?? {};
          let key: string | null = null;
          try {
            key = JSON.stringify(
              cached.pageVariables.map((name): unknown => (Object.prototype.hasOwnProperty.call(variables, name) ? variables[name] : null)),
            );
          } catch {
            // Not serialisable as a key (a value too large): the cost is checked without the cache.
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

/**
 * A size cap on response bodies: the answer is serialized once (as Apollo
 * would), and one past the cap is replaced by a QUERY_TOO_COMPLEX error
 * (`reason: MAX_RESPONSE_SIZE`, `limit` and `found` in bytes), so that no
 * request, however it got past the cost model (long sources, large JSON
 * values), can make the gateway send hundreds of megabytes. The error names
 * the request's correlation id (./correlation.ts).
 */
function responseSizeLimit(maxBytes: number): (value: FormattedExecutionResult) => string {
  return (value) => {
    const text = `${JSON.stringify(value)}\n`;
    // Bytes are at least the characters and at most three times them (UTF-16 to UTF-8).
    if (text.length <= maxBytes / 3) return text;
    const bytes = text.length > maxBytes ? text.length : Buffer.byteLength(text);
    if (bytes <= maxBytes) return text;
    const error = tooComplex(
      'MAX_RESPONSE_SIZE',
      maxBytes,
      `the response would be ${bytes} bytes, more than the ${maxBytes} allowed; ask for fewer or smaller items`,
      bytes,
    );
    return `${JSON.stringify({ errors: [withCorrelationId({ message: error.message, extensions: { ...error.extensions, code: error.code } })], data: null })}\n`;
  };
}

type HardenedOptions<Context extends object> = Pick<
  ApolloServerOptions<Context>,
  'validationRules' | 'parseOptions' | 'allowBatchedHttpRequests' | 'formatError' | 'csrfPrevention' | 'introspection' | 'stringifyResult'
> & { plugins: ApolloServerPlugin<Context>[] };

export interface Hardening<Context extends object> {
  /** Spread into the ApolloServer options. */
  apollo: HardenedOptions<Context>;
  rateLimiter: RateLimiter;
  bodyLimitBytes: number;
}

export function hardening<Context extends DeadlineContext & { caller: { correlationId: string } }>(
  config: Config,
  schema: GraphQLSchema,
  /** Shared by every schema a gateway serves (v1, v2): one budget per principal. */
  rateLimiter: RateLimiter = new RateLimiter(config.limits),
): Hardening<Context> {
  const { limits, production } = config;
  guardResolvers(schema);
  const format = production ? withoutSuggestions(formatError) : formatError;
  return {
    apollo: {
      validationRules: shapeRules(limits),
      parseOptions: tokenLimit(limits),
      allowBatchedHttpRequests: limits.allowBatchedRequests,
      // Every error, also those refused before an operation ran, names the request's correlation id.
      formatError: (formatted, error) => withCorrelationId(format(formatted, error)),
      // Apollo's CSRF prevention refuses simple (form-like) requests without a
      // JSON content type or a preflight-forcing header, so a malicious page in
      // the user's browser cannot trigger mutations with ambient credentials.
      csrfPrevention: true,
      introspection: !production,
      stringifyResult: responseSizeLimit(limits.maxResponseBytes),
      plugins: [costPlugin(schema, limits.maxCost), executionTimeoutPlugin(limits.executionTimeoutMs)],
    },
    rateLimiter,
    bodyLimitBytes: limits.bodyLimitBytes,
  };
}
