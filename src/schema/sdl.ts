import { lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql';
import { schema, schemaV2 } from './build.js';

let printed: Promise<string> | null = null;
let printedV2: Promise<string> | null = null;

const print = (built: GraphQLSchema): string => `${printSchema(lexicographicSortSchema(built))}\n`;

/**
 * The schema as SDL text, exactly as checked in at `schema.graphql` (and
 * served at `GET /api/v1/schema.graphql`). Sorted by name, so the text does
 * not depend on the order in which modules happen to load.
 */
export function schemaSdl(): Promise<string> {
  printed ??= schema().then(print);
  return printed;
}

/** The v2 schema's SDL: `schema.v2.graphql`, served at `GET /api/v2/schema.graphql`. */
export function schemaSdlV2(): Promise<string> {
  printedV2 ??= schemaV2().then(print);
  return printedV2;
}
