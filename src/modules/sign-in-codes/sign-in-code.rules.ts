import { rateLimited } from "../../graphql/rate-limit.js";
import { normalizeEmail } from "../users/index.js";

/** The account an `email` argument names, as stored. */
const emailArg = (args: Record<string, unknown>) =>
  typeof args.email === "string" ? [normalizeEmail(args.email)] : [];

// Public, but every call (each alias too) counts against the caller's IP, and a code against the account.
// The per-address mail limit is the service's: past it the request still answers true.
export const signInCodeRules = {
  Mutation: {
    requestSignInCode: rateLimited("requestSignInCode"),
    signInWithCode: rateLimited("signInWithCode", emailArg),
    signInWithLink: rateLimited("signInWithLink"),
  },
};
