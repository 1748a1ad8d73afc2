import { Arg, Ctx, Mutation, Resolver } from "type-graphql";
import { actorOf, type Context } from "../../graphql/context.js";
import { TotpSetup } from "./mfa.type.js";

@Resolver()
export class MfaResolver {
  @Mutation(() => TotpSetup, { description: "Starts setting up TOTP two-factor authentication; needs the password." })
  async enableTotp(@Arg("currentPassword", () => String) currentPassword: string, @Ctx() ctx: Context) {
    return ctx.services.mfa.enable((await actorOf(ctx)).userId, currentPassword);
  }

  @Mutation(() => [String], {
    description: "Turns TOTP on with a first code from the app. Returns 10 single-use recovery codes, shown once.",
  })
  async confirmTotp(@Arg("code", () => String) code: string, @Ctx() ctx: Context) {
    return ctx.services.mfa.confirm((await actorOf(ctx)).userId, code);
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
