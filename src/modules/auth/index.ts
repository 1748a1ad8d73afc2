export { AccessTokens, FIRST_PARTY_CLIENT_ID } from "./access-tokens.js";
export { AccountEmailService } from "./account-email.service.js";
export { AUTH_CONFLICTS } from "./auth.errors.js";
export { AuthResolver, reveal } from "./auth.resolver.js";
export { authRules } from "./auth.rules.js";
export {
  AuthService,
  type AuthResult,
  type MfaProof,
  type PasskeySecondFactor,
  type SignInProof,
} from "./auth.service.js";
export { AuthPayload } from "./auth.type.js";
export { ensureFirstAdmin, type CreatedAdmin } from "./first-admin.js";
export { removeLinkedAccounts, removePasskeys } from "./linked-accounts.js";
export { Lockout } from "./lockout.js";
export { OneTimeTokens } from "./one-time-tokens.js";
export { Passwords } from "./password.js";
