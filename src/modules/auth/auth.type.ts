import { Field, ObjectType } from "type-graphql";
import { DateTimeISOResolver } from "graphql-scalars";
import { User } from "../users/index.js";

@ObjectType({
  description:
    "A signed-in session: send accessToken as `Authorization: Bearer`. When login answers mfaRequired, " +
    "the tokens are null: call verifyMfa with mfaToken and a code. In cookie mode (`x-kafkey-auth-mode: " +
    "cookie`) the tokens are set as HttpOnly cookies instead and answer null; their expiries stay.",
})
export class AuthPayload {
  @Field(() => Boolean, { description: "A second factor is needed before any token is issued." })
  mfaRequired!: boolean;

  @Field(() => Boolean, {
    description: "signUp made the account, but it signs in only once its email is verified: no token is issued.",
  })
  emailVerificationRequired!: boolean;

  @Field(() => String, { nullable: true, description: "For verifyMfa; valid 5 minutes, for this login only." })
  mfaToken?: string;

  @Field(() => User, { nullable: true })
  user?: User;

  @Field(() => String, { nullable: true, description: "A JWT, valid until accessTokenExpiresAt; null in cookie mode." })
  accessToken?: string;

  @Field(() => DateTimeISOResolver, { nullable: true })
  accessTokenExpiresAt?: Date;

  @Field(() => String, {
    nullable: true,
    description: "Opaque; exchange it with refreshToken. It works once. Null in cookie mode.",
  })
  refreshToken?: string;

  @Field(() => DateTimeISOResolver, { nullable: true })
  refreshTokenExpiresAt?: Date;
}
