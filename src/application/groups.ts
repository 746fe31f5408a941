import { groupDecider, type GroupState } from '../aggregates/group/group.js';
import { requireNoEscalation } from '../auth/escalation.js';
import { streamName } from '../eventstore/port.js';
import type { GroupDocument } from '../projections/groups/groups.projection.js';
import { docId } from '../projections/runtime/projection.js';
import { notFound } from '../shared/errors.js';
import { validateId } from '../shared/ids.js';
import type { Application } from './application.js';
import type { Caller } from './caller.js';
import type { PrincipalDirectory } from './principals.js';
import type { TenantService } from './tenants.js';
import { TenantWideReads } from './tenant-wide-reads.js';

export interface GroupView {
  id: string;
  name: string;
  description: string | null;
  /** User ids, sorted. */
  members: string[];
  revision: number;
  createdAt: string | null;
  updatedAt: string | null;
}

export interface CreateGroupInput {
  id: string;
  name?: string | null;
  description?: string | null;
}

export const groupStream = (tenantId: string, id: string): string => streamName(tenantId, 'group', id);

const toView = (doc: GroupDocument): GroupView => ({
  id: doc.id,
  name: doc.name,
  description: doc.description,
  members: doc.members,
  revision: doc.revision,
  createdAt: doc.createdAt,
  updatedAt: doc.updatedAt,
});

/** Groups of a tenant. Members inherit the group's bindings, so membership changes are access changes. */
export class GroupService {
  private readonly reads: TenantWideReads<GroupDocument, GroupView>;

  constructor(
    private readonly app: Application,
    private readonly tenants: TenantService,
    private readonly principals: PrincipalDirectory,
  ) {
    this.reads = new TenantWideReads(tenants, 'GROUP', (tenantId) => principals.groups(tenantId), toView);
  }

  list(caller: Caller, tenantId: string): Promise<GroupView[]> {
    return this.reads.list(caller, tenantId);
  }

  get(caller: Caller, tenantId: string, id: string): Promise<GroupView | null> {
    return this.reads.get(caller, tenantId, id);
  }

  async create(caller: Caller, tenantId: string, input: CreateGroupInput) {
    (await this.tenants.enter(caller, tenantId)).require('GROUP', 'CREATE');
    const id = validateId('name', 'id', input.id);
    const result = await this.app.execute(groupDecider, groupStream(tenantId, id), {
      type: 'CreateGroup',
      data: { id, name: input.name, description: input.description },
      metadata: caller.commandMetadata(tenantId),
    });
    return { group: await this.view(tenantId, result.state, result.revision), position: result.position };
  }

  /**
   * The user must exist (users are instance-wide). Adding a member twice
   * changes nothing. A new member gets every grant of the group's bindings:
   * the caller must hold them all at their scopes (see escalation.ts).
   */
  async addMember(caller: Caller, tenantId: string, groupId: string, userId: string) {
    const access = await this.tenants.enter(caller, tenantId);
    access.require('GROUP', 'UPDATE');
    validateId('name', 'groupId', groupId);
    await this.principals.require(tenantId, 'USER', userId, 'userId');
    const given = await this.app.authorizer.grants({ type: 'GROUP', id: groupId }, tenantId);
    requireNoEscalation(access, given, `adding ${userId} to group ${groupId}`);
    return this.changeMembers(caller, tenantId, groupId, { type: 'AddGroupMember', userId });
  }

  async removeMember(caller: Caller, tenantId: string, groupId: string, userId: string) {
    (await this.tenants.enter(caller, tenantId)).require('GROUP', 'UPDATE');
    validateId('name', 'groupId', groupId);
    return this.changeMembers(caller, tenantId, groupId, { type: 'RemoveGroupMember', userId });
  }

  private async changeMembers(
    caller: Caller,
    tenantId: string,
    id: string,
    change: { type: 'AddGroupMember' | 'RemoveGroupMember'; userId: string },
  ) {
    const result = await this.app.execute(groupDecider, groupStream(tenantId, id), {
      type: change.type,
      data: { id, userId: change.userId },
      metadata: caller.commandMetadata(tenantId),
    });
    caller.invalidateAccess();
    return { group: await this.view(tenantId, result.state, result.revision), position: result.position };
  }

  private async view(tenantId: string, state: GroupState, revision: number): Promise<GroupView> {
    if (state.status === 'absent') throw notFound('group');
    const doc = await this.principals.groups(tenantId).findOne({ _id: docId(tenantId, state.id) });
    const { id, name, description, members } = state;
    return { id, name, description, members, revision, createdAt: doc?.createdAt ?? null, updatedAt: doc?.updatedAt ?? null };
  }
}
