import { JSONResolver } from "graphql-scalars";
import { Arg, Ctx, Int, Mutation, Resolver } from "type-graphql";

import type { Context } from "../../graphql/context.js";
import { Actor, Needs } from "../../graphql/decorators.js";
import { UUID } from "../../graphql/scalars.js";
import { UnauthenticatedError } from "../../kernel/errors.js";
import type { Principal } from "../../kernel/principal.js";
import type { AccountEmailService } from "./account-email.service.js";
import { SignUpInput } from "./auth.inputs.js";
import type { AuthResult, AuthService, SignedIn } from "./auth.service.js";
import { AuthPayload } from "./auth.type.js";

/**
 * The answer of a sign-in: it may show the signed-in user's own fields, although the request had no
 * token. In cookie mode (or for a refresh from the cookie) the tokens go in cookies and the answer
 * holds only their expiry: a page never sees a token that a cookie carries.
 */
export function reveal(ctx: Context, result: AuthResult, fromCookie = false): AuthAnswer {
  if (result.mfaRequired) return result;
  ctx.selfIds.add(result.user.id);
  if (result.emailVerificationRequired || !(ctx.browser.cookieMode || fromCookie)) return result;
  ctx.browser.keep(result);
  const { accessToken: _access, refreshToken: _refresh, ...answer } = result;
  return answer;
}

/** What a sign-in answers: its result, or in cookie mode the result without its tokens. */
export type AuthAnswer = AuthResult | Omit<SignedIn, "accessToken" | "refreshToken">;

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

  @Mutation(() => AuthPayload, {
    description:
      "Exchanges a refresh token for new tokens; the old one stops working (a repeat within " +
      "KAFKEY_REFRESH_REUSE_GRACE_SECONDS gets the same new tokens). Without `token`, the refresh cookie's " +
      "is used and the new tokens go in cookies.",
  })
  async refreshToken(@Arg("token", () => String, { nullable: true }) token: string | undefined, @Ctx() ctx: Context) {
    const fromCookie = token === undefined || token === null;
    const presented = fromCookie ? ctx.browser.refreshToken : token;
    if (presented === undefined)
      throw new UnauthenticatedError("No refresh token: pass token, or send the refresh cookie");
    try {
      return reveal(ctx, await this.auth.refresh(presented, ctx.client), fromCookie);
    } catch (error) {
      // A refresh cookie that no longer works (its session ended, or it was reused) is cleared.
      if (fromCookie && error instanceof UnauthenticatedError) ctx.browser.forget();
      throw error;
    }
  }

  @Mutation(() => AuthPayload, {
    description:
      "Completes a login that answered mfaRequired, with a TOTP code, a recovery code, or a passkey " +
      "(the browser's answer to passkeyMfaOptions): exactly one of code and webauthn.",
  })
  async verifyMfa(
    @Arg("mfaToken", () => String) mfaToken: string,
    @Arg("code", () => String, { nullable: true, description: "6 digits from the app, or an unused recovery code" })
    code: string | undefined,
    @Arg("webauthn", () => JSONResolver, {
      nullable: true,
      description: "The PublicKeyCredential's JSON (`credential.toJSON()`, or @simplewebauthn/browser's answer)",
    })
    webauthn: unknown,
    @Ctx() ctx: Context,
  ) {
    const proof = { code: code ?? undefined, webauthn: webauthn ?? undefined };
    return reveal(ctx, await this.auth.verifyMfa(mfaToken, proof, ctx.client));
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

  @Mutation(() => Boolean, {
    description:
      "Ends the current session; its access token stops working at once. In a browser, the refresh cookie " +
      "alone is enough (the access token may have expired), and both cookies are cleared.",
  })
  async logout(@Ctx() ctx: Context) {
    // The rule let it through with a live session's token, or with a refresh cookie.
    const actor = await ctx.principal();
    if (actor && ctx.token) await this.auth.logout(actor, ctx.token);
    else await this.auth.logoutWithRefreshToken(ctx.browser.refreshToken!);
    ctx.browser.forget();
    return true;
  }

  @Mutation(() => Int, {
    description:
      "Ends every session of the caller. Returns how many ended. With removeLinkedAccounts, every linked " +
      "provider identity is unlinked too; that needs recent re-authentication (currentPassword or mfaCode " +
      "here, or a stepUp of this session within 5 minutes).",
  })
  async logoutAll(
    @Arg("removeLinkedAccounts", () => Boolean, { defaultValue: false }) removeLinkedAccounts: boolean,
    @Arg("currentPassword", () => String, { nullable: true }) _currentPassword: string | undefined,
    @Arg("mfaCode", () => String, { nullable: true }) _mfaCode: string | undefined,
    @Actor() actor: Principal,
    @Ctx() ctx: Context,
  ) {
    // The proof arguments are checked by the re-authentication rule, before this runs.
    const ended = await this.auth.logoutAll(actor, removeLinkedAccounts);
    ctx.browser.forget();
    return ended;
  }
}
