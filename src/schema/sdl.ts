import { lexicographicSortSchema, printSchema } from 'graphql';
import { schema } from './build.js';

let printed: Promise<string> | null = null;

/**
 * The schema as SDL text, exactly as checked in at `schema.graphql` (and
 * served at `GET /api/v1/schema.graphql`). Sorted by name, so the text does
 * not depend on the order in which modules happen to load.
 */
export function schemaSdl(): Promise<string> {
  printed ??= schema().then((built) => `${printSchema(lexicographicSortSchema(built))}\n`);
  return printed;
}
