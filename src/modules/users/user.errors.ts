/** Why a change of users refuses with CONFLICT (`extensions.reason`). */
export const USER_CONFLICTS = {
  /** Removing the admin role from, disabling or deleting the last active admin. */
  LAST_ADMIN: "LAST_ADMIN",
} as const;
