import { Field, ObjectType } from "type-graphql";
import { DateTimeISOResolver } from "graphql-scalars";
import { UUID } from "../../graphql/scalars.js";

@ObjectType({ description: "A signed-in device: one login and the refresh tokens rotated from it." })
export class Session {
  @Field(() => UUID)
  id!: string;

  @Field(() => DateTimeISOResolver)
  createdAt!: Date;

  @Field(() => DateTimeISOResolver, { description: "When its refresh token was last exchanged." })
  lastUsedAt!: Date;

  @Field(() => DateTimeISOResolver, { description: "When it ends unless refreshed before." })
  expiresAt!: Date;

  @Field(() => String, { nullable: true })
  userAgent!: string | null;

  @Field(() => String, { nullable: true })
  ip!: string | null;
}
