import { Field, ObjectType } from "type-graphql";
import { DateTimeISOResolver, UUIDResolver } from "graphql-scalars";
import { Permission } from "../permissions/index.js";

@ObjectType({ description: "A named set of permissions, granted to users." })
export class Role {
  @Field(() => UUIDResolver)
  id!: string;

  @Field(() => String)
  name!: string;

  @Field(() => String)
  description!: string;

  @Field(() => Boolean, { description: "System roles cannot be renamed or deleted." })
  isSystem!: boolean;

  @Field(() => DateTimeISOResolver)
  createdAt!: Date;

  @Field(() => DateTimeISOResolver)
  updatedAt!: Date;

  @Field(() => [Permission])
  permissions?: Permission[];
}
