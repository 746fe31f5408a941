import { Field, ID, Int, ObjectType } from 'type-graphql';
import type { TenantView } from '../application/tenants.js';
import { CREATED_AT, REVISION, UPDATED_AT } from './descriptions.js';
import { DateTimeScalar } from './scalars.js';

@ObjectType({
  description:
    'A fully isolated workspace: its namespaces, flows, secrets, roles, bindings, groups, service accounts and audit trail are its own. Users are instance-wide and get rights in a tenant through its bindings.',
})
export class Tenant implements TenantView {
  @Field(() => ID, { description: 'The tenant id, as in `/api/v1/{tenant}/graphql`: ^[a-z0-9][a-z0-9_-]*$, at most 64.' }) id!: string;
  @Field(() => String, { description: 'Display name.' }) name!: string;
  @Field(() => [String], { description: 'Host names routed to this tenant.' }) domains!: string[];
  @Field(() => Boolean, { description: 'Refuse flows whose namespace was never created.' }) requireExistingNamespace!: boolean;
  @Field(() => Boolean, { description: 'Soft-deleted: its endpoint answers TENANT_NOT_FOUND until an instance admin restores it.' })
  deleted!: boolean;
  @Field(() => Int, { description: REVISION }) revision!: number;
  @Field(() => DateTimeScalar, { description: CREATED_AT }) createdAt!: string;
  @Field(() => DateTimeScalar, { description: UPDATED_AT }) updatedAt!: string;
}
