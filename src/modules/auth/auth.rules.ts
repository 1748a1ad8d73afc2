import { allow, and } from "graphql-shield";
import { rateLimited } from "../../graphql/rate-limit.js";
import { isAuthenticated, requirePermission } from "../permissions/index.js";

/** The account an `email` argument names, lower-cased as stored. */
const emailArg = (args: Record<string, unknown>) =>
  typeof args.email === "string" ? [args.email.trim().toLowerCase()] : [];

export const authRules = {
  Mutation: {
    // Public, but every call (each alias too) counts against the caller's IP, and login against the account.
    signUp: rateLimited("signUp"),
    login: rateLimited("login", emailArg),
    refreshToken: rateLimited("refreshToken"),
    verifyMfa: rateLimited("verifyMfa"),
    changePassword: isAuthenticated,
    verifyEmail: rateLimited("verifyEmail"),
    resendVerificationEmail: and(isAuthenticated, rateLimited("resendVerificationEmail")),
    requestPasswordReset: rateLimited("requestPasswordReset", emailArg),
    resetPassword: rateLimited("resetPassword"),
    unlockUser: requirePermission("users.update"),
  },
  AuthPayload: { "*": allow },
};
