import { Field, ObjectType } from 'type-graphql';

/** Relay's PageInfo, shared by every connection (flows, audit logs, ...). */
@ObjectType()
export class PageInfo {
  @Field(() => Boolean) hasNextPage!: boolean;
  @Field(() => String, { nullable: true, description: 'Pass as `after` to get the next page.' }) endCursor!: string | null;
}
