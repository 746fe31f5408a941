import { Field, ID, InputType } from 'type-graphql';

@InputType({ description: 'What updateUser changes; absent fields stay as they are.' })
export class UpdateUserInput {
  @Field(() => String, { nullable: true, description: 'Absent or null: unchanged.' }) email?: string | null;
  @Field(() => String, { nullable: true, description: 'Absent: unchanged; null: cleared.' }) name?: string | null;
}

@InputType({ description: 'A new user (createUser, instance admins only).' })
export class CreateUserInput {
  @Field(() => ID, { description: 'User id: ^[a-zA-Z0-9][a-zA-Z0-9._@-]*$, at most 128; what a JWT’s user claim must carry.' }) id!: string;
  @Field(() => String, { description: 'E-mail address.' }) email!: string;
  @Field(() => String, { nullable: true, description: 'Display name.' }) name?: string | null;
  @Field(() => Boolean, { nullable: true, defaultValue: false, description: 'Make the user an instance admin.' }) instanceAdmin?: boolean;
}
