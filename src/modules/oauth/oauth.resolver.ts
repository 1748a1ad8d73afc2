import { Arg, Ctx, Mutation, Query, Resolver } from "type-graphql";
import { actorOf, type Context } from "../../graphql/context.js";
import { AuthPayload, reveal } from "../auth/index.js";
import { LinkedAccount, OAuthProviderName } from "./oauth.type.js";

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
      "browser returns to redirectUri with link_code=<code> (or error=<code>); confirmLinkAccount finishes.",
  })
  async linkAccount(
    @Arg("provider", () => OAuthProviderName) provider: OAuthProviderName,
    @Arg("redirectUri", () => String) redirectUri: string,
    @Ctx() ctx: Context,
  ) {
    return ctx.services.oauth.linkUrl(await actorOf(ctx), provider, redirectUri, ctx.publicUrl);
  }

  @Mutation(() => LinkedAccount, {
    description:
      "Links the identity a linkAccount flow proved (its link_code, valid 60 s, once) to the caller, " +
      "who must be the user who started it.",
  })
  async confirmLinkAccount(@Arg("code", () => String) code: string, @Ctx() ctx: Context) {
    return ctx.services.oauth.confirmLink(await actorOf(ctx), code);
  }

  @Mutation(() => Boolean, {
    description: "Unlinks the caller's identity at the provider; refused when it is their last way to sign in.",
  })
  async unlinkAccount(@Arg("provider", () => OAuthProviderName) provider: OAuthProviderName, @Ctx() ctx: Context) {
    return ctx.services.oauth.unlink(await actorOf(ctx), provider);
  }
}
