import { Field, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { CHANGE_KINDS, CHANGE_RESOURCE_TYPES, type ChangeKind, type ChangeResourceType, type ChangeView } from '../application/changes.js';
import { DateTimeScalar, PositionScalar } from './scalars.js';

const RESOURCE_TYPES = {
  NAMESPACE: 'A namespace (resourceId: its id). Visible with NAMESPACE:VIEW on it or above it.',
  FLOW: 'A flow (resourceId: `namespace.id`). Visible with FLOW:VIEW on its namespace or above it.',
  SECRET: 'A secret (resourceId: `namespace/KEY`; never its value). Visible with SECRET:VIEW on its namespace or above it.',
  ROLE: 'A custom role. Visible with tenant-wide ROLE:VIEW.',
  BINDING: 'A binding. Visible with tenant-wide BINDING:VIEW.',
  GROUP: 'A group or its members. Visible with tenant-wide GROUP:VIEW.',
  SERVICE_ACCOUNT: 'A service account. Visible with tenant-wide SERVICE_ACCOUNT:VIEW.',
} satisfies Record<ChangeResourceType, string>;
export const ChangeResourceTypeEnum = Object.fromEntries(CHANGE_RESOURCE_TYPES.map((t) => [t, t])) as { [T in ChangeResourceType]: T };
registerEnumType(ChangeResourceTypeEnum, {
  name: 'ChangeResourceType',
  description: 'The kinds of resource whose changes `changes` delivers.',
  valuesConfig: Object.fromEntries(Object.entries(RESOURCE_TYPES).map(([t, description]) => [t, { description }])),
});

const KINDS = {
  CREATED: 'Created (a binding: granted).',
  UPDATED:
    'Changed: fields, a new revision (also one restored from an older revision), disabled or enabled, a group member added or removed.',
  DELETED: 'Deleted (flows: soft-deleted; a binding: revoked).',
  RESTORED: 'Brought back after a delete (restoreFlow, restoreNamespace).',
} satisfies Record<ChangeKind, string>;
export const ChangeKindEnum = Object.fromEntries(CHANGE_KINDS.map((k) => [k, k])) as { [K in ChangeKind]: K };
registerEnumType(ChangeKindEnum, {
  name: 'ChangeKind',
  description: 'What a change did to its resource.',
  valuesConfig: Object.fromEntries(Object.entries(KINDS).map(([k, description]) => [k, { description }])),
});

@ObjectType({
  description:
    'That a resource changed, not how or by whom: refetch what you show. Never a secret value, never who acted or from where (that is the audit log).',
})
export class Change implements ChangeView {
  @Field(() => PositionScalar, { description: 'Its position in the event log: pass the last one received as `afterPosition` to resume.' })
  position!: string;
  @Field(() => DateTimeScalar, { description: 'When it happened.' }) occurredAt!: string;
  @Field(() => ChangeResourceTypeEnum, { description: 'What kind of resource changed.' }) resourceType!: ChangeResourceType;
  @Field(() => String, { description: 'Its id: a flow `namespace.id`, a secret `namespace/KEY`, otherwise the resource id.' })
  resourceId!: string;
  @Field(() => String, {
    nullable: true,
    description:
      'Its namespace (a binding: the namespace it grants on, null when tenant-wide); null for roles, groups and service accounts.',
  })
  namespace!: string | null;
  @Field(() => ChangeKindEnum, { description: 'What happened to it.' }) kind!: ChangeKind;
  @Field(() => Int, {
    nullable: true,
    description: "A flow's revision after the change (its save counter); null for a delete and for other resources.",
  })
  revision!: number | null;
}

@InputType({ description: 'Which changes to deliver; every field given must match (AND). Empty: every change the subscriber may view.' })
export class ChangeFilter {
  @Field(() => [ChangeResourceTypeEnum], { nullable: true, description: 'Only these resource types; absent or empty: all of them.' })
  resourceTypes?: ChangeResourceType[] | null;
  @Field(() => String, {
    nullable: true,
    description: 'This namespace and its whole subtree (roles, groups, service accounts and tenant-wide bindings are then left out).',
  })
  namespace?: string | null;
  @Field(() => String, { nullable: true, description: 'Exactly this resourceId (a flow: `namespace.id`).' }) resourceId?: string | null;
}
