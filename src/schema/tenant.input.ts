import { Field, ID, InputType } from 'type-graphql';

@InputType({ description: 'A new tenant (createTenant).' })
export class CreateTenantInput {
  @Field(() => ID, { description: 'Tenant id: ^[a-z0-9][a-z0-9_-]*$, at most 64; it cannot be changed or used again.' }) id!: string;
  @Field(() => String, { description: 'Display name.' }) name!: string;
  @Field(() => [String], { nullable: true, description: 'Host names that route to this tenant on /api/v1/graphql. Default: none.' })
  domains?: string[] | null;
  @Field(() => Boolean, { nullable: true, description: 'Refuse flows whose namespace was never created. Default: false.' })
  requireExistingNamespace?: boolean | null;
  @Field(() => ID, { nullable: true, description: 'User bound as `admin` in the new tenant.' }) adminUserId?: string | null;
}

@InputType({ description: 'What updateTenant changes; absent or null fields stay as they are.' })
export class UpdateTenantInput {
  @Field(() => String, { nullable: true, description: 'New display name.' }) name?: string | null;
  @Field(() => [String], { nullable: true, description: 'Replaces the host names (instance admins only); [] removes them all.' })
  domains?: string[] | null;
  @Field(() => Boolean, { nullable: true, description: 'Refuse flows whose namespace was never created.' })
  requireExistingNamespace?: boolean | null;
}
