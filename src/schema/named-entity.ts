import type { UpdateNamedEntityInput } from './access.input.js';

/** Only the fields the client sent: a null name means unchanged, a null description clears it. */
export function namedEntityPatch(input: UpdateNamedEntityInput): { name?: string; description?: string | null } {
  return {
    ...(input.name != null ? { name: input.name } : {}),
    ...(input.description !== undefined ? { description: input.description } : {}),
  };
}
