import { Arg, type ArgOptions, Ctx, Mutation, Query, Resolver } from "type-graphql";
import { actorOf, type Context } from "../../graphql/context.js";
import { AuthPayload, reveal } from "../auth/index.js";
import { LinkedAccount, OAuthProviderName } from "./oauth.type.js";

/** The inline proofs of recent re-authentication, checked by the reauth rule before the resolver runs. */
const PASSWORD_PROOF: ArgOptions = { nullable: true, description: "Re-authenticates in the call (else a stepUp)" };
const CODE_PROOF: ArgOptions = {
  nullable: true,
  description: "A TOTP or recovery code, re-authenticating in the call (else a stepUp)",
};

const REAUTH =
  " Needs recent re-authentication: currentPassword or mfaCode here, or a stepUp of this session within " +
  "5 minutes (REAUTHENTICATION_REQUIRED otherwise).";

@Resolver()
export class OAuthResolver {
  @Query(() => [OAuthProviderName], { description: "The providers users can sign in with here." })
  oauthProviders(@Ctx() ctx: Context) {
    return ctx.services.oauth.enabledProviders();
  }

  @Mutation(() => AuthPayload, {
    description:
      "Trades the one-time code a social sign-in redirected with (valid 60 s, once) for tokens, " +
      "or for mfaRequired when the account has a second factor.",
  })
  async exchangeOAuthCode(@Arg("code", () => String) code: string, @Ctx() ctx: Context) {
    return reveal(ctx, await ctx.services.oauth.exchange(code, ctx.client));
  }

  @Query(() => [LinkedAccount], { description: "The caller's provider identities." })
  async linkedAccounts(@Ctx() ctx: Context) {
    return ctx.services.oauth.linked((await actorOf(ctx)).userId);
  }

  @Mutation(() => String, {
    description:
      "A URL to send the browser to (valid 10 minutes, once): the user signs in at the provider, and the " +
      "browser returns to redirectUri with link_code=<code> (or error=<code>); confirmLinkAccount finishes. " +
      "Refused (CONFLICT EMAIL_NOT_VERIFIED) until the account's email is verified." +
      REAUTH,
  })
  async linkAccount(
    @Arg("provider", () => OAuthProviderName) provider: OAuthProviderName,
    @Arg("redirectUri", () => String) redirectUri: string,
    @Arg("currentPassword", () => String, PASSWORD_PROOF) _currentPassword: string | undefined,
    @Arg("mfaCode", () => String, CODE_PROOF) _mfaCode: string | undefined,
    @Ctx() ctx: Context,
  ) {
    return ctx.services.oauth.linkUrl(await actorOf(ctx), provider, redirectUri, ctx.publicUrl);
  }

  @Mutation(() => LinkedAccount, {
    description:
      "Links the identity a linkAccount flow proved (its link_code, valid 60 s, once) to the caller, " +
      "who must be the user who started it; the user is mailed." +
      REAUTH,
  })
  async confirmLinkAccount(
    @Arg("code", () => String) code: string,
    @Arg("currentPassword", () => String, PASSWORD_PROOF) _currentPassword: string | undefined,
    @Arg("mfaCode", () => String, CODE_PROOF) _mfaCode: string | undefined,
    @Ctx() ctx: Context,
  ) {
    return ctx.services.oauth.confirmLink(await actorOf(ctx), code);
  }

  @Mutation(() => Boolean, {
    description:
      "Unlinks the caller's identity at the provider (the user is mailed); refused when it is their last way " +
      "to sign in." +
      REAUTH,
  })
  async unlinkAccount(
    @Arg("provider", () => OAuthProviderName) provider: OAuthProviderName,
    @Arg("currentPassword", () => String, PASSWORD_PROOF) _currentPassword: string | undefined,
    @Arg("mfaCode", () => String, CODE_PROOF) _mfaCode: string | undefined,
    @Ctx() ctx: Context,
  ) {
    return ctx.services.oauth.unlink(await actorOf(ctx), provider);
  }
}
