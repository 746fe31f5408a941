import type { Application } from './application.js';
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
}
