import { badInput } from '../../shared/errors.js';
import { isValidId } from '../../shared/ids.js';

/**
 * A namespace's default authentication for SDK-based plugins of one cloud
 * provider (Kestra EE's namespace-level "default authentication" for AWS,
 * GCP, Azure…): which credentials the provider's tasks use when they do not
 * set their own. It names credentials, never holds them: a service account of
 * the tenant, and/or, per credential field, the KEY of a namespace secret.
 * Anything that looks like a credential itself is refused.
 */
export interface DefaultAuthentication {
  /** `aws`, `gcp`, `azure`, or any lowercase name. */
  provider: string;
  /** The plugin type prefix it applies to (`io.kestra.plugin.aws` applies to `io.kestra.plugin.aws.s3.Upload`). */
  pluginType: string;
  /** A service account of the tenant the provider's tasks act as, or null. */
  serviceAccountId: string | null;
  /** Credential field → secret key (e.g. `accessKeyId` → `AWS_ACCESS_KEY_ID`), sorted by field. */
  secretRefs: Record<string, string>;
}

/** The plugin prefix of the providers Kestra ships; any other provider `p` defaults to `io.kestra.plugin.p`. */
export const PROVIDER_PLUGIN_TYPES: Readonly<Record<string, string>> = {
  aws: 'io.kestra.plugin.aws',
  gcp: 'io.kestra.plugin.gcp',
  azure: 'io.kestra.plugin.azure',
};

const PROVIDER = /^[a-z][a-z0-9-]{0,39}$/;
const PLUGIN_TYPE = /^[A-Za-z_$][A-Za-z0-9_$]*(\.[A-Za-z_$][A-Za-z0-9_$]*)*$/;
const FIELD = /^[A-Za-z][A-Za-z0-9_]{0,99}$/;
const MAX_SECRET_REFS = 20;
export const MAX_DEFAULT_AUTHENTICATIONS = 50;

/**
 * Values that are credentials, whatever else they look like: AWS access key
 * ids (which are valid secret key names), Google API keys, PEM blocks, JSON
 * key files. The rest of the refusal is the secret key rule itself: a value
 * with characters a secret key cannot hold (`/`, `+`, `=`, `-`, `~`, spaces,
 * braces…) is not a reference to one.
 */
const CREDENTIAL_SHAPES: readonly RegExp[] = [
  /^(AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA|ABIA|ACCA)[A-Z0-9]{12,}$/,
  /^AIza[0-9A-Za-z_-]{30,}$/,
  /-----BEGIN [A-Z ]+-----/,
  /^\s*\{/,
];

export function pluginTypeOf(provider: string): string {
  return PROVIDER_PLUGIN_TYPES[provider] ?? `io.kestra.plugin.${provider.replaceAll('-', '')}`;
}

export function validateProvider(value: unknown): string {
  if (typeof value !== 'string' || !PROVIDER.test(value)) {
    throw badInput('provider', 'provider must be a lowercase name such as aws, gcp or azure (letters, digits and -, at most 40)');
  }
  return value;
}

/** The error never quotes the value: it may be the very credential that must not be stored or logged. */
function validateSecretRef(field: string, value: unknown): string {
  const where = `secretRefs.${field}`;
  if (typeof value !== 'string') throw badInput(where, `${where} must be the key of a namespace secret (a string)`);
  if (CREDENTIAL_SHAPES.some((shape) => shape.test(value)) || !isValidId('secretKey', value)) {
    throw badInput(
      where,
      `${where} looks like a credential, not the key of a namespace secret: store the value with putSecret and give its key (^[A-Za-z_][A-Za-z0-9_]*$)`,
      { reason: 'RAW_CREDENTIAL' },
    );
  }
  return value;
}

export function validateDefaultAuthentication(input: {
  provider: unknown;
  pluginType?: unknown;
  serviceAccountId?: unknown;
  secretRefs?: unknown;
}): DefaultAuthentication {
  const provider = validateProvider(input.provider);
  const pluginType = input.pluginType === undefined || input.pluginType === null ? pluginTypeOf(provider) : input.pluginType;
  if (typeof pluginType !== 'string' || pluginType.length > 300 || !PLUGIN_TYPE.test(pluginType)) {
    throw badInput('pluginType', 'pluginType must be a plugin type prefix such as io.kestra.plugin.aws');
  }
  const account = input.serviceAccountId ?? null;
  if (account !== null && !isValidId('name', account)) throw badInput('serviceAccountId', 'serviceAccountId must be a service account id');
  const refs = input.secretRefs ?? {};
  if (typeof refs !== 'object' || refs === null || Array.isArray(refs)) {
    throw badInput('secretRefs', 'secretRefs must be a map of credential field → secret key');
  }
  const entries = Object.entries(refs as Record<string, unknown>);
  if (entries.length > MAX_SECRET_REFS) throw badInput('secretRefs', `at most ${MAX_SECRET_REFS} secret references`);
  const secretRefs: Record<string, string> = {};
  for (const [field, value] of entries.sort(([a], [b]) => a.localeCompare(b))) {
    if (!FIELD.test(field)) throw badInput('secretRefs', 'credential fields are names such as accessKeyId (letters, digits, _)');
    secretRefs[field] = validateSecretRef(field, value);
  }
  if (account === null && entries.length === 0) {
    throw badInput('secretRefs', 'a default authentication names a service account, secret references, or both');
  }
  return { provider, pluginType, serviceAccountId: account, secretRefs };
}

/** The list after setting one provider's entry (replacing its previous one), sorted by provider. */
export function withDefaultAuthentication(list: readonly DefaultAuthentication[], entry: DefaultAuthentication): DefaultAuthentication[] {
  const next = [...list.filter((a) => a.provider !== entry.provider), entry].sort((a, b) => a.provider.localeCompare(b.provider));
  if (next.length > MAX_DEFAULT_AUTHENTICATIONS) {
    throw badInput('provider', `at most ${MAX_DEFAULT_AUTHENTICATIONS} default authentications per namespace`);
  }
  return next;
}
