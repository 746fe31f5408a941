import { Arg, Ctx, Int, Query, Resolver, Root, Subscription, type SubscribeResolverData } from 'type-graphql';
import type { AuditLogFilterInput } from '../application/audit.js';
import type { AuditEntryView } from '../projections/audit/audit-entry.js';
import { badInput } from '../shared/errors.js';
import { AuditLogConnection, AuditLogEntry, AuditLogFilter, AuditLogVerification } from './audit.type.js';
import type { GraphQLContext } from './context.js';
import { PositionScalar } from './scalars.js';

const trail = (ctx: GraphQLContext): string => ctx.services.audit.trail(ctx.caller, ctx.tenantId);

function position(field: string, value: string | null | undefined): number | null {
  if (value === null || value === undefined) return null;
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed)) throw badInput(field, `${field} is beyond the positions of this event store`);
  return parsed;
}

interface AuditLogAppendedArgs {
  filter?: AuditLogFilterInput | null;
  afterPosition?: string | null;
}

@Resolver(() => AuditLogEntry)
export class AuditResolver {
  @Query(() => AuditLogConnection, { description: 'Newest first. Needs AUDITLOG:LIST (namespace-scoped grants see their subtree).' })
  auditLogs(
    @Arg('filter', () => AuditLogFilter, { nullable: true }) filter: AuditLogFilter | null,
    @Arg('first', () => Int, { defaultValue: 50 }) first: number,
    @Arg('after', () => String, { nullable: true }) after: string | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    return ctx.services.audit.list(ctx.caller, trail(ctx), filter, first, after);
  }

  @Query(() => AuditLogVerification, {
    description:
      "Recomputes the tenant's hash chain from the read model and from the event log; names the first entry that does not match.",
  })
  verifyAuditLog(@Ctx() ctx: GraphQLContext) {
    return ctx.services.audit.verify(ctx.caller, trail(ctx));
  }

  @Subscription(() => AuditLogEntry, {
    description:
      'Entries as they are appended (graphql-ws). With afterPosition: first every entry after it (what a reconnecting client missed), then live ones, without gaps or duplicates.',
    subscribe: ({ args, context }: SubscribeResolverData<unknown, AuditLogAppendedArgs, GraphQLContext>) =>
      context.services.audit.follow(context.caller, trail(context), args.filter, position('afterPosition', args.afterPosition)),
  })
  auditLogAppended(
    @Root() entry: AuditEntryView,
    @Arg('filter', () => AuditLogFilter, { nullable: true }) _filter: AuditLogFilter | null,
    @Arg('afterPosition', () => PositionScalar, { nullable: true }) _afterPosition: string | null,
  ): AuditEntryView {
    return entry;
  }
}
