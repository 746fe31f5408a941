import { Field, InputType, Int, ObjectType } from 'type-graphql';
import { DateTimeScalar } from './scalars.js';

@ObjectType({ description: 'A free key/value label.' })
export class Tag {
  @Field(() => String) key!: string;
  @Field(() => String) value!: string;
}

@InputType()
export class TagInput {
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

@InputType({ description: 'Creates the secret, or stores a new version of its value.' })
export class PutSecretInput {
  @Field(() => String) namespace!: string;
  @Field(() => String, { description: 'Matches ^[A-Za-z_][A-Za-z0-9_]*$, at most 256 characters.' }) key!: string;
  @Field(() => String, { description: 'Non-empty, at most 64 KiB (UTF-8). Write-only: no query returns it.' }) value!: string;
  @Field(() => String, { nullable: true, description: 'Omitted: unchanged; null: cleared.' }) description?: string | null;
  @Field(() => [TagInput], { nullable: true, description: 'Omitted: unchanged; null or []: cleared.' }) tags?: TagInput[] | null;
}
