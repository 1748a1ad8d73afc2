import { GraphQLError } from "graphql";
import { ErrorCode, UnauthenticatedError } from "../../kernel/errors.js";

/** Why email sign-in refuses with FORBIDDEN (`extensions.reason`). */
export const SIGN_IN_CODE_REASONS = {
  /** The deployment has email sign-in off (KAFKEY_EMAIL_SIGN_IN is not true). */
  EMAIL_SIGN_IN_OFF: "EMAIL_SIGN_IN_OFF",
} as const;

/** Email sign-in is off on this server: every one of its mutations answers FORBIDDEN, reason EMAIL_SIGN_IN_OFF. */
export class EmailSignInOffError extends GraphQLError {
  constructor() {
    super("Email sign-in is not enabled on this server", {
      extensions: { code: ErrorCode.FORBIDDEN, reason: SIGN_IN_CODE_REASONS.EMAIL_SIGN_IN_OFF },
    });
  }
}

/**
 * A code that does not sign in: wrong, used, expired, dead of wrong tries, for an unknown address, or
 * refused unchecked while the account is locked. One answer for all, to tell an attacker nothing.
 */
export const invalidCode = () => new UnauthenticatedError("Invalid or expired email or code");

/** A link token that does not sign in: unknown, used, expired or superseded. */
export const invalidLink = () => new UnauthenticatedError("Invalid or expired sign-in link");
