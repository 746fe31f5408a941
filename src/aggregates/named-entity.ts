import { badInput } from '../shared/errors.js';
import { validateId } from '../shared/ids.js';
import { validateDescription } from './namespace/namespace.js';

/** Roles, groups and service accounts share their identity rules (ids `^[a-z0-9]+(-[a-z0-9]+)*$`, as docs/access-control.md says of roles). */
export interface NamedEntity {
  id: string;
  name: string;
  description: string | null;
}

const MAX_DISPLAY_NAME = 200;

export function validateDisplayName(value: unknown): string {
  if (typeof value !== 'string' || value.trim().length === 0 || value.length > MAX_DISPLAY_NAME) {
    throw badInput('name', `name must be a non-empty string of at most ${MAX_DISPLAY_NAME} characters`);
  }
  return value.trim();
}

/** The display name defaults to the id, so that `{id}` alone is a valid input. */
export function validateNamedEntity(input: { id: unknown; name?: unknown; description?: unknown }): NamedEntity {
  const id = validateId('name', 'id', input.id);
  const name = input.name === undefined || input.name === null ? id : validateDisplayName(input.name);
  return { id, name, description: validateDescription(input.description) };
}

/** What an update may change about a group or a service account. */
export type NamedEntitySettings = Pick<NamedEntity, 'name' | 'description'>;

export interface NamedEntityPatch {
  name?: unknown;
  description?: unknown;
}

/** A validated patch: a null name means unchanged, a null description clears it. */
export function validateNamedEntityPatch(patch: NamedEntityPatch): Partial<NamedEntitySettings> {
  const out: Partial<NamedEntitySettings> = {};
  if (patch.name !== undefined && patch.name !== null) out.name = validateDisplayName(patch.name);
  if (patch.description !== undefined) out.description = validateDescription(patch.description);
  return out;
}
