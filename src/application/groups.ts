import { groupDecider, type GroupCommand, type GroupState } from '../aggregates/group/group.js';
import type { NamedEntityPatch } from '../aggregates/named-entity.js';
import { requireNoEscalation } from '../auth/escalation.js';
import { streamName } from '../eventstore/port.js';
import { GROUPS, type GroupDocument } from '../projections/groups/groups.projection.js';
import { conflict, DomainError, ErrorCode, notFound } from '../shared/errors.js';
import { validateId } from '../shared/ids.js';
import type { Application } from './application.js';
import type { BindingService } from './bindings.js';
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
  /** A disabled group's bindings grant its members nothing. */
  disabled: boolean;
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
  disabled: doc.disabled === true,
  revision: doc.revision,
  createdAt: doc.createdAt,
  updatedAt: doc.updatedAt,
});

type WithoutMetadata<T> = T extends unknown ? Omit<T, 'metadata'> : never;

/** Groups of a tenant. Members inherit the group's bindings, so membership changes are access changes. */
export class GroupService {
  private readonly reads: TenantWideReads<GroupDocument, GroupView>;

  constructor(
    private readonly app: Pick<Application, 'commands' | 'deletedBefore' | 'execute' | 'readModels'>,
    private readonly tenants: TenantService,
    private readonly principals: PrincipalDirectory,
    private readonly bindings: BindingService,
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
    return this.run(caller, tenantId, id, { type: 'CreateGroup', data: { id, name: input.name, description: input.description } });
  }

  /** GROUP:UPDATE: the display name and the description (null clears it). */
  async update(caller: Caller, tenantId: string, id: string, patch: NamedEntityPatch, expectedRevision?: number | null) {
    (await this.tenants.enter(caller, tenantId)).require('GROUP', 'UPDATE');
    validateId('name', 'id', id);
    return this.run(caller, tenantId, id, { type: 'UpdateGroup', data: { id, patch } }, expectedRevision);
  }

  /** GROUP:UPDATE. Its bindings grant its members nothing until it is enabled again; members and bindings stay. */
  async disable(caller: Caller, tenantId: string, id: string, expectedRevision?: number | null) {
    (await this.tenants.enter(caller, tenantId)).require('GROUP', 'UPDATE');
    validateId('name', 'id', id);
    return this.run(caller, tenantId, id, { type: 'DisableGroup', data: { id } }, expectedRevision);
  }

  /**
   * GROUP:UPDATE. Enabling gives the members every right of the group's
   * bindings again, so it needs what creating those bindings would:
   * BINDING:CREATE, and every right they grant at its scope (or
   * BINDING:ESCALATE; see escalation.ts).
   */
  async enable(caller: Caller, tenantId: string, id: string, expectedRevision?: number | null) {
    const access = await this.tenants.enter(caller, tenantId);
    access.require('GROUP', 'UPDATE');
    validateId('name', 'id', id);
    await this.bindings.requireMayRegrant(access, tenantId, 'GROUP', id, `enabling group ${id}`);
    return this.run(caller, tenantId, id, { type: 'EnableGroup', data: { id } }, expectedRevision);
  }

  /**
   * GROUP:DELETE, and BINDING:DELETE when bindings name the group. Each
   * binding of the group is deleted by its own command, then each membership
   * ends and the group with them (one event each, one audit entry each). A
   * stale expectedRevision is refused before anything is deleted. Its id is
   * never used again.
   */
  async delete(caller: Caller, tenantId: string, id: string, expectedRevision?: number | null) {
    (await this.tenants.enter(caller, tenantId)).require('GROUP', 'DELETE');
    validateId('name', 'id', id);
    const stream = groupStream(tenantId, id);
    const earlier = await this.app.deletedBefore(stream, caller.deletionMetadata(tenantId, stream));
    if (earlier !== null) return { deleted: true, position: earlier };
    const current = await this.app.commands.load(groupDecider, stream);
    if (current.state.status !== 'active') throw notFound(`group ${id}`);
    if (expectedRevision != null && expectedRevision !== current.revision) {
      throw conflict(`${stream} is at revision ${current.revision}, not ${expectedRevision}`, current.revision);
    }
    await this.bindings.deleteAllOf(caller, tenantId, 'GROUP', id);
    const result = await this.app.execute(
      groupDecider,
      stream,
      { type: 'DeleteGroup', data: { id }, metadata: caller.deletionMetadata(tenantId, stream) },
      { expectedRevision },
    );
    caller.invalidateAccess();
    return { deleted: true, position: result.position };
  }

