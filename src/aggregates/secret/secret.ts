import type { Command, Decider, DomainEvent } from '../decider.js';
import { validateDescription } from '../namespace/namespace.js';
import { assertNever, badInput, conflict, notFound } from '../../shared/errors.js';
import { validateId } from '../../shared/ids.js';

/**
 * A namespace secret's metadata. The value itself never enters this module's
 * commands, events or state: it goes straight from the service to the vault,
 * keyed by the version that the SecretPut event then names.
 */
export interface Tag {
  key: string;
  value: string;
}

export interface SecretSettings {
  description: string | null;
  tags: Tag[];
}

export type SecretCommand =
  | Command<
      'PutSecret',
      {
        namespace: string;
        key: string;
        /** The version the value was stored under in the vault; must be above every version the stream has named. */
        version: number;
        /** undefined keeps the current description, null clears it. */
        description?: string | null | undefined;
        /** undefined keeps the current tags, null or [] clears them. */
        tags?: unknown;
      }
    >
  | Command<'DeleteSecret', { namespace: string; key: string }>;

export type SecretEvent =
  | DomainEvent<'SecretPut', { namespace: string; key: string; version: number; created: boolean } & SecretSettings>
  | DomainEvent<'SecretDeleted', { namespace: string; key: string; version: number }>;

export type SecretState =
  { status: 'absent' } | ({ status: 'active' | 'deleted'; namespace: string; key: string; version: number } & SecretSettings);

export const MAX_SECRET_VALUE_BYTES = 64 * 1024;
const MAX_TAGS = 50;
const MAX_TAG_KEY = 256;
const MAX_TAG_VALUE = 1024;

/**
 * Checks a secret value. The message is fixed text: an error must never echo
 * the value, not even a prefix of it.
 */
export function validateSecretValue(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || Buffer.byteLength(value, 'utf8') > MAX_SECRET_VALUE_BYTES) {
    throw badInput('value', `value must be a non-empty string of at most ${MAX_SECRET_VALUE_BYTES} bytes (UTF-8)`);
  }
  return value;
}

export function validateTags(value: unknown): Tag[] {
  if (value === null || value === undefined) return [];
  if (!Array.isArray(value)) throw badInput('tags', 'tags must be a list of {key, value}');
  if (value.length > MAX_TAGS) throw badInput('tags', `at most ${MAX_TAGS} tags`);
  const seen = new Set<string>();
  const tags = value.map((item: unknown, i): Tag => {
    const field = `tags[${i}]`;
    const { key, value: tagValue } = (item ?? {}) as Record<string, unknown>;
    if (typeof key !== 'string' || key.trim().length === 0 || key.length > MAX_TAG_KEY) {
      throw badInput(`${field}.key`, `${field}.key must be a non-empty string of at most ${MAX_TAG_KEY} characters`);
    }
    if (typeof tagValue !== 'string' || tagValue.length > MAX_TAG_VALUE) {
      throw badInput(`${field}.value`, `${field}.value must be a string of at most ${MAX_TAG_VALUE} characters`);
    }
    if (seen.has(key)) throw badInput(`${field}.key`, `tag ${key} appears twice`);
    seen.add(key);
    return { key, value: tagValue };
  });
  return tags.sort((a, b) => a.key.localeCompare(b.key));
}

export interface SecretAddress {
  namespace: string;
  key: string;
}

export function validateSecretAddress(namespace: unknown, key: unknown): SecretAddress {
  return { namespace: validateId('namespace', 'namespace', namespace), key: validateId('secretKey', 'key', key) };
}

/** Everything of a put but the value, checked; the service runs this before it touches the vault. */
export function validatePutSecret(input: { namespace: unknown; key: unknown; description?: unknown; tags?: unknown }): SecretAddress & {
  description?: string | null;
  tags?: Tag[];
} {
  const address = validateSecretAddress(input.namespace, input.key);
  return {
    ...address,
    ...(input.description !== undefined ? { description: validateDescription(input.description) } : {}),
    ...(input.tags !== undefined ? { tags: validateTags(input.tags) } : {}),
  };
}

/** The highest version the stream has named (0 for a new key); versions keep counting across delete and re-create. */
export const currentVersion = (state: SecretState): number => (state.status === 'absent' ? 0 : state.version);

export const secretDecider: Decider<SecretCommand, SecretEvent, SecretState> = {
  name: 'secret',
  stateVersion: 1,
  initialState: () => ({ status: 'absent' }),

  evolve(state, event) {
    switch (event.type) {
      case 'SecretPut': {
        const { namespace, key, version, description, tags } = event.data;
        return { status: 'active', namespace, key, version, description, tags };
      }
      case 'SecretDeleted':
        return state.status === 'absent' ? state : { ...state, status: 'deleted', version: event.data.version };
      default:
        return assertNever(event);
    }
  },

  decide(command, state) {
    switch (command.type) {
      case 'PutSecret': {
        const { namespace, key, description, tags } = validatePutSecret(command.data);
        const version = command.data.version;
        if (!Number.isSafeInteger(version) || version <= currentVersion(state)) {
          throw conflict(`secret ${namespace}/${key} is already at version ${currentVersion(state)}`);
        }
        // A deleted secret forgets its description and tags, as a deleted namespace forgets its settings.
        const kept: SecretSettings = state.status === 'active' ? state : { description: null, tags: [] };
        const data = {
          namespace,
          key,
          version,
          created: state.status !== 'active',
          description: description === undefined ? kept.description : description,
          tags: tags ?? kept.tags,
        };
        return [{ type: 'SecretPut', data, namespace }];
      }
      case 'DeleteSecret': {
        const { namespace, key } = validateSecretAddress(command.data.namespace, command.data.key);
        if (state.status !== 'active') throw notFound(`secret ${namespace}/${key}`);
        return [{ type: 'SecretDeleted', data: { namespace, key, version: state.version }, namespace }];
      }
      default:
        return assertNever(command);
    }
  },
};
