import { Field, ObjectType } from "type-graphql";
import { DateTimeISOResolver } from "graphql-scalars";
import { UUID } from "../../graphql/scalars.js";

@ObjectType({ description: "A permission key such as `users.read`; `roles.*` and `*` are wildcards." })
export class Permission {
  @Field(() => UUID)
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
