import { Arg, Ctx, Mutation, Resolver } from "type-graphql";
import { actorOf, type Context } from "../../graphql/context.js";
import { TotpSetup } from "./mfa.type.js";

@Resolver()
export class MfaResolver {
  @Mutation(() => TotpSetup, {
    description:
      "Starts setting up TOTP two-factor authentication. Needs recent re-authentication: currentPassword " +
      "here, or a stepUp of this session within 5 minutes (REAUTHENTICATION_REQUIRED otherwise).",
  })
  async enableTotp(
    @Arg("currentPassword", () => String, { nullable: true }) _currentPassword: string | undefined,
    @Ctx() ctx: Context,
  ) {
    // The proof arguments are checked by the re-authentication rule, before this runs.
    return ctx.services.mfa.enable((await actorOf(ctx)).userId);
  }

  @Mutation(() => [String], {
    description:
      "Turns TOTP on with a first code from the app; every other session of the user ends. Returns 10 " +
      "single-use recovery codes, shown once. Needs recent re-authentication (enableTotp's counts).",
  })
  async confirmTotp(
    @Arg("code", () => String) code: string,
    @Arg("currentPassword", () => String, { nullable: true }) _currentPassword: string | undefined,
    @Ctx() ctx: Context,
  ) {
    return ctx.services.mfa.confirm((await actorOf(ctx)).userId, code, ctx.token!.sessionId);
  }

  @Mutation(() => Boolean, { description: "Turns TOTP off; needs a current code or a recovery code." })
  async disableTotp(@Arg("code", () => String) code: string, @Ctx() ctx: Context) {
    await ctx.services.mfa.disable((await actorOf(ctx)).userId, code);
    return true;
  }

  @Mutation(() => [String], { description: "Replaces the recovery codes; needs a current code." })
  async regenerateRecoveryCodes(@Arg("code", () => String) code: string, @Ctx() ctx: Context) {
    return ctx.services.mfa.regenerateRecoveryCodes((await actorOf(ctx)).userId, code);
  }
}
