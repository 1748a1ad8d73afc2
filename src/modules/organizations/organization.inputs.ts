import { Field, InputType } from "type-graphql";

import { IsOptional, Length, Matches, MaxLength } from "class-validator";
import { EmailAddress } from "../users/index.js";
import { OrganizationStatus } from "./organization.type.js";
import { UUID } from "../../graphql/scalars.js";

export const SLUG_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,46}[a-z0-9])?$/;
const SLUG_MESSAGE = "must be 1 to 48 lower-case letters, digits or dashes, not starting or ending with a dash";

/** An organization name: 1 to 100 characters, not only white space. */
function OrganizationName(): PropertyDecorator {
  return (target, key) => {
    Length(1, 100)(target, key);
    Matches(/\S/, { message: "must not be blank" })(target, key);
  };
}

@InputType()
export class CreateOrganizationInput {
  @Field(() => String)
  @OrganizationName()
  name!: string;

  @Field(() => String, { nullable: true, description: "Made from the name when omitted" })
  @IsOptional()
  @Matches(SLUG_PATTERN, { message: SLUG_MESSAGE })
  slug?: string;
}

@InputType()
export class UpdateOrganizationInput {
  @Field(() => String, { nullable: true })
  @IsOptional()
  @OrganizationName()
  name?: string;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @Matches(SLUG_PATTERN, { message: SLUG_MESSAGE })
  slug?: string;

  @Field(() => OrganizationStatus, { nullable: true, description: "Platform admins only (orgs.manage)" })
  @IsOptional()
  status?: OrganizationStatus;
}

@InputType()
export class InviteMemberInput {
  @Field(() => String)
  @EmailAddress()
  email!: string;

  @Field(() => UUID, { nullable: true, description: "A role of the organization; its member role if omitted" })
  @IsOptional()
  roleId?: string;
}

@InputType({ description: "Members matching every given condition." })
export class MemberFilter {
  @Field(() => String, { nullable: true, description: "Part of the email or display name" })
  @IsOptional()
  @MaxLength(100)
  search?: string;

  @Field(() => UUID, { nullable: true, description: "Holding this role of the organization" })
  @IsOptional()
  roleId?: string;
}
