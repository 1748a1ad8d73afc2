export { OAUTH_CONFLICTS, OAuthErrorCode } from "./oauth.errors.js";
export { OAuthResolver } from "./oauth.resolver.js";
export { registerOAuthRoutes } from "./oauth.routes.js";
export { oauthRules } from "./oauth.rules.js";
export { OAuthService } from "./oauth.service.js";
export { configuredProviders } from "./providers.js";
