/** Why re-authentication refuses with CONFLICT (`extensions.reason`). */
export const REAUTH_CONFLICTS = {
  /**
   * `requestReauthenticationCode` for an account that has a password or a second factor: it
   * re-authenticates with those.
   */
  USE_PASSWORD_OR_SECOND_FACTOR: "USE_PASSWORD_OR_SECOND_FACTOR",
} as const;
