import { Field, ObjectType } from "type-graphql";
import { DateTimeISOResolver, UUIDResolver } from "graphql-scalars";

@ObjectType({ description: "A permission key such as `users.read`; `roles.*` and `*` are wildcards." })
export class Permission {
  @Field(() => UUIDResolver)
  id!: string;

  @Field(() => String)
  key!: string;

  @Field(() => String)
  description!: string;

  @Field(() => DateTimeISOResolver)
  createdAt!: Date;

  @Field(() => DateTimeISOResolver)
  updatedAt!: Date;
}
