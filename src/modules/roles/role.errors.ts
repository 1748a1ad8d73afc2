/** Why a change of roles refuses with CONFLICT (`extensions.reason`). */
export const ROLE_CONFLICTS = {
  /**
   * Renaming or deleting a system role (the platform's admin and user, an organization's owner, admin
   * and member), or changing the permissions of the platform's admin or an organization's owner.
   */
  SYSTEM_ROLE: "SYSTEM_ROLE",
} as const;
