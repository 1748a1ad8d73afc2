import { Arg, Ctx, Mutation, Resolver } from "type-graphql";
import { DateTimeISOResolver } from "graphql-scalars";
import type { Context } from "../../graphql/context.js";
import { Actor } from "../../graphql/decorators.js";
import type { Principal } from "../../kernel/principal.js";
import type { ReauthService } from "./reauth.service.js";

@Resolver()
export class ReauthResolver {
  constructor(private readonly reauth: ReauthService) {}

  @Mutation(() => DateTimeISOResolver, {
    description:
      "Proves again that the caller is the account's owner, for this session only: for 5 minutes, " +
      "credential changes (linking, two-factor settings) need no further proof. Give one of the " +
      "password, a TOTP or recovery code, or the code of requestReauthenticationCode. Signing in is not " +
      "a proof. Returns when the proof expires.",
  })
  stepUp(
    @Arg("currentPassword", () => String, { nullable: true }) currentPassword: string | undefined,
    @Arg("mfaCode", () => String, { nullable: true, description: "A TOTP code or an unused recovery code" })
    mfaCode: string | undefined,
    @Arg("emailCode", () => String, { nullable: true, description: "From the requestReauthenticationCode mail" })
    emailCode: string | undefined,
    @Actor() actor: Principal,
    @Ctx() ctx: Context,
  ) {
    return this.reauth.stepUp(actor, ctx.token!.sessionId, { currentPassword, mfaCode, emailCode }, ctx.client);
  }

  @Mutation(() => Boolean, {
    description:
      "Mails a one-time code (10 minutes, this session only) for stepUp's emailCode: for accounts with " +
      "neither a password nor a second factor (CONFLICT otherwise).",
  })
  async requestReauthenticationCode(@Actor() actor: Principal, @Ctx() ctx: Context) {
    await this.reauth.requestEmailCode(actor, ctx.token!.sessionId);
    return true;
  }
}
