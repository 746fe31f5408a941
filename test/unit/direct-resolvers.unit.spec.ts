/**
 * src/schema/direct-resolvers.ts calls some field resolvers without
 * type-graphql's per-call wrapper. Which ones matters: a field with
 * arguments, or whose source type-graphql would convert, must keep the
 * wrapper (it converts and validates what the method receives). Checked on
 * a schema built here, not the process's cached one (which a gateway of
 * another test file may have wrapped since). That they answer as before is
 * what the e2e suites check (flows-page-promises: namespaceRef with and
 * without the caller's NAMESPACE:VIEW).
 */
import type { GraphQLObjectType } from 'graphql';
import { describe, expect, it } from 'vitest';
import { buildV1Schema } from '../../src/schema/build.js';
import { callFieldResolversDirectly } from '../../src/schema/direct-resolvers.js';

describe('field resolvers called directly', () => {
  it('only those taking the source, the context and the info', async () => {
    const built = await buildV1Schema();
    const changed = callFieldResolversDirectly(built);
    // Resolved once per item of a page: called directly.
    expect(changed).toEqual(expect.arrayContaining(['Flow.namespaceRef', 'Flow.source', 'Namespace.inheritedVariables']));
    // Arguments: type-graphql's wrapper converts them.
    expect(changed).not.toContain('Flow.revisions');
    for (const coordinate of changed) {
      const [type, field] = coordinate.split('.') as [string, string];
      const args = (built.getType(type) as GraphQLObjectType).getFields()[field]?.args;
      expect(args, coordinate).toEqual([]);
    }
  });
});
