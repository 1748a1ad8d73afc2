import { Field, ID, ObjectType, registerEnumType } from "type-graphql";
import { DateTimeISOResolver } from "graphql-scalars";
import { PageInfo } from "../../graphql/pagination.js";
import { Role } from "../roles/index.js";
import { UUID } from "../../graphql/scalars.js";

/** GraphQL names on the left, stored values on the right. */
export enum OrganizationStatus {
  ACTIVE = "active",
  SUSPENDED = "suspended",
}
registerEnumType(OrganizationStatus, {
  name: "OrganizationStatus",
  valuesConfig: { SUSPENDED: { description: "Set by a platform admin: its members cannot act in it" } },
});

@ObjectType({ description: "A tenant: a company or team with its own members and roles." })
export class Organization {
  @Field(() => UUID)
  id!: string;

  @Field(() => String)
  name!: string;

  @Field(() => String, { description: "Unique; lower-case letters, digits and dashes" })
  slug!: string;

  @Field(() => OrganizationStatus)
  status!: OrganizationStatus;

  @Field(() => DateTimeISOResolver)
  createdAt!: Date;

  @Field(() => DateTimeISOResolver)
  updatedAt!: Date;
}

@ObjectType()
export class OrganizationPage {
  @Field(() => [Organization])
  items!: Organization[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;
}

@ObjectType({ description: "A user's membership of an organization." })
export class OrganizationMember {
  /** Resolved by MemberResolver.id: a membership has no row id of its own (its key is the pair). */
  @Field(() => ID, {
    description: "`<organizationId>:<userId>`: the same in every answer, so that client caches tell memberships apart",
  })
  id!: string;

  @Field(() => UUID)
  organizationId!: string;

  @Field(() => UUID)
  userId!: string;

  @Field(() => String)
  email!: string;

  @Field(() => String)
  displayName!: string;

  @Field(() => DateTimeISOResolver)
  joinedAt!: Date;

  @Field(() => [Role], { description: "Their roles in this organization, by name" })
  roles!: Role[];
}

@ObjectType()
export class OrganizationMemberPage {
  @Field(() => [OrganizationMember])
  items!: OrganizationMember[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;
}

@ObjectType({ description: "An invitation waiting to be accepted." })
export class OrganizationInvitation {
  @Field(() => UUID)
  id!: string;

  @Field(() => UUID)
  organizationId!: string;

  @Field(() => String)
  email!: string;

  @Field(() => Role, { description: "The role the invitee gets on joining" })
  role!: Role;

  @Field(() => DateTimeISOResolver)
  expiresAt!: Date;

  @Field(() => DateTimeISOResolver)
  createdAt!: Date;
}

@ObjectType({ description: "What an invitation link shows before it is accepted." })
export class InvitationPreview {
  @Field(() => String)
  organizationName!: string;

  @Field(() => String, { description: "The address invited: accepting needs an account with it" })
  email!: string;

  @Field(() => DateTimeISOResolver)
  expiresAt!: Date;
}

@ObjectType({ description: "An access token for the session, acting in the organization now." })
export class OrganizationSwitch {
  @Field(() => Organization, { nullable: true, description: "Null after switching to no organization" })
  organization!: Organization | null;

  @Field(() => String, { description: "A JWT with the `org` claim; refreshed tokens keep it." })
  accessToken!: string;

  @Field(() => DateTimeISOResolver)
  accessTokenExpiresAt!: Date;
}
