import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { EffectivePermission } from './access.type.js';
import { DateTimeScalar } from './scalars.js';

export enum PrincipalKind {
  USER = 'USER',
  SERVICE_ACCOUNT = 'SERVICE_ACCOUNT',
  SYSTEM = 'SYSTEM',
}
registerEnumType(PrincipalKind, { name: 'PrincipalKind', description: 'What kind of principal is calling.' });

@ObjectType()
export class User {
  @Field(() => ID) id!: string;
  @Field(() => String) email!: string;
  @Field(() => String, { nullable: true }) name!: string | null;
  @Field(() => Boolean) instanceAdmin!: boolean;
  @Field(() => Boolean, { description: 'A disabled user cannot authenticate (API tokens and JWTs alike) until it is enabled.' })
  disabled!: boolean;
  @Field(() => Int, { description: 'Events in the user stream: pass it as expectedRevision.' }) revision!: number;
  @Field(() => DateTimeScalar, { nullable: true }) createdAt!: string | null;
  @Field(() => DateTimeScalar, { nullable: true }) updatedAt!: string | null;
}

@ObjectType({ description: 'A tenant the caller can act in, with what it may do there.' })
export class MeTenant {
  @Field(() => ID) id!: string;
  @Field(() => String) name!: string;
  @Field(() => [String], { description: 'RESOURCE:ACTION, with @namespace when limited to a subtree.' }) permissions!: string[];
  @Field(() => [EffectivePermission], { description: 'The same permissions, each with the binding or group that grants it.' })
  grants!: EffectivePermission[];
}

@ObjectType()
export class Me {
  @Field(() => ID) id!: string;
  @Field(() => PrincipalKind) type!: PrincipalKind;
  @Field(() => String, { nullable: true }) email!: string | null;
  @Field(() => String, { nullable: true }) name!: string | null;
  @Field(() => Boolean) instanceAdmin!: boolean;
  @Field(() => [MeTenant]) tenants!: MeTenant[];
}
