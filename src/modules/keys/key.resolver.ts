import { Arg, Mutation, Query, Resolver } from "type-graphql";
import { Actor, Needs } from "../../graphql/decorators.js";
import type { Principal } from "../../kernel/principal.js";
import type { SigningKeys } from "./signing-keys.service.js";
import { SigningKey } from "./key.type.js";

@Resolver(() => SigningKey)
export class KeyResolver {
  constructor(private readonly keys: SigningKeys) {}

  @Query(() => [SigningKey], { description: "Every signing key of access tokens, the latest to activate first." })
  @Needs("keys.rotate")
  signingKeys() {
    return this.keys.list();
  }

  @Mutation(() => SigningKey, {
    description:
      "Rotates the signing key of access tokens. Normally the new key is published at once and signs after the publish lead (KAFKEY_SIGNING_KEY_PUBLISH_LEAD_SECONDS), while tokens already issued keep working; a key already staged is returned as it is. `emergency: true` revokes every key in use at once (their tokens are refused on every instance from the next request; clients refresh) and the new key signs immediately. Audited.",
  })
  @Needs("keys.rotate")
  rotateSigningKey(
    @Actor() actor: Principal,
    @Arg("emergency", () => Boolean, { defaultValue: false }) emergency: boolean,
  ) {
    return this.keys.rotate(actor, emergency);
  }
}
