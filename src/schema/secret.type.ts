import { Field, Int, ObjectType } from 'type-graphql';
import type { Tag as TagView } from '../aggregates/secret/secret.js';
import type { SecretView } from '../application/secrets.js';
import { CREATED_AT, DESCRIPTION_TEXT } from './descriptions.js';
import { DateTimeScalar } from './scalars.js';

@ObjectType({ description: 'A free key/value label.' })
export class Tag implements TagView {
  @Field(() => String, { description: 'The tag name.' }) key!: string;
  @Field(() => String, { description: 'Its value.' }) value!: string;
}

// tenantId: the tenant is the endpoint's.
@ObjectType({ description: 'Everything about a namespace secret except its value, which can be written but never read back.' })
export class SecretMetadata implements Omit<SecretView, 'tenantId'> {
  @Field(() => String, { description: 'The namespace the secret lives in.' }) namespace!: string;
  @Field(() => String, { description: "The secret key, as flows name it in secret('KEY')." }) key!: string;
  @Field(() => String, { nullable: true, description: DESCRIPTION_TEXT }) description!: string | null;
  @Field(() => [Tag], { description: 'Free key/value labels.' }) tags!: Tag[];
  @Field(() => Int, { description: 'Bumped by every put.' }) version!: number;
  @Field(() => Int, { description: 'Events in the secret stream: pass it as expectedRevision to putSecret or deleteSecret.' })
  revision!: number;
  @Field(() => DateTimeScalar, { description: CREATED_AT }) createdAt!: string;
  @Field(() => DateTimeScalar, { description: 'When its value or metadata last changed.' }) updatedAt!: string;
  @Field(() => Boolean, {
    description: 'false when the value was crypto-shredded: the tenant was deleted and restored. A new put makes it available again.',
  })
  valueAvailable!: boolean;
  @Field(() => String, {
    nullable: true,
    description:
      'The ancestor namespace this secret is inherited from (includeInherited); null for a secret of the listed namespace itself.',
  })
  inheritedFrom!: string | null;
}
