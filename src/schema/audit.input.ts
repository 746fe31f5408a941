import { Field, InputType } from 'type-graphql';
import { DateTimeScalar } from './scalars.js';

@InputType()
export class AuditLogFilter {
  @Field(() => String, { nullable: true, description: 'This namespace and its whole subtree.' }) namespace?: string | null;
  @Field(() => String, { nullable: true }) resourceType?: string | null;
  @Field(() => String, { nullable: true }) resourceId?: string | null;
  @Field(() => String, { nullable: true }) actorId?: string | null;
  @Field(() => String, { nullable: true }) action?: string | null;
  @Field(() => DateTimeScalar, { nullable: true, description: 'Inclusive.' }) from?: Date | null;
  @Field(() => DateTimeScalar, { nullable: true, description: 'Exclusive.' }) to?: Date | null;
}
