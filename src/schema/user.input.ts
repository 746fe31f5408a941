import { Field, ID, InputType } from 'type-graphql';

@InputType()
export class UpdateUserInput {
  @Field(() => String, { nullable: true, description: 'Absent or null: unchanged.' }) email?: string | null;
  @Field(() => String, { nullable: true, description: 'Absent: unchanged; null: cleared.' }) name?: string | null;
}

@InputType()
export class CreateUserInput {
  @Field(() => ID) id!: string;
  @Field(() => String) email!: string;
  @Field(() => String, { nullable: true }) name?: string | null;
  @Field(() => Boolean, { nullable: true, defaultValue: false }) instanceAdmin?: boolean;
}
