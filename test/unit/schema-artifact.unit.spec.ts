/**
 * schema.graphql at the repository root is the API's contract for frontends
 * and their tools (code generators, editors, schema registries): it must be
 * exactly what the code-first schema in src/schema prints. `npm run lint`
 * checks the same (`npm run schema:check`); this test makes `npm test` catch
 * a stale file too.
 */
import { readFileSync } from 'node:fs';
import { buildSchema, printSchema, lexicographicSortSchema } from 'graphql';
import { describe, expect, it } from 'vitest';
import { schemaSdl } from '../../src/schema/sdl.js';

const checkedIn = (): string => readFileSync(new URL('../../schema.graphql', import.meta.url), 'utf8');

describe('schema.graphql', () => {
  it('is what the code prints (else: schema.graphql is out of date: run npm run schema)', async () => {
    const produced = await schemaSdl();
    expect(checkedIn() === produced, 'schema.graphql is out of date: run npm run schema').toBe(true);
  });

  it('is valid SDL, printed in a stable order (sorted by name, whatever order the modules load in)', () => {
    const text = checkedIn();
    expect(`${printSchema(lexicographicSortSchema(buildSchema(text)))}\n`).toBe(text);
  });
});
