export { AccessTokens, type AccessTokenCheck, type VerifiedAccessToken } from "./access-tokens.js";
export { AccountEmailService } from "./account-email.service.js";
export { AuthResolver } from "./auth.resolver.js";
export { authRules } from "./auth.rules.js";
export { AuthService } from "./auth.service.js";
export { ensureFirstAdmin, type CreatedAdmin } from "./first-admin.js";
export { Lockout } from "./lockout.js";
export { OneTimeTokens } from "./one-time-tokens.js";
export { Passwords } from "./password.js";
