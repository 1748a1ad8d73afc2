import { allow, and, or, rule } from "graphql-shield";
import type { Context } from "../../graphql/context.js";
import { rateLimited } from "../../graphql/rate-limit.js";
import { isAuthenticated } from "../permissions/index.js";
import { normalizeEmail } from "../users/index.js";

/** The account an `email` argument names, as stored. */
const emailArg = (args: Record<string, unknown>) =>
  typeof args.email === "string" ? [normalizeEmail(args.email)] : [];

/** A browser whose access token expired still holds its refresh cookie: enough to log out. */
const holdsRefreshCookie = rule("holdsRefreshCookie", { cache: "contextual" })(
  (_parent, _args, ctx: Context) => ctx.browser.refreshToken !== undefined,
);

// A field that needs one permission declares it itself (@Needs in auth.resolver.ts); here the rest.
export const authRules = {
  Mutation: {
    logout: or(isAuthenticated, holdsRefreshCookie),
    logoutAll: isAuthenticated,
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
  },
  AuthPayload: { "*": allow },
};
