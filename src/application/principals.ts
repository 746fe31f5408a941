import type { PrincipalType } from '../aggregates/binding/binding.js';
import { GROUPS, type GroupDocument } from '../projections/groups/groups.projection.js';
import { docId } from '../projections/runtime/projection.js';
import { SERVICE_ACCOUNTS, type ServiceAccountDocument } from '../projections/service-accounts/service-accounts.projection.js';
import { USERS, type UserDocument } from '../projections/users/users.projection.js';
import { badInput } from '../shared/errors.js';
import { isValidId } from '../shared/ids.js';
import type { Application } from './application.js';

/**
 * Who can be named in a binding, a group or a token: users are instance-wide,
 * groups and service accounts exist in one tenant.
 */
export class PrincipalDirectory {
  constructor(private readonly app: Pick<Application, 'readModels'>) {}

  user(id: string): Promise<UserDocument | null> {
    if (!isValidId('user', id)) return Promise.resolve(null);
    return this.app.readModels.instanceCollection<UserDocument>(USERS).findOne({ _id: id });
  }

  groups(tenantId: string) {
    return this.app.readModels.forTenant<GroupDocument>(GROUPS, tenantId);
  }

  serviceAccounts(tenantId: string) {
    return this.app.readModels.forTenant<ServiceAccountDocument>(SERVICE_ACCOUNTS, tenantId);
  }

  async exists(tenantId: string, type: PrincipalType, id: string): Promise<boolean> {
    switch (type) {
      case 'USER':
        return (await this.user(id)) !== null;
      case 'GROUP':
        return isValidId('name', id) && (await this.groups(tenantId).findOne({ _id: docId(tenantId, id) })) !== null;
      case 'SERVICE_ACCOUNT':
        return isValidId('name', id) && (await this.serviceAccounts(tenantId).findOne({ _id: docId(tenantId, id) })) !== null;
    }
  }

  /** BAD_USER_INPUT on `field` when the principal does not exist (users anywhere, groups and service accounts in this tenant). */
  async require(tenantId: string, type: PrincipalType, id: string, field: string): Promise<void> {
    if (!(await this.exists(tenantId, type, id))) {
      const where = type === 'USER' ? '' : ' in this tenant';
      throw badInput(field, `${type.toLowerCase().replace('_', ' ')} ${id} does not exist${where}`);
    }
  }
}