  /**
   * deleteUser: the user leaves every group of every tenant, each by its own
   * GroupMemberRemoved. Not authorized here: deleting a user is an instance
   * admin's right, and its memberships go with it. Returns the last position.
   */
  async removeFromAllGroups(caller: Caller, userId: string): Promise<number> {
    const groups = await this.app.readModels
      .instanceCollection<GroupDocument>(GROUPS)
      .find({ members: userId }, { sort: { tenantId: 1, id: 1 } });
    let position = 0;
    for (const group of groups) {
      try {
        const result = await this.app.commands.handle(groupDecider, groupStream(group.tenantId, group.id), {
          type: 'RemoveGroupMember',
          data: { id: group.id, userId },
          metadata: caller.commandMetadata(group.tenantId),
        });
        position = Math.max(position, result.position);
      } catch (error) {
        // Removed (or the group deleted) meanwhile: what this cascade wanted already holds.
        if (!(error instanceof DomainError && error.code === ErrorCode.NOT_FOUND)) throw error;
      }
    }
    return position;
  }

  /**
   * The user must exist (users are instance-wide). Adding a member twice
   * changes nothing. A new member gets every grant of the group's bindings:
   * the caller must hold them all at their scopes (see escalation.ts), even
   * while the group is disabled, since whoever enables it later would
   * otherwise hand them out unknowingly.
   */
  async addMember(caller: Caller, tenantId: string, groupId: string, userId: string, expectedRevision?: number | null) {
    const access = await this.tenants.enter(caller, tenantId);
    access.require('GROUP', 'UPDATE');
    validateId('name', 'groupId', groupId);
    await this.principals.require(tenantId, 'USER', userId, 'userId');
    const given = await this.bindings.rightsBoundTo(tenantId, 'GROUP', groupId);
    requireNoEscalation(access, given, `adding ${userId} to group ${groupId}`);
    return this.run(caller, tenantId, groupId, { type: 'AddGroupMember', data: { id: groupId, userId } }, expectedRevision);
  }

  async removeMember(caller: Caller, tenantId: string, groupId: string, userId: string, expectedRevision?: number | null) {
    (await this.tenants.enter(caller, tenantId)).require('GROUP', 'UPDATE');
    validateId('name', 'groupId', groupId);
    return this.run(caller, tenantId, groupId, { type: 'RemoveGroupMember', data: { id: groupId, userId } }, expectedRevision);
  }

  /** One command on the group's stream; the answer comes from its result (the read model may not have applied it yet). */
  private async run(
    caller: Caller,
    tenantId: string,
    id: string,
    command: WithoutMetadata<GroupCommand>,
    expectedRevision?: number | null,
  ) {
    const result = await this.app.execute(
      groupDecider,
      groupStream(tenantId, id),
      { ...command, metadata: caller.commandMetadata(tenantId) },
      { expectedRevision },
    );
    caller.invalidateAccess();
    return { group: view(result.state, result.revision, result.loaded), position: result.position };
  }
}

function view(state: GroupState, revision: number, at: { createdAt: string | null; lastAt: string | null }): GroupView {
  if (state.status !== 'active') throw notFound('group');
  const { id, name, description, members, disabled } = state;
  return { id, name, description, members, disabled, revision, createdAt: at.createdAt, updatedAt: at.lastAt };
}
