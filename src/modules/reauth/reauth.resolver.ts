import { Arg, Ctx, Mutation, Resolver } from "type-graphql";
import { DateTimeISOResolver } from "graphql-scalars";
import { actorOf, type Context } from "../../graphql/context.js";

@Resolver()
export class ReauthResolver {
  @Mutation(() => DateTimeISOResolver, {
    description:
      "Proves again that the caller is the account's owner, for this session only: for 5 minutes, " +
      "credential changes (linking, two-factor settings) need no further proof. Give one of the " +
      "password, a TOTP or recovery code, or the code of requestReauthenticationCode. Signing in is not " +
      "a proof. Returns when the proof expires.",
  })
  async stepUp(
    @Arg("currentPassword", () => String, { nullable: true }) currentPassword: string | undefined,
    @Arg("mfaCode", () => String, { nullable: true, description: "A TOTP code or an unused recovery code" })
    mfaCode: string | undefined,
    @Arg("emailCode", () => String, { nullable: true, description: "From the requestReauthenticationCode mail" })
    emailCode: string | undefined,
    @Ctx() ctx: Context,
  ) {
    return ctx.services.reauth.stepUp(
      await actorOf(ctx),
      ctx.token!.sessionId,
      { currentPassword, mfaCode, emailCode },
      ctx.client,
    );
  }

  @Mutation(() => Boolean, {
    description:
      "Mails a one-time code (10 minutes, this session only) for stepUp's emailCode: for accounts with " +
      "neither a password nor a second factor (CONFLICT otherwise).",
  })
  async requestReauthenticationCode(@Ctx() ctx: Context) {
    await ctx.services.reauth.requestEmailCode(await actorOf(ctx), ctx.token!.sessionId);
    return true;
  }
}
