import { Field, InputType } from 'type-graphql';
import { DateTimeScalar } from './scalars.js';

@InputType({ description: 'Which audit-log entries to return; every field given must match (AND). Empty: all the caller may see.' })
export class AuditLogFilter {
  @Field(() => String, { nullable: true, description: 'This namespace and its whole subtree.' }) namespace?: string | null;
  @Field(() => String, { nullable: true, description: 'Exactly this resourceType, e.g. FLOW.' }) resourceType?: string | null;
  @Field(() => String, { nullable: true, description: 'Exactly this resourceId (a flow: `namespace.id`).' }) resourceId?: string | null;
  @Field(() => String, { nullable: true, description: 'Entries caused by this user or service account (Actor.id).' }) actorId?:
    string | null;
  @Field(() => String, { nullable: true, description: 'Exactly this action, e.g. UPDATE or GRANT.' }) action?: string | null;
  @Field(() => DateTimeScalar, { nullable: true, description: 'Inclusive.' }) from?: Date | null;
  @Field(() => DateTimeScalar, { nullable: true, description: 'Exclusive.' }) to?: Date | null;
}
