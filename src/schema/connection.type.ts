import { Field, ObjectType } from 'type-graphql';
import type { Page } from '../application/pagination.js';

type PageInfoView = Page<unknown>['pageInfo'];

/** Relay's PageInfo, shared by every connection (flows, audit logs, ...). */
@ObjectType({ description: 'Where a page of a connection stands (Relay).' })
export class PageInfo implements PageInfoView {
  @Field(() => Boolean, {
    description:
      'More items follow this page: ask again with `after: endCursor`. On a page fetched backwards (`before`), true: the item at `before` follows.',
  })
  hasNextPage!: boolean;
  @Field(() => Boolean, {
    description:
      'More items come before this page: ask again with `last` and `before: startCursor`. On a page fetched forwards, true exactly when it was asked for `after` a cursor.',
  })
  hasPreviousPage!: boolean;
  @Field(() => String, {
    nullable: true,
    description: 'Cursor of the first item of this page: pass it as `before` (with `last`) to get the page before. Null on an empty page.',
  })
  startCursor!: string | null;
  @Field(() => String, {
    nullable: true,
    description: 'Cursor of the last item of this page: pass it as `after` to get the next page. Null on an empty page.',
  })
  endCursor!: string | null;
}
