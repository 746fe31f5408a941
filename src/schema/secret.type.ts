import { Field, Int, ObjectType } from 'type-graphql';
import { DateTimeScalar } from './scalars.js';

@ObjectType({ description: 'A free key/value label.' })
export class Tag {
  @Field(() => String) key!: string;
  @Field(() => String) value!: string;
}

@ObjectType({ description: 'Everything about a namespace secret except its value, which can be written but never read back.' })
export class SecretMetadata {
  @Field(() => String, { description: 'The namespace the secret lives in.' }) namespace!: string;
  @Field(() => String) key!: string;
  @Field(() => String, { nullable: true }) description!: string | null;
  @Field(() => [Tag]) tags!: Tag[];
  @Field(() => Int, { description: 'Bumped by every put.' }) version!: number;
  @Field(() => Int, { description: 'Events in the secret stream: pass it as expectedRevision to putSecret or deleteSecret.' })
  revision!: number;
  @Field(() => DateTimeScalar) createdAt!: string;
  @Field(() => DateTimeScalar) updatedAt!: string;
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
