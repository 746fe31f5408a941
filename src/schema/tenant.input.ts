import { Field, ID, InputType } from 'type-graphql';

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
