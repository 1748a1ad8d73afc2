import { Field, ObjectType } from "type-graphql";
import { DateTimeISOResolver } from "graphql-scalars";
import { Permission } from "../permissions/index.js";
import { UUID } from "../../graphql/scalars.js";

@ObjectType({ description: "A named set of permissions, granted to users: a platform role, or one organization's." })
export class Role {
  @Field(() => UUID)
  id!: string;

  @Field(() => UUID, {
    nullable: true,
    description: "The organization it belongs to; null for a platform role",
  })
  organizationId!: string | null;

  @Field(() => String)
  name!: string;

  @Field(() => String)
  description!: string;

  @Field(() => Boolean, {
    description: "System roles (admin, user; an organization's owner, admin, member) cannot be renamed or deleted.",
  })
  isSystem!: boolean;

  @Field(() => DateTimeISOResolver)
  createdAt!: Date;

  @Field(() => DateTimeISOResolver)
  updatedAt!: Date;

  @Field(() => [Permission])
  permissions?: Permission[];
}
