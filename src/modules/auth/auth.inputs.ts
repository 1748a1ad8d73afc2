import { Field, InputType } from "type-graphql";
import { IsOptional, MaxLength } from "class-validator";
import { DisplayName, EmailAddress } from "../users/index.js";
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from "./password.js";

@InputType()
export class SignUpInput {
  @Field(() => String)
  @EmailAddress()
  email!: string;

  @Field(() => String, {
    description: `${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters, not the email address`,
  })
  password!: string;

  @Field(() => String)
  @DisplayName()
  displayName!: string;

  @Field(() => String, {
    nullable: true,
    description: "The token of an organization invitation sent to this address: the account joins it, verified.",
  })
  @IsOptional()
  @MaxLength(200)
  invitationToken?: string;
}
