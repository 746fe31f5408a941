import { Field, ID, InputType, Int, ObjectType } from 'type-graphql';
import { DateTimeScalar } from './scalars.js';

@ObjectType({ description: 'A fully isolated workspace.' })
export class Tenant {
  @Field(() => ID) id!: string;
  @Field(() => String) name!: string;
  @Field(() => [String], { description: 'Host names routed to this tenant.' }) domains!: string[];
  @Field(() => Boolean, { description: 'Refuse flows whose namespace was never created.' }) requireExistingNamespace!: boolean;
  @Field(() => Boolean) deleted!: boolean;
  @Field(() => Int) revision!: number;
  @Field(() => DateTimeScalar) createdAt!: string;
  @Field(() => DateTimeScalar) updatedAt!: string;
}

@InputType()
export class CreateTenantInput {
  @Field(() => ID) id!: string;
  @Field(() => String) name!: string;
  @Field(() => [String], { nullable: true }) domains?: string[] | null;
  @Field(() => Boolean, { nullable: true }) requireExistingNamespace?: boolean | null;
  @Field(() => ID, { nullable: true, description: 'User bound as `admin` in the new tenant.' }) adminUserId?: string | null;
}

@InputType()
export class UpdateTenantInput {
  @Field(() => String, { nullable: true }) name?: string | null;
  @Field(() => [String], { nullable: true }) domains?: string[] | null;
  @Field(() => Boolean, { nullable: true }) requireExistingNamespace?: boolean | null;
}
