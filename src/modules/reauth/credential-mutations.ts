/** How a credential mutation proves its caller. */
export type CredentialProof =
  /**
   * `currentPassword` or `mfaCode` in the call, else a step-up of the calling session within the last
   * five minutes. `when` names a Boolean argument without which the mutation changes no credential.
   */
  | { proof: "recent"; when?: string }
  /** A required argument of the mutation is the proof, and its service checks it. */
  | { proof: "argument"; argument: string };

/**
 * Every mutation that adds or removes a way to sign in or to act, and how it proves its caller. A
 * mutation is in this list or in NON_CREDENTIAL_MUTATIONS (test/reauth.test.ts walks the schema): a new
 * credential mutation cannot be added without deciding.
 */
export const CREDENTIAL_MUTATIONS = {
  linkAccount: { proof: "recent" },
  confirmLinkAccount: { proof: "recent" },
  unlinkAccount: { proof: "recent" },
  enableTotp: { proof: "recent" },
  confirmTotp: { proof: "recent" },
  // Their code is a second factor, checked by the one counted check.
  disableTotp: { proof: "argument", argument: "code" },
  regenerateRecoveryCodes: { proof: "argument", argument: "code" },
  changePassword: { proof: "argument", argument: "currentPassword" },
  // The mailed token proves the mailbox.
  resetPassword: { proof: "argument", argument: "token" },
  // So do the mailed sign-in code and link; on an unverified account they remove what was set before.
  signInWithCode: { proof: "argument", argument: "code" },
  signInWithLink: { proof: "argument", argument: "token" },
  logoutAll: { proof: "recent", when: "removeLinkedAccounts" },
  // API keys are credentials: a stolen access token alone must not mint a lasting one.
  createApiKey: { proof: "recent" },
  revokeApiKey: { proof: "recent" },
  // Passkeys: a stolen access token alone must not add the thief's authenticator or remove the owner's.
  passkeyRegistrationOptions: { proof: "recent" },
  registerPasskey: { proof: "recent" },
  removePasskey: { proof: "recent" },
} as const satisfies Record<string, CredentialProof>;

/** The mutations that add or remove no credential, each decided. */
export const NON_CREDENTIAL_MUTATIONS = [
  // Signing in, out and up: they use credentials, they do not change them.
  "signUp",
  "login",
  "verifyMfa",
  "refreshToken",
  "exchangeOAuthCode",
  "passkeyLoginOptions",
  "loginWithPasskey",
  "passkeyMfaOptions",
  "logout",
  "revokeSession",
  "switchOrganization",
  // Re-authentication itself.
  "stepUp",
  "requestReauthenticationCode",
  // Email verification and the reset request mail only prove or ask; resetPassword is listed above.
  "verifyEmail",
  "resendVerificationEmail",
  "requestPasswordReset",
  "requestSignInCode",
  // The account's profile (a display name) and notifications.
  "updateMe",
  // A passkey's name only.
  "renamePasskey",
  "markNotificationsRead",
  // Administration, each behind its own permission.
  "unlockUser",
  "updateUser",
  "deleteUser",
  "revokeUserSessions",
  "removeUserPasskey",
  "assignRole",
  "removeRole",
  "createRole",
  "updateRole",
  "deleteRole",
  "setRolePermissions",
  // The deployment's signing keys (keys.rotate): no user's credential; audited.
  "rotateSigningKey",
  // Service accounts: principals without credentials of their own (their keys are createApiKey's).
  "createServiceAccount",
  "updateServiceAccount",
  "deleteServiceAccount",
  "createPermission",
  "updatePermission",
  "deletePermission",
  // Organizations.
  "createOrganization",
  "updateOrganization",
  "deleteOrganization",
  "inviteMember",
  "acceptInvitation",
  "revokeInvitation",
  "removeMember",
  "leaveOrganization",
  "createOrganizationRole",
  "updateOrganizationRole",
  "deleteOrganizationRole",
  "setOrganizationRolePermissions",
  "assignOrganizationRole",
  "unassignOrganizationRole",
] as const;

export type CredentialMutation = keyof typeof CREDENTIAL_MUTATIONS;
