import { badInput } from '../../shared/errors.js';

/** Which version of an entity an object shows: the current one has none. */
export interface EntityVersion {
  revision?: number;
  asOf?: string;
}

/** What a global id names: an entity type, its tenant (null for instance-level ones), its natural key, its version. */
export interface GlobalKey {
  type: string;
  tenant: string | null;
  key: string[];
  version: EntityVersion | null;
}

const PREFIX = 'T1';

/**
 * The v2 API's `id`: opaque to clients (base64url of JSON behind a format
 * tag), unique across types, tenants and versions, and stable: the same
 * entity at the same version always has the same id, so a normalising
 * client cache (Apollo's `__typename:id`) keeps one object per entity.
 */
export function encodeGlobalId(id: GlobalKey): string {
  const version = id.version && (id.version.revision !== undefined || id.version.asOf !== undefined) ? id.version : null;
  return PREFIX + Buffer.from(JSON.stringify([id.type, id.tenant, id.key, version])).toString('base64url');
}

/** The key a global id names; BAD_USER_INPUT for anything this API did not hand out. */
export function decodeGlobalId(field: string, id: string): GlobalKey {
  const refuse = () => badInput(field, `${field} is not an id returned by this API`);
  if (!id.startsWith(PREFIX)) throw refuse();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(id.slice(PREFIX.length), 'base64url').toString('utf8'));
  } catch {
    throw refuse();
  }
  if (!Array.isArray(parsed) || parsed.length !== 4) throw refuse();
  const [type, tenant, key, version] = parsed as unknown[];
  if (typeof type !== 'string' || (tenant !== null && typeof tenant !== 'string')) throw refuse();
  if (!Array.isArray(key) || !key.every((part) => typeof part === 'string')) throw refuse();
  if (version !== null && !isVersion(version)) throw refuse();
  return { type, tenant, key: key, version: version };
}

function isVersion(value: unknown): value is EntityVersion {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const { revision, asOf, ...rest } = value as Record<string, unknown>;
  if (Object.keys(rest).length > 0) return false;
  if (revision !== undefined && !Number.isSafeInteger(revision)) return false;
  if (asOf !== undefined && (typeof asOf !== 'string' || Number.isNaN(Date.parse(asOf)))) return false;
  return true;
}
