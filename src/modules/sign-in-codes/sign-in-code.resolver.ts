import { Arg, Ctx, Mutation, Resolver } from "type-graphql";
import type { Context } from "../../graphql/context.js";
import { AuthPayload, reveal } from "../auth/index.js";
import type { SignInCodeService } from "./sign-in-code.service.js";

const OFF = "Off unless KAFKEY_EMAIL_SIGN_IN=true: FORBIDDEN, reason EMAIL_SIGN_IN_OFF.";

@Resolver()
export class SignInCodeResolver {
  constructor(private readonly service: SignInCodeService) {}

  @Mutation(() => Boolean, {
    description:
      "Mails a 6-digit sign-in code and a link (10 minutes, single use; a new request voids the previous " +
      "ones) if the address is an active account's. Always answers true, to reveal nothing; at most 3 " +
      `mails per address per 15 minutes. ${OFF}`,
  })
  async requestSignInCode(@Arg("email", () => String) email: string, @Ctx() ctx: Context) {
    await this.service.request(email, ctx.client);
    return true;
  }

  @Mutation(() => AuthPayload, {
    description:
      "Signs in with the mailed code, and verifies the address. Tries count toward the account's lockout; " +
      "a code dies after 5 wrong ones. With two-factor authentication on, answers mfaRequired (unless " +
      `KAFKEY_EMAIL_SIGN_IN_COUNTS_AS_SECOND_FACTOR). ${OFF}`,
  })
  async signInWithCode(
    @Arg("email", () => String) email: string,
    @Arg("code", () => String) code: string,
    @Ctx() ctx: Context,
  ) {
    return reveal(ctx, await this.service.signInWithCode(email, code, ctx.client));
  }

  @Mutation(() => AuthPayload, {
    description:
      "Signs in with the token of the mailed link (its `token` query parameter), and verifies the address; " +
      `the link and the code of one mail work once, together. As signInWithCode otherwise. ${OFF}`,
  })
  async signInWithLink(@Arg("token", () => String) token: string, @Ctx() ctx: Context) {
    return reveal(ctx, await this.service.signInWithLink(token, ctx.client));
  }
}
