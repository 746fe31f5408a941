import { INSTANCE_SCOPE } from '../eventstore/port.js';
import type { Application } from './application.js';
import { ApiTokenService } from './api-tokens.js';
import { BindingService } from './bindings.js';
import { EffectivePermissionService } from './effective-permissions.js';
import { GroupService } from './groups.js';
import { PrincipalDirectory } from './principals.js';
import { RoleService } from './roles.js';
import { ServiceAccountService } from './service-accounts.js';
import { AuditService } from './audit.js';
import { ChangeService } from './changes.js';
import { DefaultAuthenticationService } from './default-authentications.js';
import { AuditVerificationJobs } from './audit-jobs.js';
import { AuditLedgerService } from './audit-ledger.js';
import type { Caller } from './caller.js';
import { FlowService } from './flows.js';
import { NamespaceService } from './namespaces.js';
import { NamespaceDeletionService } from './namespace-deletion.js';
import { NamespaceUsageService } from './namespace-usage.js';
import { ResolvedFlowService } from './resolved-flows.js';
import { SecretService } from './secrets.js';
import { TenantService } from './tenants.js';
import { UserService } from './users.js';

/** The use cases, built once per Application and shared by GraphQL and the CLI. */
export class Services {
  readonly tenants: TenantService;
  readonly namespaces: NamespaceService;
  readonly users: UserService;
  readonly principals: PrincipalDirectory;
  readonly roles: RoleService;
  readonly bindings: BindingService;
  readonly groups: GroupService;
  readonly serviceAccounts: ServiceAccountService;
  readonly apiTokens: ApiTokenService;
  readonly effectivePermissions: EffectivePermissionService;
  readonly audit: AuditService;
  readonly changes: ChangeService;
  readonly auditJobs: AuditVerificationJobs;
  readonly auditLedger: AuditLedgerService;
  readonly flows: FlowService;
  readonly secrets: SecretService;
  readonly resolvedFlows: ResolvedFlowService;
  readonly namespaceUsage: NamespaceUsageService;
  readonly namespaceDeletion: NamespaceDeletionService;
  readonly defaultAuthentications: DefaultAuthenticationService;

  constructor(readonly app: Application) {
    this.tenants = new TenantService(app);
    this.namespaces = new NamespaceService(app, this.tenants);
    this.principals = new PrincipalDirectory(app);
    this.roles = new RoleService(app, this.tenants);
    this.bindings = new BindingService(app, this.tenants, this.roles, this.principals);
    this.groups = new GroupService(app, this.tenants, this.principals, this.bindings);
    this.apiTokens = new ApiTokenService(app, this.tenants, this.principals);
    this.serviceAccounts = new ServiceAccountService(app, this.tenants, this.principals, this.bindings, this.apiTokens);
    this.users = new UserService(app, {
      revokeTokens: (caller, userId) => this.apiTokens.revokeAllOf(caller, INSTANCE_SCOPE, 'USER', userId),
      leaveGroups: (caller, userId) => this.groups.removeFromAllGroups(caller, userId),
      deleteBindings: (caller, userId) => this.bindings.deleteAllOfUser(caller, userId),
    });
    this.effectivePermissions = new EffectivePermissionService(app, this.tenants, this.principals);
    this.audit = new AuditService(app, this.tenants);
    this.changes = new ChangeService(this.tenants, this.audit.hub);
    this.auditJobs = new AuditVerificationJobs(app, this.audit);
    this.auditLedger = new AuditLedgerService(app, this.audit);
    this.namespaceUsage = new NamespaceUsageService(this.tenants, this.namespaces);
    this.flows = new FlowService(app, this.tenants, this.namespaces, this.namespaceUsage);
    this.namespaceCascades.push((caller, tenantId, ns) => this.flows.deleteAllIn(caller, tenantId, ns));
    this.secrets = new SecretService(app, this.tenants);
    this.namespaceDeletion = new NamespaceDeletionService(
      this.tenants,
      this.namespaces,
      this.flows,
      this.secrets,
      this.bindings,
      (caller, tenantId, ns) => this.cascadeNamespace(caller, tenantId, ns),
    );
    this.resolvedFlows = new ResolvedFlowService(app, this.tenants, this.flows, this.namespaces, this.secrets, this.principals);
    this.defaultAuthentications = new DefaultAuthenticationService(app, this.tenants, this.namespaces, this.principals);
    this.namespaceCascades.push((caller, tenantId, ns) => this.secrets.deleteAllIn(caller, tenantId, ns));
  }

  /**
   * deleteNamespace(force: true): each flow and secret of the namespace is
   * deleted by its own command (its own event) before the namespace itself.
   * Each content service registers its part here. Returns the last position written.
   */
  readonly namespaceCascades: ((caller: Caller, tenantId: string, namespace: string) => Promise<number>)[] = [];

  async cascadeNamespace(caller: Caller, tenantId: string, namespace: string): Promise<number> {
    let position = 0;
    for (const cascade of this.namespaceCascades) position = Math.max(position, await cascade(caller, tenantId, namespace));
    return position;
  }
}
