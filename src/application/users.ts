import { requireDeletable, userDecider, type UserCommand, type UserState } from '../aggregates/user/user.js';
import { isInstanceAdmin, type Principal } from '../auth/principal.js';
import { INSTANCE_SCOPE } from '../eventstore/port.js';
import { USERS, type UserDocument } from '../projections/users/users.projection.js';
import { conflict, forbidden, notFound } from '../shared/errors.js';
import { isValidId, validateId } from '../shared/ids.js';
import type { Application } from './application.js';
import type { Caller } from './caller.js';
import { userStream } from './tenants.js';

export interface UserView {
  id: string;
  email: string;
  name: string | null;
  instanceAdmin: boolean;
  disabled: boolean;
  /** Events in the user's stream: what expectedRevision is compared with. */
  revision: number;
  createdAt: string | null;
  updatedAt: string | null;
}

export interface UserPatch {
  email?: string | null;
  name?: string | null;
}

const toView = (doc: UserDocument): UserView => ({
  id: doc.id,
  email: doc.email,
  name: doc.name,
  instanceAdmin: doc.instanceAdmin,
  disabled: doc.disabled === true,
  revision: doc.revision,
  createdAt: doc.createdAt,
  updatedAt: doc.updatedAt ?? null,
});

type WithoutMetadata<T> = T extends unknown ? Omit<T, 'metadata'> : never;
type UserChange = WithoutMetadata<Extract<UserCommand, { type: 'UpdateUser' | 'DisableUser' | 'EnableUser' }>>;

const mayManageUsers = (principal: Principal): boolean => isInstanceAdmin(principal) || principal.type === 'SYSTEM';

/** What deleting a user takes with it, in every tenant (each step writes its own events). */
export interface UserDeletionCascade {
  revokeTokens(caller: Caller, userId: string): Promise<number>;
  leaveGroups(caller: Caller, userId: string): Promise<number>;
  deleteBindings(caller: Caller, userId: string): Promise<number>;
}

/** Users are instance-level; only instance admins manage them. */
export class UserService {
  constructor(
    private readonly app: Pick<Application, 'commands' | 'deletedBefore' | 'execute' | 'readModels'>,
    private readonly cascade: UserDeletionCascade,
  ) {}

  private get users() {
    return this.app.readModels.instanceCollection<UserDocument>(USERS);
  }

  async byId(id: string): Promise<UserView | null> {
    const doc = await this.users.findOne({ _id: id });
    return doc ? toView(doc) : null;
  }

  async list(caller: Caller): Promise<UserView[]> {
    if (!isInstanceAdmin(caller.authenticated())) throw forbidden('USER:LIST');
    return (await this.users.find({}, { sort: { id: 1 } })).map(toView);
  }

  /** Instance admins read any user; any user reads itself. Null when there is no such user. */
  async get(caller: Caller, id: string): Promise<UserView | null> {
    const principal = caller.authenticated();
    const self = principal.type === 'USER' && principal.id === id;
    if (!self && !mayManageUsers(principal)) throw forbidden('USER:VIEW');
    return isValidId('user', id) ? this.byId(id) : null;
  }

  async create(caller: Caller, input: { id: string; email: string; name?: string | null; instanceAdmin?: boolean | null }) {
    if (!mayManageUsers(caller.authenticated())) throw forbidden('USER:CREATE');
    const result = await this.app.execute(userDecider, userStream(input.id), {
      type: 'CreateUser',
      data: { id: input.id, email: input.email, name: input.name ?? null, instanceAdmin: input.instanceAdmin ?? false },
      metadata: { ...caller.commandMetadata(INSTANCE_SCOPE) },
    });
    return { user: this.view(result.state, result.revision, result.loaded), position: result.position };
  }

  /** Instance admins only: the e-mail address and the display name (null clears it). */
  async update(caller: Caller, id: string, patch: UserPatch, expectedRevision?: number | null) {
    if (!mayManageUsers(caller.authenticated())) throw forbidden('USER:UPDATE');
    return this.change(caller, id, { type: 'UpdateUser', data: { id, patch } }, expectedRevision);
  }

  /**
   * Instance admins only; never the built-in admin. The user's API tokens and
   * JWTs stop authenticating at once (the verifiers refuse a disabled user)
   * and its open sessions end at the next session check; its bindings and
   * group memberships stay, and count again once it is enabled.
   */
  async disable(caller: Caller, id: string, expectedRevision?: number | null) {
    if (!mayManageUsers(caller.authenticated())) throw forbidden('USER:UPDATE');
    return this.change(caller, id, { type: 'DisableUser', data: { id } }, expectedRevision);
  }

  async enable(caller: Caller, id: string, expectedRevision?: number | null) {
    if (!mayManageUsers(caller.authenticated())) throw forbidden('USER:UPDATE');
    return this.change(caller, id, { type: 'EnableUser', data: { id } }, expectedRevision);
  }

  private async change(caller: Caller, id: string, command: UserChange, expectedRevision: number | null | undefined) {
    if (!isValidId('user', id)) throw notFound('user');
    const result = await this.app.execute(
      userDecider,
      userStream(id),
      { ...command, metadata: caller.commandMetadata(INSTANCE_SCOPE) },
      { expectedRevision },
    );
    return { user: this.view(result.state, result.revision, result.loaded), position: result.position };
  }

  /**
   * Instance admins only; never the built-in admin. Its API tokens are
   * revoked, it leaves every group and its bindings are deleted, in every
   * tenant, each by its own command (its own audit entry), then the user; a
   * stale expectedRevision (or the built-in admin) is refused before
   * anything is written. Its JWTs stop authenticating at once (the verifier
   * finds no user), open sessions end, and the id is never used again.
   */
  async delete(caller: Caller, id: string, expectedRevision?: number | null) {
    if (!mayManageUsers(caller.authenticated())) throw forbidden('USER:DELETE');
    const stream = userStream(validateId('user', 'id', id));
    const earlier = await this.app.deletedBefore(stream, caller.deletionMetadata(INSTANCE_SCOPE, stream));
    if (earlier !== null) return { deleted: true, position: earlier };
    const current = await this.app.commands.load(userDecider, stream);
    // The decider's refusals (bad id, built-in admin, no such user), before the cascade writes anything.
    requireDeletable(id, current.state);
    if (expectedRevision != null && expectedRevision !== current.revision) {
      throw conflict(`${stream} is at revision ${current.revision}, not ${expectedRevision}`, current.revision);
    }
    await this.cascade.revokeTokens(caller, id);
    await this.cascade.leaveGroups(caller, id);
    await this.cascade.deleteBindings(caller, id);
    const result = await this.app.execute(
      userDecider,
      userStream(id),
      { type: 'DeleteUser', data: { id }, metadata: caller.deletionMetadata(INSTANCE_SCOPE, stream) },
      { expectedRevision },
    );
    return { deleted: true, position: result.position };
  }

  /** From the command's result: the read model may not have applied it yet. */
  private view(state: UserState, revision: number, at: { createdAt: string | null; lastAt: string | null }): UserView {
    if (state.status !== 'active') throw notFound('user');
    const { id, email, name, instanceAdmin, disabled } = state;
    return { id, email, name, instanceAdmin, disabled, revision, createdAt: at.createdAt, updatedAt: at.lastAt };
  }
}
