/**
 * A projection's slot in the coordinator: the generation serving queries,
 * its live runner, and the generation being built beside it, if any.
 */
import type { Projection } from './projection.js';
import type { ProjectionRunner } from './runner.js';

/**
 * One projection's collections: `live` applies events to the generation that
 * serves queries; `building` fills a new generation (a new version after a
 * deployment, or a blue/green rebuild) until it catches up and the alias
 * switches to it.
 */
export interface Slot {
  projection: Projection;
  serving: string;
  /** null while a newer version is being built and no code for the serving one exists any more. */
  live: ProjectionRunner | null;
  building: ProjectionRunner | null;
}
