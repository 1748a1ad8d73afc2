import { Field, ObjectType, registerEnumType } from "type-graphql";
import { DateTimeISOResolver } from "graphql-scalars";
import { UUID } from "../../graphql/scalars.js";

/** GraphQL names on the left, stored and routed names on the right. */
export enum OAuthProviderName {
  GOOGLE = "google",
  GITHUB = "github",
}
registerEnumType(OAuthProviderName, { name: "OAuthProvider", description: "A sign-in provider." });

@ObjectType({ description: "A provider identity the user can sign in with." })
export class LinkedAccount {
  @Field(() => UUID, { description: "The link's own id (not the provider's id of the user)" })
  id!: string;

  @Field(() => OAuthProviderName)
  provider!: OAuthProviderName;

  @Field(() => String, { nullable: true, description: "The email the provider gave at the last sign-in." })
  email!: string | null;

  @Field(() => Boolean, { description: "Whether the provider said it verified that email." })
  emailVerified!: boolean;

  @Field(() => DateTimeISOResolver)
  linkedAt!: Date;
}
