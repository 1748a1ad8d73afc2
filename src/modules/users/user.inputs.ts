import { Field, InputType } from "type-graphql";

import { IsEmail, IsOptional, Length, Matches, MaxLength } from "class-validator";
import { UserStatus } from "./user.type.js";
import { UUID } from "../../graphql/scalars.js";

/** A display name: 1 to 100 characters, not only white space. */
export function DisplayName(): PropertyDecorator {
  return (target, key) => {
    Length(1, 100)(target, key);
    Matches(/\S/, { message: "must not be blank" })(target, key);
  };
}

/** An email address of at most 254 characters. */
export function EmailAddress(): PropertyDecorator {
  return (target, key) => {
    IsEmail({}, { message: "must be an email address" })(target, key);
    MaxLength(254)(target, key);
  };
}

@InputType({ description: "What users may change about themselves; roles and status are not among it." })
export class UpdateMeInput {
  @Field(() => String, { nullable: true })
  @IsOptional()
  @DisplayName()
  displayName?: string;
}

@InputType()
export class UpdateUserInput {
  @Field(() => String, { nullable: true })
  @IsOptional()
  @DisplayName()
  displayName?: string;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @EmailAddress()
  email?: string;

  @Field(() => UserStatus, { nullable: true, description: "Disabling a user ends their sessions" })
  @IsOptional()
  status?: UserStatus;
}

@InputType()
export class UserFilter {
  @Field(() => String, { nullable: true, description: "Part of the email or display name, any case" })
  @IsOptional()
  @MaxLength(254)
  search?: string;

  @Field(() => UUID, { nullable: true, description: "Only users holding this role" })
  @IsOptional()
  roleId?: string;

  @Field(() => UserStatus, { nullable: true })
  @IsOptional()
  status?: UserStatus;
}
