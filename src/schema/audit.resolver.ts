import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root, Subscription, type SubscribeResolverData } from 'type-graphql';
import type { AuditJobView } from '../application/audit-jobs.js';
import { flowOf, type AuditEntryView, type AuditLogFilterInput } from '../application/audit.js';
import { badInput } from '../shared/errors.js';
import { AuditLogFilter } from './audit.input.js';
import {
  AuditCheckpoint,
  AuditConsistencyProof,
  AuditInclusionProof,
  AuditLogConnection,
  AuditLogEntry,
  AuditLogVerification,
  AuditSigningKey,
  AuditVerificationJob,
  type AuditVerificationJobStatus,
} from './audit.type.js';
import type { GraphQLContext } from './context.js';
import { AFTER_CURSOR, BEFORE_CURSOR, LAST_ITEMS } from './descriptions.js';
import { PositionScalar } from './scalars.js';

const trail = (ctx: GraphQLContext): string => ctx.services.audit.trail(ctx.caller, ctx.tenantId);

function position(field: string, value: string | null | undefined): number | null {
  if (value === null || value === undefined) return null;
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed)) throw badInput(field, `${field} is beyond the positions of this event store`);
  return parsed;
}

const jobView = (job: AuditJobView) => ({
  ...job,
  status: job.status as AuditVerificationJobStatus,
  targetPosition: String(job.targetPosition),
});

interface AuditLogAppendedArgs {
  filter?: AuditLogFilterInput | null;
  afterPosition?: string | null;
}

@Resolver(() => AuditLogEntry)
export class AuditResolver {
  @FieldResolver(() => String, {
    nullable: true,
    description: "For a flow's entry: the flow's namespace (null for other resources). With flowId it names the flow unambiguously.",
  })
  flowNamespace(@Root() entry: AuditEntryView): string | null {
    return flowOf(entry)?.namespace ?? null;
  }

  @FieldResolver(() => String, {
    nullable: true,
    description: "For a flow's entry: the flow's id within its namespace (resourceId is `namespace.id`, and both may contain dots).",
  })
  flowId(@Root() entry: AuditEntryView): string | null {
    return flowOf(entry)?.id ?? null;
  }

  @Query(() => AuditLogConnection, { description: 'Newest first. Needs AUDITLOG:LIST (namespace-scoped grants see their subtree).' })
  auditLogs(
    @Arg('filter', () => AuditLogFilter, { nullable: true, description: 'Only entries that match; absent: all the caller may see.' })
    filter: AuditLogFilter | null,
    @Arg('first', () => Int, { defaultValue: 50, description: 'Page size: how many entries to return, from 0 to 500.' }) first: number,
    @Arg('after', () => String, { nullable: true, description: AFTER_CURSOR }) after: string | null,
    @Arg('last', () => Int, { nullable: true, description: `${LAST_ITEMS} Backwards here is towards newer entries.` })
    last: number | null,
    @Arg('before', () => String, { nullable: true, description: BEFORE_CURSOR }) before: string | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    return ctx.services.audit.list(ctx.caller, trail(ctx), filter, { first, after, last, before });
  }

  @Query(() => AuditLogVerification, {
    description:
      "Checks the tenant's hash chain in the read model and against the event log; names the first entry that does not match. Incremental by default: from the last entry verified before (whose hash must be unchanged) to the newest. full: from the first entry, within the execution timeout (for a large trail, startAuditVerification runs it in the background). Needs AUDITLOG:LIST on the whole tenant.",
  })
  verifyAuditLog(
    @Arg('full', () => Boolean, {
      defaultValue: false,
      description: 'Check every entry, not only those appended since the last verification.',
    })
    full: boolean,
    @Ctx() ctx: GraphQLContext,
  ) {
    return ctx.services.audit.verify(ctx.caller, trail(ctx), { full });
  }

  @Mutation(() => AuditVerificationJob, {
    nullable: true,
    description:
      "Starts a full re-verification of the tenant's audit chain in the background (or answers with the one already running on this gateway). It takes one of the tenant's slots for expensive work: RATE_LIMITED with retryAfterSeconds when none is free. Needs AUDITLOG:LIST on the whole tenant.",
  })
  startAuditVerification(@Ctx() ctx: GraphQLContext) {
    return ctx.services.auditJobs.start(ctx.caller, trail(ctx)).then(jobView);
  }

