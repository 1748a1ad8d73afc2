import { Field, ObjectType, registerEnumType } from "type-graphql";
import { DateTimeISOResolver } from "graphql-scalars";
import { PageInfo } from "../../graphql/pagination.js";
import { Role } from "../roles/index.js";
import { UUID } from "../../graphql/scalars.js";

/** GraphQL names on the left, stored values on the right. */
export enum UserStatus {
  ACTIVE = "active",
  DISABLED = "disabled",
}
registerEnumType(UserStatus, { name: "UserStatus", description: "A disabled user cannot sign in." });

@ObjectType({ description: "An identity. Another user's email and roles need users.read." })
export class User {
  @Field(() => UUID)
  id!: string;

  @Field(() => String)
  email!: string;

  @Field(() => String)
  displayName!: string;

  @Field(() => UserStatus)
  status!: UserStatus;

  @Field(() => DateTimeISOResolver, { nullable: true })
  emailVerifiedAt!: Date | null;

  @Field(() => DateTimeISOResolver, {
    nullable: true,
    description: "When TOTP two-factor authentication was turned on.",
  })
  totpEnabledAt!: Date | null;

  @Field(() => DateTimeISOResolver)
  createdAt!: Date;

  @Field(() => DateTimeISOResolver)
  updatedAt!: Date;

  @Field(() => [Role])
  roles?: Role[];
}

@ObjectType()
export class UserPage {
  @Field(() => [User])
  items!: User[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;
}
