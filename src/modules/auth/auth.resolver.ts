import { Arg, Ctx, Int, Mutation, Resolver } from "type-graphql";

import type { Context } from "../../graphql/context.js";
import { Actor, Needs } from "../../graphql/decorators.js";
import { UUID } from "../../graphql/scalars.js";
import type { Principal } from "../../kernel/principal.js";
import type { AccountEmailService } from "./account-email.service.js";
import { SignUpInput } from "./auth.inputs.js";
import type { AuthResult, AuthService } from "./auth.service.js";
import { AuthPayload } from "./auth.type.js";

/** The response may show the signed-in user's own fields, although the request had no token. */
export function reveal(ctx: Context, result: AuthResult): AuthResult {
  if (!result.mfaRequired) ctx.selfIds.add(result.user.id);
  return result;
}

@Resolver()
export class AuthResolver {
  constructor(
    private readonly auth: AuthService,
    private readonly accountEmail: AccountEmailService,
  ) {}

  @Mutation(() => AuthPayload, {
    description:
      "Creates an account with the `user` role and signs it in; where verified emails are required, it " +
      "answers emailVerificationRequired and no tokens until the mailed link is followed.",
  })
  async signUp(@Arg("input", () => SignUpInput) input: SignUpInput, @Ctx() ctx: Context) {
    return reveal(ctx, await this.auth.signUp(input, ctx.client));
  }

  @Mutation(() => AuthPayload, {
    description:
      "Signs in with email and password. With two-factor authentication on, answers mfaRequired and an mfaToken.",
  })
  async login(
    @Arg("email", () => String) email: string,
    @Arg("password", () => String) password: string,
    @Ctx() ctx: Context,
  ) {
    return reveal(ctx, await this.auth.login(email, password, ctx.client));
  }

  @Mutation(() => AuthPayload, { description: "Exchanges a refresh token for new tokens; the old one stops working." })
  async refreshToken(@Arg("token", () => String) token: string, @Ctx() ctx: Context) {
    return reveal(ctx, await this.auth.refresh(token, ctx.client));
  }

  @Mutation(() => AuthPayload, {
    description: "Completes a login that answered mfaRequired, with a TOTP code or a recovery code.",
  })
  async verifyMfa(
    @Arg("mfaToken", () => String) mfaToken: string,
    @Arg("code", () => String, { description: "6 digits from the app, or an unused recovery code" }) code: string,
    @Ctx() ctx: Context,
  ) {
    return reveal(ctx, await this.auth.verifyMfa(mfaToken, code, ctx.client));
  }

  @Mutation(() => Boolean, {
    description:
      "Changes the caller's password; every other session of theirs ends and pending reset links are void. " +
      "With removeLinkedAccounts, every linked provider identity is unlinked too.",
  })
  async changePassword(
    @Arg("currentPassword", () => String) currentPassword: string,
    @Arg("newPassword", () => String) newPassword: string,
    @Arg("removeLinkedAccounts", () => Boolean, { defaultValue: false }) removeLinkedAccounts: boolean,
    @Actor() actor: Principal,
    @Ctx() ctx: Context,
  ) {
    await this.auth.changePassword(actor, ctx.token!, currentPassword, newPassword, ctx.client, removeLinkedAccounts);
    return true;
  }

  @Mutation(() => Boolean, { description: "Lifts a lockout after failed logins." })
  @Needs("users.update", { and: "every permission the user holds" })
  async unlockUser(@Arg("id", () => UUID) id: string, @Actor() actor: Principal) {
    await this.auth.unlock(actor, id);
    return true;
  }

  @Mutation(() => Boolean, { description: "Confirms the email address with the token from the verification mail." })
  async verifyEmail(@Arg("token", () => String) token: string, @Ctx() ctx: Context) {
    ctx.selfIds.add((await this.accountEmail.verifyEmail(token)).id);
    return true;
  }

  @Mutation(() => Boolean, { description: "Mails the caller a new verification link (unless already verified)." })
  async resendVerificationEmail(@Actor() actor: Principal) {
    await this.accountEmail.resendVerification(actor.userId);
    return true;
  }

  @Mutation(() => Boolean, {
    description: "Mails a password reset link if the account exists. Always answers true, to reveal nothing.",
  })
  async requestPasswordReset(@Arg("email", () => String) email: string, @Ctx() ctx: Context) {
    await this.accountEmail.requestPasswordReset(email, ctx.client);
    return true;
  }

  @Mutation(() => Boolean, { description: "Sets a new password with the mailed token; every session ends." })
  async resetPassword(
    @Arg("token", () => String) token: string,
    @Arg("newPassword", () => String) newPassword: string,
  ) {
    await this.accountEmail.resetPassword(token, newPassword);
    return true;
  }

  @Mutation(() => Boolean, { description: "Ends the current session; its access token stops working at once." })
  async logout(@Actor() actor: Principal, @Ctx() ctx: Context) {
    await this.auth.logout(actor, ctx.token!);
    return true;
  }

  @Mutation(() => Int, {
    description:
      "Ends every session of the caller. Returns how many ended. With removeLinkedAccounts, every linked " +
      "provider identity is unlinked too; that needs recent re-authentication (currentPassword or mfaCode " +
      "here, or a stepUp of this session within 5 minutes).",
  })
  logoutAll(
    @Arg("removeLinkedAccounts", () => Boolean, { defaultValue: false }) removeLinkedAccounts: boolean,
    @Arg("currentPassword", () => String, { nullable: true }) _currentPassword: string | undefined,
    @Arg("mfaCode", () => String, { nullable: true }) _mfaCode: string | undefined,
    @Actor() actor: Principal,
  ) {
    // The proof arguments are checked by the re-authentication rule, before this runs.
    return this.auth.logoutAll(actor, removeLinkedAccounts);
  }
}
