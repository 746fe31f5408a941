import { userDecider } from '../aggregates/user/user.js';
import { isInstanceAdmin } from '../auth/principal.js';
import { INSTANCE_SCOPE } from '../eventstore/port.js';
import { USERS, type UserDocument } from '../projections/users/users.projection.js';
import { forbidden } from '../shared/errors.js';
import type { Application } from './application.js';
import type { Caller } from './caller.js';
import { userStream } from './tenants.js';

export interface UserView {
  id: string;
  email: string;
  name: string | null;
  instanceAdmin: boolean;
  createdAt: string | null;
}

const toView = (doc: UserDocument): UserView => ({
  id: doc.id,
  email: doc.email,
  name: doc.name,
  instanceAdmin: doc.instanceAdmin,
  createdAt: doc.createdAt,
});

/** Users are instance-level; only instance admins manage them. */
export class UserService {
  constructor(private readonly app: Application) {}

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

  async create(caller: Caller, input: { id: string; email: string; name?: string | null; instanceAdmin?: boolean | null }) {
    const principal = caller.authenticated();
    if (!isInstanceAdmin(principal) && principal.type !== 'SYSTEM') throw forbidden('USER:CREATE');
    const result = await this.app.execute(userDecider, userStream(input.id), {
      type: 'CreateUser',
      data: { id: input.id, email: input.email, name: input.name ?? null, instanceAdmin: input.instanceAdmin ?? false },
      metadata: { ...caller.commandMetadata(INSTANCE_SCOPE) },
    });
    const state = result.state;
    if (state.status !== 'active') throw new Error('user not created');
    const doc = await this.users.findOne({ _id: state.id });
    const { id, email, name, instanceAdmin } = state;
    return {
      user: { id, email, name, instanceAdmin, createdAt: doc?.createdAt ?? result.events[0]?.metadata.occurredAt ?? null },
      position: result.position,
    };
  }

  /**
   * Instance admins only; never the built-in admin. The user's tokens and
   * JWTs stop authenticating at once (the verifiers find no user), open
   * sessions end with them, and the id is never used again, so neither
   * tokens nor bindings nor group memberships (which stay, granting
   * nothing, until deleted) can come back to life.
   */
  async delete(caller: Caller, id: string) {
    const principal = caller.authenticated();
    if (!isInstanceAdmin(principal) && principal.type !== 'SYSTEM') throw forbidden('USER:DELETE');
    const result = await this.app.execute(userDecider, userStream(id), {
      type: 'DeleteUser',
      data: { id },
      metadata: caller.commandMetadata(INSTANCE_SCOPE),
    });
    return { deleted: true, position: result.position };
  }
}
