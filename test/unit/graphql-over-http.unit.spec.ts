import { describe, expect, it } from 'vitest';
import { acceptsLegacyJsonOnly } from '../../src/server/graphql-over-http.js';

describe('acceptsLegacyJsonOnly (which clients get 200 for a failed GraphQL request)', () => {
  it.each([
    ['application/json', true],
    ['Application/JSON; charset=utf-8', true],
    ['application/json, */*', true],
    ['application/graphql-response+json;q=0, application/json', true],
    ['application/graphql-response+json', false],
    ['application/graphql-response+json, application/json;q=0.9', false],
    ['application/json;q=0, application/graphql-response+json', false],
    ['*/*', false],
    ['', false],
  ])('%j: %s', (accept, legacy) => {
    expect(acceptsLegacyJsonOnly(accept)).toBe(legacy);
  });

  it('no Accept header is not a legacy client (fetch and curl send */*; the documented 400 stays)', () => {
    expect(acceptsLegacyJsonOnly(undefined)).toBe(false);
  });
});
