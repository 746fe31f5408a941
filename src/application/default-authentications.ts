import {
  validateDefaultAuthentication,
  validateProvider,
  type DefaultAuthentication,
} from '../aggregates/namespace/default-authentication.js';
import { requireNoEscalation } from '../auth/escalation.js';
import { validateId } from '../shared/ids.js';
import type { Application } from './application.js';
import type { Caller } from './caller.js';
import type { NamespaceService } from './namespaces.js';
import type { PrincipalDirectory } from './principals.js';
import type { TenantService } from './tenants.js';

export interface DefaultAuthenticationInput {
  provider: string;
  pluginType?: string | null;
  serviceAccountId?: string | null;
  secretRefs?: unknown;
}

/** A default authentication as seen from a namespace below the one that set it. */
export interface InheritedDefaultAuthentication extends DefaultAuthentication {
  namespace: string;
}

/**
 * Nearest namespace first, per provider: `lineage` is root to leaf, each with
 * its own default authentications. Sorted by provider.
 */
export function inheritedDefaultAuthentications(
  lineage: readonly { id: string; defaultAuthentications: readonly DefaultAuthentication[] }[],
): InheritedDefaultAuthentication[] {
  const byProvider = new Map<string, InheritedDefaultAuthentication>();
  for (const ns of lineage) for (const auth of ns.defaultAuthentications) byProvider.set(auth.provider, { ...auth, namespace: ns.id });
  return [...byProvider.values()].sort((a, b) => a.provider.localeCompare(b.provider));
}

/**
 * Namespace default authentication (Kestra EE's, for SDK-based plugins):
 * set and unset one provider's entry of a namespace. NAMESPACE:UPDATE on the
 * namespace. Naming a service account needs SERVICE_ACCOUNT:VIEW, the account
 * must exist in the tenant, and, since every flow of the subtree may then act
 * with its rights, the caller must hold them all (or BINDING:ESCALATE), as
 * for binding them.
 */
export class DefaultAuthenticationService {
  constructor(
    private readonly app: Pick<Application, 'authorizer'>,
    private readonly tenants: TenantService,
    private readonly namespaces: NamespaceService,
    private readonly principals: PrincipalDirectory,
  ) {}

  async set(caller: Caller, tenantId: string, id: string, input: DefaultAuthenticationInput, expectedRevision?: number | null) {
    const access = await this.tenants.enter(caller, tenantId);
    validateId('namespace', 'id', id);
    access.require('NAMESPACE', 'UPDATE', id);
    // Refused here, before anything is looked up or stored: a raw credential never reaches the log.
    const authentication = validateDefaultAuthentication(input);
    const account = authentication.serviceAccountId;
    if (account !== null) {
      access.require('SERVICE_ACCOUNT', 'VIEW');
      await this.principals.require(tenantId, 'SERVICE_ACCOUNT', account, 'serviceAccountId');
      const given = await this.app.authorizer.grants({ type: 'SERVICE_ACCOUNT', id: account, tenantId }, tenantId);
      requireNoEscalation(access, given, `making service account ${account} the default authentication of ${id}`);
    }
    const change = { kind: 'setDefaultAuthentication' as const, authentication };
    return this.namespaces.changeEntry(caller, tenantId, id, change, expectedRevision);
  }

  /** Removes one provider's entry; nothing happens when there is none. */
  async unset(caller: Caller, tenantId: string, id: string, provider: string, expectedRevision?: number | null) {
    const access = await this.tenants.enter(caller, tenantId);
    validateId('namespace', 'id', id);
    access.require('NAMESPACE', 'UPDATE', id);
    const change = { kind: 'unsetDefaultAuthentication' as const, provider: validateProvider(provider) };
    return this.namespaces.changeEntry(caller, tenantId, id, change, expectedRevision);
  }
}
