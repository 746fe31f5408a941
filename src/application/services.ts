import type { Application } from './application.js';
import type { Caller } from './caller.js';
import { NamespaceService } from './namespaces.js';
import { TenantService } from './tenants.js';
import { UserService } from './users.js';

/** The use cases, built once per Application and shared by GraphQL and the CLI. */
export class Services {
  readonly tenants: TenantService;
  readonly namespaces: NamespaceService;
  readonly users: UserService;

  constructor(readonly app: Application) {
    this.tenants = new TenantService(app);
    this.namespaces = new NamespaceService(app, this.tenants);
    this.users = new UserService(app);
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
