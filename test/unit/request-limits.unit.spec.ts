/** The request limits' configuration and the cost pricing, without a server. */
import { GraphQLError, parse, type GraphQLFormattedError } from 'graphql';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/config.js';
import { schema } from '../../src/schema/build.js';
import { checkCost, requestLimitError, withoutSuggestions } from '../../src/schema/query-limits.js';

describe('request limits configuration', () => {
  it('defaults: graphql-armor’s shape limits, cost 50,000, 1 MiB bodies, no batching', () => {
    expect(loadConfig({}).limits).toEqual({
      maxDepth: 6,
      maxAliases: 15,
      maxDirectives: 50,
      maxTokens: 1000,
      maxCost: 50_000,
      ratePerMinute: 600,
      tenantRatePerMinute: 3000,
      authFailuresPerMinute: 60,
      headersTimeoutMs: 10_000,
      requestTimeoutMs: 30_000,
      executionTimeoutMs: 10_000,
      bodyLimitBytes: 1024 * 1024,
      allowBatchedRequests: false,
      maxResponseBytes: 16 * 1024 * 1024,
      heavyPerTenant: 2,
      heavyTotal: 8,
    });
  });

  it('refuses a request timeout shorter than the headers timeout', () => {
    expect(() => loadConfig({ TENANTRY_HEADERS_TIMEOUT_MS: '5000', TENANTRY_REQUEST_TIMEOUT_MS: '1000' })).toThrow(ConfigError);
  });

  it('reads every variable; body sizes in bytes, kb or mb', () => {
    const limits = loadConfig({
      TENANTRY_MAX_DEPTH: '8',
      TENANTRY_MAX_ALIASES: '3',
      TENANTRY_MAX_DIRECTIVES: '0',
      TENANTRY_MAX_TOKENS: '5000',
      TENANTRY_MAX_COST: '1234',
      TENANTRY_RATE_LIMIT_PER_MINUTE: '10',
      TENANTRY_TENANT_RATE_LIMIT_PER_MINUTE: '20',
      TENANTRY_EXECUTION_TIMEOUT_MS: '0',
      TENANTRY_BODY_LIMIT: '512kb',
      TENANTRY_ALLOW_BATCHED_REQUESTS: 'true',
      TENANTRY_MAX_RESPONSE_SIZE: '2mb',
      TENANTRY_TENANT_HEAVY_CONCURRENCY: '3',
      TENANTRY_HEAVY_CONCURRENCY: '12',
    }).limits;
    expect(limits).toMatchObject({ maxResponseBytes: 2 * 1024 * 1024, heavyPerTenant: 3, heavyTotal: 12 });
    expect(limits).toMatchObject({ maxDepth: 8, maxAliases: 3, maxDirectives: 0, maxTokens: 5000, maxCost: 1234 });
    expect(limits).toMatchObject({
      ratePerMinute: 10,
      tenantRatePerMinute: 20,
      executionTimeoutMs: 0,
      bodyLimitBytes: 512 * 1024,
      allowBatchedRequests: true,
    });
    expect(loadConfig({ TENANTRY_BODY_LIMIT: '2MB' }).limits.bodyLimitBytes).toBe(2 * 1024 * 1024);
    expect(loadConfig({ TENANTRY_BODY_LIMIT: '4096' }).limits.bodyLimitBytes).toBe(4096);
  });

  it.each([
    ['TENANTRY_MAX_DEPTH', '0'],
    ['TENANTRY_MAX_COST', 'lots'],
    ['TENANTRY_RATE_LIMIT_PER_MINUTE', '-1'],
    ['TENANTRY_EXECUTION_TIMEOUT_MS', '1.5'],
    ['TENANTRY_BODY_LIMIT', '1gb'],
    ['TENANTRY_BODY_LIMIT', '10'],
    ['TENANTRY_ALLOW_BATCHED_REQUESTS', 'sometimes'],
    ['TENANTRY_MAX_RESPONSE_SIZE', 'huge'],
    ['TENANTRY_TENANT_HEAVY_CONCURRENCY', '0'],
    ['TENANTRY_HEAVY_CONCURRENCY', '-3'],
  ])('%s=%s stops the start with one line naming the variable', (variable, value) => {
    expect(() => loadConfig({ [variable]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [variable]: value })).toThrow(new RegExp(`^${variable}: .+`));
  });
});

describe('cost pricing', () => {
  const price = async (query: string, variables: Record<string, unknown> = {}): Promise<number | null> => {
    try {
      checkCost(await schema(), parse(query), variables, 1);
      return null;
    } catch (error) {
      return Number((requestLimitError(error)?.extensions as { found?: number }).found);
    }
  };
  const PAGE = `edges { node { id } }`; // 12.875 per item under graphql-armor's model

  it('a page size given as a variable, as a variable default, as a literal or left to the schema default costs the same', async () => {
    const expected = 12.875 * 50;
    expect(await price(`query($n: Int) { flows(first: $n) { ${PAGE} } }`, { n: 50 })).toBe(expected);
    expect(await price(`query($n: Int = 50) { flows(first: $n) { ${PAGE} } }`)).toBe(expected);
    expect(await price(`{ flows(first: 50) { ${PAGE} } }`)).toBe(expected);
    expect(await price(`{ flows { ${PAGE} } }`)).toBe(expected);
    expect(await price(`query($n: Int) { flows(first: $n) { ${PAGE} } }`, { n: null })).toBe(expected);
    expect(await price(`query($n: Int) { flows(first: $n) { ${PAGE} } }`)).toBe(expected);
  });

  it('a page past 500 is priced as 500 (its resolver refuses it as BAD_USER_INPUT)', async () => {
    expect(await price(`{ flows(first: 100000) { ${PAGE} } }`)).toBe(12.875 * 500);
    expect(await price(`query($n: Int) { flows(first: $n) { ${PAGE} } }`, { n: 2 ** 31 - 1 })).toBe(12.875 * 500);
  });

  it('the refusal is QUERY_TOO_COMPLEX with reason, limit and what was found', async () => {
    let thrown: unknown;
    try {
      checkCost(await schema(), parse(`{ flows { ${PAGE} } }`), {}, 600);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(GraphQLError);
    expect(requestLimitError(thrown)).toMatchObject({
      code: 'QUERY_TOO_COMPLEX',
      extensions: { reason: 'MAX_COST', limit: 600, found: 643.75 },
    });
  });
});

describe('suggestions in production', () => {
  it('cuts every "Did you mean …?" and keeps the rest of the message', () => {
    const format = withoutSuggestions((formatted: GraphQLFormattedError) => formatted);
    const cut = (message: string) => format({ message }, null).message;
    expect(cut('Cannot query field "nam" on type "Me". Did you mean "name"?')).toBe('Cannot query field "nam" on type "Me".');
    expect(cut('Unknown argument "firs" on field "Query.flows". Did you mean "first", "after", or "filter"?')).toBe(
      'Unknown argument "firs" on field "Query.flows".',
    );
    expect(cut('Variable "$i" got an invalid value; Field "descriptio" is not defined by type "X". Did you mean "description"?')).toBe(
      'Variable "$i" got an invalid value; Field "descriptio" is not defined by type "X".',
    );
  });
});
