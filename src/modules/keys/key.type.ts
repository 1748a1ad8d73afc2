import { Field, ObjectType, registerEnumType } from "type-graphql";
import { DateTimeISOResolver } from "graphql-scalars";

/** Where a signing key is in its rotation. */
export enum SigningKeyState {
  NEXT = "next",
  CURRENT = "current",
  RETIRED = "retired",
  EXPIRED = "expired",
  REVOKED = "revoked",
}

registerEnumType(SigningKeyState, {
  name: "SigningKeyState",
  description: "Where a signing key is in its rotation.",
  valuesConfig: {
    NEXT: { description: "Published in the JWKS; signs from activatesAt." },
    CURRENT: { description: "Signs the access tokens issued now." },
    RETIRED: { description: "Signs no more; published and accepted until its tokens have expired (expiresAt)." },
    EXPIRED: { description: "Neither published nor accepted: every token it signed has expired." },
    REVOKED: { description: "Revoked by an emergency rotation: its tokens are refused." },
  },
});

@ObjectType({ description: "A key access tokens are signed with; its public part is in /.well-known/jwks.json." })
export class SigningKey {
  @Field(() => String, { description: "Its key id: the `kid` of the tokens it signs and of its JWK." })
  id!: string;

  @Field(() => String, { description: "The JOSE algorithm: ES256." })
  algorithm!: string;

  @Field(() => SigningKeyState)
  state!: SigningKeyState;

  @Field(() => DateTimeISOResolver)
  createdAt!: Date;

  @Field(() => DateTimeISOResolver, { description: "When it starts signing." })
  activatesAt!: Date;

  @Field(() => DateTimeISOResolver, {
    nullable: true,
    description: "When it stops signing: the next key's activation.",
  })
  retiresAt!: Date | null;

  @Field(() => DateTimeISOResolver, { nullable: true, description: "When it stops being published and accepted." })
  expiresAt!: Date | null;

  @Field(() => DateTimeISOResolver, { nullable: true })
  revokedAt!: Date | null;
}
