import type { ErrorCode } from "../../kernel/errors.js";

/**
 * Why a social sign-in failed, as the frontend gets it: `?error=<code>` on its redirect URI. Stable:
 * frontends branch on these.
 */
export const OAuthErrorCode = {
  /** The user refused at the provider, or the provider reported an error. */
  ACCESS_DENIED: "ACCESS_DENIED",
  /** The provider could not be reached, refused the code, or answered nonsense. */
  PROVIDER_ERROR: "PROVIDER_ERROR",
  /** The provider's ID token failed verification (signature, issuer, audience, expiry, nonce). */
  INVALID_ID_TOKEN: "INVALID_ID_TOKEN",
  /** The provider gave no email, and a new account needs one. */
  EMAIL_REQUIRED: "EMAIL_REQUIRED",
  /** The provider has not verified the email, and a new account needs a verified one. */
  EMAIL_UNVERIFIED: "EMAIL_UNVERIFIED",
  /**
   * An account with this email exists, but the provider's email or the account's is not verified:
   * linking them would let whoever controls the unverified one take the account over.
   */
  ACCOUNT_EXISTS_UNVERIFIED: "ACCOUNT_EXISTS_UNVERIFIED",
  /**
   * An account with this email exists and signs in with a password or a second factor: its owner signs
   * in with those and links the identity (`linkAccount`). Joined by email alone, whoever set that
   * password (someone who signed up with this address before its owner, whose verification mail the
   * owner then clicked) would share the account.
   */
  ACCOUNT_EXISTS: "ACCOUNT_EXISTS",
  /**
   * The identity is linked to an account whose email is not verified, and the account was not made
   * with it: it may have been linked by someone who signed up with another person's address.
   */
  ACCOUNT_EMAIL_UNVERIFIED: "ACCOUNT_EMAIL_UNVERIFIED",
  /** This provider identity already belongs to another user. */
  ALREADY_LINKED: "ALREADY_LINKED",
  /** The user already has another identity at this provider linked. */
  PROVIDER_ALREADY_LINKED: "PROVIDER_ALREADY_LINKED",
  /** The identity's account is disabled. */
  ACCOUNT_DISABLED: "ACCOUNT_DISABLED",
} as const;
export type OAuthErrorCode = (typeof OAuthErrorCode)[keyof typeof OAuthErrorCode];

/** A failed sign-in, told to the frontend by a redirect with `error=<code>`. The detail is only logged. */
export class OAuthFlowError extends Error {
  override name = "OAuthFlowError";
  constructor(
    readonly code: OAuthErrorCode,
    detail: string,
  ) {
    super(detail);
  }
}

/**
 * Why `confirmLinkAccount` refuses with CONFLICT (`extensions.reason`): the link flow's failures, named
 * as on a sign-in's redirect (OAuthErrorCode).
 */
export const OAUTH_CONFLICTS = {
  /** This provider identity already belongs to another user. */
  ALREADY_LINKED: "ALREADY_LINKED",
  /** The user already has another identity at this provider linked. */
  PROVIDER_ALREADY_LINKED: "PROVIDER_ALREADY_LINKED",
} as const satisfies Partial<Record<OAuthErrorCode, OAuthErrorCode>>;
type OAuthConflict = keyof typeof OAUTH_CONFLICTS;

/** Whether a failed link is a CONFLICT of confirmLinkAccount's. */
export function isOAuthConflict(code: OAuthErrorCode): code is OAuthConflict {
  return Object.hasOwn(OAUTH_CONFLICTS, code);
}

/** A refusal at the start or the callback, before any redirect: answered to the browser as an HTTP error. */
export class OAuthRequestError extends Error {
  constructor(
    readonly status: 400 | 404,
    readonly code: typeof ErrorCode.BAD_REQUEST | typeof ErrorCode.NOT_FOUND | typeof ErrorCode.INVALID_STATE,
    message: string,
  ) {
    super(message);
  }
}
