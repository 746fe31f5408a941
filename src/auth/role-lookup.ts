import { GROUPS, type GroupDocument } from '../projections/groups/groups.projection.js';
import { ROLES, type RoleDocument } from '../projections/roles/roles.projection.js';
import type { ReadModels } from '../projections/read-models.js';
import type { RoleLookup } from './authorizer.js';
import type { Permission } from './permissions.js';

/** Custom roles and group memberships from the read models, always through a tenant-scoped handle. */
export class ReadModelRoleLookup implements RoleLookup {
  constructor(private readonly readModels: ReadModels) {}

  async customRoles(tenantId: string, roleIds: readonly string[]): Promise<Map<string, Permission[]>> {
    const roles = this.readModels.forTenant<RoleDocument>(ROLES, tenantId);
    const docs = await roles.find({ id: { $in: [...roleIds] } }, { projection: { id: 1, permissions: 1 } });
    return new Map(docs.map((d) => [d.id, d.permissions] as const));
  }

  async groupsOf(tenantId: string, userId: string): Promise<string[]> {
    const groups = this.readModels.forTenant<GroupDocument>(GROUPS, tenantId);
    // A disabled group grants its members nothing.
    return (await groups.find({ members: userId, disabled: { $ne: true } }, { projection: { id: 1 } })).map((g) => g.id);
  }

  async groupDisabled(tenantId: string, groupId: string): Promise<boolean> {
    const groups = this.readModels.forTenant<GroupDocument>(GROUPS, tenantId);
    return (await groups.findOne({ id: groupId }, { projection: { disabled: 1 } }))?.disabled === true;
  }
}
