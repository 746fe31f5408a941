import { Field, InputType } from 'type-graphql';

@InputType({ description: 'A free key/value label of a secret.' })
export class TagInput {
  @Field(() => String, { description: 'The tag name.' }) key!: string;
  @Field(() => String, { description: 'Its value.' }) value!: string;
}

@InputType({ description: 'Creates the secret, or stores a new version of its value.' })
export class PutSecretInput {
  @Field(() => String, { description: 'The namespace the secret belongs to; flows in it and below it can use it.' }) namespace!: string;
  @Field(() => String, { description: 'Matches ^[A-Za-z_][A-Za-z0-9_]*$, at most 256 characters.' }) key!: string;
  @Field(() => String, { description: 'Non-empty, at most 64 KiB (UTF-8). Write-only: no query returns it.' }) value!: string;
  @Field(() => String, { nullable: true, description: 'Omitted: unchanged; null: cleared.' }) description?: string | null;
  @Field(() => [TagInput], { nullable: true, description: 'Omitted: unchanged; null or []: cleared.' }) tags?: TagInput[] | null;
}
