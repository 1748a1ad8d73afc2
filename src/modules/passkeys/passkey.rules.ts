import { allow, and } from "graphql-shield";
import { rateLimited } from "../../graphql/rate-limit.js";
import { isAuthenticated } from "../permissions/index.js";

// userPasskeys and removeUserPasskey declare their permission themselves (@Needs in passkey.resolver.ts).
export const passkeyRules = {
  Query: { passkeys: isAuthenticated },
  Mutation: {
    passkeyRegistrationOptions: and(isAuthenticated, rateLimited("passkeyRegistrationOptions")),
    registerPasskey: and(isAuthenticated, rateLimited("registerPasskey")),
    // Public: every call (each alias too) counts against the caller's IP.
    passkeyLoginOptions: rateLimited("passkeyLoginOptions"),
    loginWithPasskey: rateLimited("loginWithPasskey"),
    passkeyMfaOptions: rateLimited("passkeyMfaOptions"),
    renamePasskey: isAuthenticated,
    removePasskey: isAuthenticated,
  },
  Passkey: { "*": allow },
};
