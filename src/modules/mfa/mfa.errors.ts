/** Why two-factor authentication refuses a change with CONFLICT (`extensions.reason`). */
export const MFA_CONFLICTS = {
  /** `enableTotp` or `confirmTotp` while two-factor authentication is on. */
  TOTP_ENABLED: "TOTP_ENABLED",
  /** `disableTotp` or `regenerateRecoveryCodes` while two-factor authentication is off. */
  TOTP_DISABLED: "TOTP_DISABLED",
  /** `confirmTotp` before `enableTotp`. */
  TOTP_NOT_STARTED: "TOTP_NOT_STARTED",
} as const;
