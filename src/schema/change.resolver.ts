import { Arg, Resolver, Root, Subscription, type SubscribeResolverData } from 'type-graphql';
import type { ChangeFilterInput, ChangeView } from '../application/changes.js';
import { badInput } from '../shared/errors.js';
import { Change, ChangeFilter } from './change.type.js';
import { requireTenant, type GraphQLContext } from './context.js';
import { PositionScalar } from './scalars.js';

interface ChangesArgs {
  filter?: ChangeFilterInput | null;
  afterPosition?: string | null;
}

function position(value: string | null | undefined): number | null {
  if (value === null || value === undefined) return null;
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed)) throw badInput('afterPosition', 'afterPosition is beyond the positions of this event store');
  return parsed;
}

@Resolver(() => Change)
export class ChangeResolver {
  @Subscription(() => Change, {
    description:
      'Changes of the resources you may VIEW, as they happen (graphql-ws), so a page can stay live: refetch what a change names. With afterPosition: first every change after it (what a reconnecting client missed), then live ones, without gaps or duplicates. Rights are re-checked while it runs: what a revoked grant covered stops; when you may view nothing any more, it ends. Needs VIEW on some namespace, flow or secret (or a tenant-wide VIEW of roles, bindings, groups or service accounts).',
    subscribe: ({ args, context }: SubscribeResolverData<unknown, ChangesArgs, GraphQLContext>) =>
      context.services.changes.follow(context.caller, requireTenant(context), args.filter, position(args.afterPosition)),
  })
  changes(
    @Root() change: ChangeView,
    @Arg('filter', () => ChangeFilter, { nullable: true, description: 'Only changes that match; absent: every change you may view.' })
    _filter: ChangeFilter | null,
    @Arg('afterPosition', () => PositionScalar, {
      nullable: true,
      description: 'Resume after this position (Change.position of the last change you received). Absent: only new changes.',
    })
    _afterPosition: string | null,
  ): ChangeView {
    return change;
  }
}
