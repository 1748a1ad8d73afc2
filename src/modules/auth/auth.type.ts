import { Field, ObjectType } from "type-graphql";
import { DateTimeISOResolver } from "graphql-scalars";
import { User } from "../users/index.js";

@ObjectType({ description: "A signed-in session: send accessToken as `Authorization: Bearer`." })
export class AuthPayload {
  @Field(() => User)
  user!: User;

  @Field(() => String, { description: "A JWT, valid until accessTokenExpiresAt." })
  accessToken!: string;

  @Field(() => DateTimeISOResolver)
  accessTokenExpiresAt!: Date;

  @Field(() => String, { description: "Opaque; exchange it with refreshToken. It works once." })
  refreshToken!: string;

  @Field(() => DateTimeISOResolver)
  refreshTokenExpiresAt!: Date;
}
