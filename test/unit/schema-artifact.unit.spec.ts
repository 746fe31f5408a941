/**
 * schema.graphql at the repository root is the API's contract for frontends
 * and their tools (code generators, editors, schema registries): it must be
 * exactly what the code-first schema in src/schema prints. `npm run lint`
 * checks the same (`npm run schema:check`); this test makes `npm test` catch
 * a stale file too.
 */
import { readFileSync } from 'node:fs';
import {
  buildSchema,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isObjectType,
  isSpecifiedScalarType,
  lexicographicSortSchema,
  printSchema,
} from 'graphql';
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

  it('describes every type, field, argument and enum value (npm run lint names them too, with graphql-eslint)', () => {
    const schema = buildSchema(checkedIn());
    const undescribed: string[] = [];
    const need = (what: string, description: string | null | undefined) => {
      if (!description?.trim()) undescribed.push(what);
    };
    for (const type of Object.values(schema.getTypeMap())) {
      if (type.name.startsWith('__') || isSpecifiedScalarType(type)) continue;
      need(type.name, type.description);
      if (isObjectType(type) || isInterfaceType(type)) {
        for (const field of Object.values(type.getFields())) {
          need(`${type.name}.${field.name}`, field.description);
          for (const arg of field.args) need(`${type.name}.${field.name}(${arg.name})`, arg.description);
        }
      }
      if (isInputObjectType(type)) {
        for (const field of Object.values(type.getFields())) need(`${type.name}.${field.name}`, field.description);
      }
      if (isEnumType(type)) for (const value of type.getValues()) need(`${type.name}.${value.name}`, value.description);
    }
    expect(undescribed).toEqual([]);
  });
});
