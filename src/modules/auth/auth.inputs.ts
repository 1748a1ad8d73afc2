import { Field, InputType } from "type-graphql";
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
}
