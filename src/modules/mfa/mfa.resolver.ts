import { Arg, Ctx, Mutation, Resolver } from "type-graphql";
import type { Context } from "../../graphql/context.js";
import { Actor } from "../../graphql/decorators.js";
import type { Principal } from "../../kernel/principal.js";
import type { MfaService } from "./mfa.service.js";
import { TotpSetup } from "./mfa.type.js";

@Resolver()
export class MfaResolver {
  constructor(private readonly mfa: MfaService) {}

  @Mutation(() => TotpSetup, {
    description:
      "Starts setting up TOTP two-factor authentication. Needs recent re-authentication: currentPassword " +
      "here, or a stepUp of this session within 5 minutes (REAUTHENTICATION_REQUIRED otherwise).",
  })
  enableTotp(
    @Arg("currentPassword", () => String, { nullable: true }) _currentPassword: string | undefined,
    @Actor() actor: Principal,
  ) {
    // The proof arguments are checked by the re-authentication rule, before this runs.
    return this.mfa.enable(actor.userId);
  }

  @Mutation(() => [String], {
    description:
      "Turns TOTP on with a first code from the app; every other session of the user ends. Returns 10 " +
      "single-use recovery codes, shown once. Needs recent re-authentication (enableTotp's counts).",
  })
  confirmTotp(
    @Arg("code", () => String) code: string,
    @Arg("currentPassword", () => String, { nullable: true }) _currentPassword: string | undefined,
    @Actor() actor: Principal,
    @Ctx() ctx: Context,
  ) {
    return this.mfa.confirm(actor.userId, code, ctx.token!.sessionId);
  }

  @Mutation(() => Boolean, { description: "Turns TOTP off; needs a current code or a recovery code." })
  async disableTotp(@Arg("code", () => String) code: string, @Actor() actor: Principal) {
    await this.mfa.disable(actor.userId, code);
    return true;
  }

  @Mutation(() => [String], { description: "Replaces the recovery codes; needs a current code." })
  regenerateRecoveryCodes(@Arg("code", () => String) code: string, @Actor() actor: Principal) {
    return this.mfa.regenerateRecoveryCodes(actor.userId, code);
  }
}
