import { JSONResolver } from "graphql-scalars";
import { Arg, Ctx, Mutation, Query, Resolver } from "type-graphql";
import type { Context } from "../../graphql/context.js";
import { Actor, Needs } from "../../graphql/decorators.js";
import { UUID } from "../../graphql/scalars.js";
import type { Principal } from "../../kernel/principal.js";
import { AuthPayload, reveal } from "../auth/index.js";
import type { PasskeyService } from "./passkey.service.js";
import { Passkey } from "./passkey.type.js";

const REAUTH =
  "Needs recent re-authentication: currentPassword or mfaCode here, or a stepUp of this session within 5 " +
  "minutes (REAUTHENTICATION_REQUIRED otherwise).";
const RESPONSE = "The PublicKeyCredential's JSON (`credential.toJSON()`, or @simplewebauthn/browser's answer).";

@Resolver(() => Passkey)
export class PasskeyResolver {
  constructor(private readonly service: PasskeyService) {}

  @Query(() => [Passkey], { description: "The caller's passkeys, oldest first." })
  passkeys(@Actor() actor: Principal) {
    return this.service.list(actor.userId);
  }

  @Query(() => [Passkey], { description: "A user's passkeys, oldest first." })
  @Needs("users.update")
  userPasskeys(@Arg("userId", () => UUID) userId: string) {
    return this.service.listOf(userId);
  }

  @Mutation(() => JSONResolver, {
    description:
      "Starts adding a passkey to the caller's account: the options for `navigator.credentials.create` " +
      "(@simplewebauthn/browser's `startRegistration({ optionsJSON })`), valid 5 minutes, once. The " +
      `caller's own passkeys are excluded. ${REAUTH} NOT_FOUND when passkeys are off.`,
  })
  passkeyRegistrationOptions(
    @Arg("currentPassword", () => String, { nullable: true }) _currentPassword: string | undefined,
    @Arg("mfaCode", () => String, { nullable: true }) _mfaCode: string | undefined,
    @Actor() actor: Principal,
  ) {
    // The proof arguments are checked by the re-authentication rule, before this runs.
    return this.service.registrationOptions(actor);
  }

  @Mutation(() => Passkey, {
    description: `Adds the passkey the browser made from passkeyRegistrationOptions. ${REAUTH}`,
  })
  registerPasskey(
    @Arg("response", () => JSONResolver, { description: RESPONSE }) response: unknown,
    @Arg("name", () => String, { nullable: true, description: "Up to 100 characters; default “Passkey”." })
    name: string | undefined,
    @Arg("currentPassword", () => String, { nullable: true }) _currentPassword: string | undefined,
    @Arg("mfaCode", () => String, { nullable: true }) _mfaCode: string | undefined,
    @Actor() actor: Principal,
  ) {
    return this.service.register(actor, response, name ?? undefined);
  }

  @Mutation(() => JSONResolver, {
    description:
      "Starts a passkey sign-in: the options for `navigator.credentials.get` (`startAuthentication({ " +
      "optionsJSON })`), valid 5 minutes, once. Without email: any passkey of this site (usernameless; " +
      "conditional UI works). With one: that account's passkeys; the answer has the same shape whether " +
      "the account exists or not.",
  })
  passkeyLoginOptions(@Arg("email", () => String, { nullable: true }) email: string | undefined) {
    return this.service.loginOptions(email ?? undefined);
  }

  @Mutation(() => AuthPayload, {
    description:
      "Signs in with the browser's answer to passkeyLoginOptions; answers like login (cookie mode too). " +
      "User verification is required, so no second factor follows.",
  })
  async loginWithPasskey(
    @Arg("response", () => JSONResolver, { description: RESPONSE }) response: unknown,
    @Ctx() ctx: Context,
  ) {
    return reveal(ctx, await this.service.login(response, ctx.client));
  }

  @Mutation(() => JSONResolver, {
    description:
      "For a login that answered mfaRequired: the options for `navigator.credentials.get` with that " +
      "user's passkeys, to answer verifyMfa's webauthn with. NOT_FOUND when the user has none.",
  })
  passkeyMfaOptions(@Arg("mfaToken", () => String) mfaToken: string) {
    return this.service.mfaOptions(mfaToken);
  }

  @Mutation(() => Passkey, { description: "Renames one of the caller's passkeys." })
  renamePasskey(
    @Arg("id", () => UUID) id: string,
    @Arg("name", () => String, { description: "Up to 100 characters." }) name: string,
    @Actor() actor: Principal,
  ) {
    return this.service.rename(actor, id, name);
  }

  @Mutation(() => Boolean, {
    description:
      "Removes one of the caller's passkeys. The last way to sign in stays: without a password or a " +
      `linked account, the last passkey cannot go (CONFLICT LAST_SIGN_IN_METHOD). ${REAUTH}`,
  })
  async removePasskey(
    @Arg("id", () => UUID) id: string,
    @Arg("currentPassword", () => String, { nullable: true }) _currentPassword: string | undefined,
    @Arg("mfaCode", () => String, { nullable: true }) _mfaCode: string | undefined,
    @Actor() actor: Principal,
  ) {
    await this.service.remove(actor, id);
    return true;
  }

  @Mutation(() => Boolean, {
    description:
      "Removes a user's passkey; the user's last way to sign in stays (CONFLICT LAST_SIGN_IN_METHOD). Audited.",
  })
  @Needs("users.update", { and: "every permission the user holds" })
  async removeUserPasskey(
    @Arg("userId", () => UUID) userId: string,
    @Arg("id", () => UUID) id: string,
    @Actor() actor: Principal,
  ) {
    await this.service.removeOfUser(actor, userId, id);
    return true;
  }
}
