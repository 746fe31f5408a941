import { Field, ID, Int, ObjectType } from 'type-graphql';
import { DateTimeScalar } from './scalars.js';

@ObjectType({ description: 'A fully isolated workspace.' })
export class Tenant {
  @Field(() => ID) id!: string;
  @Field(() => String) name!: string;
  @Field(() => [String], { description: 'Host names routed to this tenant.' }) domains!: string[];
  @Field(() => Boolean, { description: 'Refuse flows whose namespace was never created.' }) requireExistingNamespace!: boolean;
  @Field(() => Boolean) deleted!: boolean;
  @Field(() => Int) revision!: number;
  @Field(() => DateTimeScalar) createdAt!: string;
  @Field(() => DateTimeScalar) updatedAt!: string;
}
