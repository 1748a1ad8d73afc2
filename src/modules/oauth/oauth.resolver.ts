import { Arg, type ArgOptions, Ctx, Mutation, Query, Resolver } from "type-graphql";
import type { Context } from "../../graphql/context.js";
import { Actor } from "../../graphql/decorators.js";
import type { Principal } from "../../kernel/principal.js";
import { AuthPayload, reveal } from "../auth/index.js";
import type { OAuthService } from "./oauth.service.js";
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
  constructor(private readonly oauth: OAuthService) {}

  @Query(() => [OAuthProviderName], { description: "The providers users can sign in with here." })
  oauthProviders() {
    return this.oauth.enabledProviders();
  }

  @Mutation(() => AuthPayload, {
    description:
      "Trades the one-time code a social sign-in redirected with (valid 60 s, once) for tokens, " +
      "or for mfaRequired when the account has a second factor.",
  })
  async exchangeOAuthCode(@Arg("code", () => String) code: string, @Ctx() ctx: Context) {
    return reveal(ctx, await this.oauth.exchange(code, ctx.client));
  }

  @Query(() => [LinkedAccount], { description: "The caller's provider identities." })
  linkedAccounts(@Actor() actor: Principal) {
    return this.oauth.linked(actor.userId);
  }

  @Mutation(() => String, {
    description:
      "A URL to send the browser to (valid 10 minutes, once): the user signs in at the provider, and the " +
      "browser returns to redirectUri with link_code=<code> (or error=<code>); confirmLinkAccount finishes. " +
      "Refused (CONFLICT EMAIL_NOT_VERIFIED) until the account's email is verified." +
      REAUTH,
  })
  linkAccount(
    @Arg("provider", () => OAuthProviderName) provider: OAuthProviderName,
    @Arg("redirectUri", () => String) redirectUri: string,
    @Arg("currentPassword", () => String, PASSWORD_PROOF) _currentPassword: string | undefined,
    @Arg("mfaCode", () => String, CODE_PROOF) _mfaCode: string | undefined,
    @Actor() actor: Principal,
    @Ctx() ctx: Context,
  ) {
    return this.oauth.linkUrl(actor, provider, redirectUri, ctx.publicUrl);
  }

  @Mutation(() => LinkedAccount, {
    description:
      "Links the identity a linkAccount flow proved (its link_code, valid 60 s, once) to the caller, " +
      "who must be the user who started it; the user is mailed." +
      REAUTH,
  })
  confirmLinkAccount(
    @Arg("code", () => String) code: string,
    @Arg("currentPassword", () => String, PASSWORD_PROOF) _currentPassword: string | undefined,
    @Arg("mfaCode", () => String, CODE_PROOF) _mfaCode: string | undefined,
    @Actor() actor: Principal,
  ) {
    return this.oauth.confirmLink(actor, code);
  }

  @Mutation(() => Boolean, {
    description:
      "Unlinks the caller's identity at the provider (the user is mailed); refused when it is their last way " +
      "to sign in." +
      REAUTH,
  })
  unlinkAccount(
    @Arg("provider", () => OAuthProviderName) provider: OAuthProviderName,
    @Arg("currentPassword", () => String, PASSWORD_PROOF) _currentPassword: string | undefined,
    @Arg("mfaCode", () => String, CODE_PROOF) _mfaCode: string | undefined,
    @Actor() actor: Principal,
  ) {
    return this.oauth.unlink(actor, provider);
  }
}
