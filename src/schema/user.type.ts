import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import type { UserView } from '../application/users.js';
import { EffectivePermission } from './access.type.js';
import { CREATED_AT, UPDATED_AT } from './descriptions.js';
import { DateTimeScalar } from './scalars.js';

export enum PrincipalKind {
  USER = 'USER',
  SERVICE_ACCOUNT = 'SERVICE_ACCOUNT',
  SYSTEM = 'SYSTEM',
}
registerEnumType(PrincipalKind, {
  name: 'PrincipalKind',
  description: 'What kind of principal is calling.',
  valuesConfig: {
    USER: { description: 'A user: an API token of theirs, a JWT, or the bootstrap admin token (user `admin`).' },
    SERVICE_ACCOUNT: { description: 'A service account, with one of its API tokens.' },
    SYSTEM: { description: 'The gateway itself or the local command line (npx tenantry), never a remote client.' },
  },
});

@ObjectType({ description: 'A person who can sign in, known to the whole instance; their rights come from bindings in each tenant.' })
export class User implements UserView {
  @Field(() => ID, { description: 'User id: ^[a-zA-Z0-9][a-zA-Z0-9._@-]*$, at most 128 (a JWT names it in its user claim).' }) id!: string;
  @Field(() => String, { description: 'E-mail address.' }) email!: string;
  @Field(() => String, { nullable: true, description: 'Display name; null when none was given.' }) name!: string | null;
  @Field(() => Boolean, { description: 'Manages tenants and users of the whole instance, and holds every right in every tenant.' })
  instanceAdmin!: boolean;
  @Field(() => Boolean, { description: 'A disabled user cannot authenticate (API tokens and JWTs alike) until it is enabled.' })
  disabled!: boolean;
  @Field(() => Int, { description: 'Events in the user stream: pass it as expectedRevision.' }) revision!: number;
  @Field(() => DateTimeScalar, { nullable: true, description: CREATED_AT }) createdAt!: string | null;
  @Field(() => DateTimeScalar, { nullable: true, description: UPDATED_AT }) updatedAt!: string | null;
}

@ObjectType({ description: 'A tenant the caller can act in, with what it may do there.' })
export class MeTenant {
  @Field(() => ID, { description: 'The tenant id.' }) id!: string;
  @Field(() => String, { description: "The tenant's display name." }) name!: string;
  @Field(() => [String], { description: 'RESOURCE:ACTION, with @namespace when limited to a subtree.' }) permissions!: string[];
  @Field(() => [EffectivePermission], { description: 'The same permissions, each with the binding or group that grants it.' })
  grants!: EffectivePermission[];
}

@ObjectType({ description: 'The caller: who the token in the request belongs to, and where it holds rights.' })
export class Me {
  @Field(() => ID, { description: 'The user or service account id.' }) id!: string;
  @Field(() => PrincipalKind, { description: 'What kind of principal the caller is.' }) type!: PrincipalKind;
  @Field(() => String, { nullable: true, description: "The user's e-mail address; null for a service account." }) email!: string | null;
  @Field(() => String, { nullable: true, description: "The user's display name; null for a service account or when none was given." })
  name!: string | null;
  @Field(() => Boolean, { description: 'The caller is an instance admin.' }) instanceAdmin!: boolean;
  @Field(() => [MeTenant], { description: 'Every active tenant where the caller holds at least one right.' }) tenants!: MeTenant[];
}
