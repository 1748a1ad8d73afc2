/** Why auth refuses a change with CONFLICT (`extensions.reason`). */
export const AUTH_CONFLICTS = {
  /**
   * Unlinking the account's last way to sign in (`unlinkAccount`, `logoutAll(removeLinkedAccounts:
   * true)`) while it has no password: set a password or link another provider first.
   */
  LAST_SIGN_IN_METHOD: "LAST_SIGN_IN_METHOD",
  /**
   * The account's email is not verified, and the change needs it: linking a sign-in method
   * (`linkAccount`), or an emailed re-authentication code (`requestReauthenticationCode`).
   */
  EMAIL_NOT_VERIFIED: "EMAIL_NOT_VERIFIED",
} as const;
