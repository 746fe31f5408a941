import { Field, ObjectType } from 'type-graphql';

/** Relay's PageInfo, shared by every connection (flows, audit logs, ...). */
@ObjectType({ description: 'Where a page of a connection stands (Relay).' })
export class PageInfo {
  @Field(() => Boolean, { description: 'More items follow this page: ask again with `after: endCursor`.' }) hasNextPage!: boolean;
  @Field(() => String, {
    nullable: true,
    description: 'Cursor of the last item of this page: pass it as `after` to get the next page. Null on an empty page.',
  })
  endCursor!: string | null;
}
