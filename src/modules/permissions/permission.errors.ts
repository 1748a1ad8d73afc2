/** Why a change of permissions refuses with CONFLICT (`extensions.reason`). */
export const PERMISSION_CONFLICTS = {
  /** Renaming or deleting a built-in permission (one of the catalog's). */
  SYSTEM_PERMISSION: "SYSTEM_PERMISSION",
  /** Renaming a permission that organization roles carry into one for platform roles only. */
  ORGANIZATION_ROLES: "ORGANIZATION_ROLES",
} as const;