  @Query(() => [AuditCheckpoint], {
    description: "Signed checkpoints of the tenant's ledger, oldest first (after afterSize). Needs AUDITLOG:LIST on the whole tenant.",
  })
  auditCheckpoints(
    @Arg('afterSize', () => Int, {
      nullable: true,
      description: 'Only checkpoints larger than this size (the size of the last one you have); absent: from the first.',
    })
    afterSize: number | null,
    @Arg('first', () => Int, { defaultValue: 100, description: 'How many checkpoints to return, from 0 to 1000.' }) first: number,
    @Ctx() ctx: GraphQLContext,
  ) {
    return ctx.services.auditLedger.checkpoints(ctx.caller, trail(ctx), { afterSize, first });
  }

  @Mutation(() => AuditCheckpoint, {
    nullable: true,
    description:
      "Signs the tenant's ledger as it is now (or answers with the checkpoint that already covers it). Needs AUDITLOG:LIST on the whole tenant.",
  })
  signAuditCheckpoint(@Ctx() ctx: GraphQLContext) {
    return ctx.services.auditLedger.sign(ctx.caller, trail(ctx));
  }

  @Query(() => AuditConsistencyProof, {
    description:
      'Proof that the ledger of toSize events (default: the latest checkpoint) extends the one of fromSize (a checkpoint you kept).',
  })
  auditConsistencyProof(
    @Arg('fromSize', () => Int, { description: 'Size of the older ledger: a checkpoint you kept.' }) fromSize: number,
    @Arg('toSize', () => Int, { nullable: true, description: 'Size of the newer ledger; absent: the latest signed checkpoint.' })
    toSize: number | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    return ctx.services.auditLedger.consistency(ctx.caller, trail(ctx), fromSize, toSize);
  }

  @Query(() => AuditInclusionProof, {
    description: 'Proof that the event at `position` is in a signed checkpoint (by default the first that covers it).',
  })
  async auditInclusionProof(
    @Arg('position', () => PositionScalar, { description: 'Position of the event (AuditLogEntry.position).' }) at: string,
    @Arg('treeSize', () => Int, {
      nullable: true,
      description: 'Prove inclusion in the checkpoint of this size; absent: the first checkpoint that covers the event.',
    })
    treeSize: number | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    const proof = await ctx.services.auditLedger.inclusion(ctx.caller, trail(ctx), position('position', at) ?? 0, treeSize);
    return { ...proof, position: String(proof.position) };
  }

  @Query(() => [AuditSigningKey], { description: 'The public keys whose checkpoint signatures verification trusts.' })
  async auditSigningKeys(@Ctx() ctx: GraphQLContext) {
    await ctx.services.audit.requireWholeTrail(ctx.caller, trail(ctx));
    const { current, trusted } = ctx.services.auditLedger.keys();
    return trusted.map((k) => ({ ...k, current: k.keyId === current }));
  }

  @Query(() => AuditVerificationJob, { nullable: true, description: 'A background verification of this tenant, by id.' })
  async auditVerificationJob(
    @Arg('id', () => ID, { description: 'The job id (AuditVerificationJob.id).' }) id: string,
    @Ctx() ctx: GraphQLContext,
  ) {
    const job = await ctx.services.auditJobs.get(ctx.caller, trail(ctx), id);
    return job ? jobView(job) : null;
  }

  @Query(() => [AuditVerificationJob], { description: "This tenant's recent background verifications (up to 20), newest first." })
  async auditVerificationJobs(@Ctx() ctx: GraphQLContext) {
    return (await ctx.services.auditJobs.list(ctx.caller, trail(ctx))).map(jobView);
  }

  @Subscription(() => AuditLogEntry, {
    description:
      'Entries as they are appended (graphql-ws). With afterPosition: first every entry after it (what a reconnecting client missed), then live ones, without gaps or duplicates.',
    subscribe: ({ args, context }: SubscribeResolverData<unknown, AuditLogAppendedArgs, GraphQLContext>) =>
      context.services.audit.follow(context.caller, trail(context), args.filter, position('afterPosition', args.afterPosition)),
  })
  auditLogAppended(
    @Root() entry: AuditEntryView,
    @Arg('filter', () => AuditLogFilter, {
      nullable: true,
      description: 'Only entries that match; absent: every entry the caller may see.',
    })
    _filter: AuditLogFilter | null,
    @Arg('afterPosition', () => PositionScalar, {
      nullable: true,
      description:
        'Resume after this position (the last entry you received): every entry after it is sent first. Absent: only new entries.',
    })
    _afterPosition: string | null,
  ): AuditEntryView {
    return entry;
  }
}
