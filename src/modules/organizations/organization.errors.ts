/** Why a change of organizations or their members refuses with CONFLICT (`extensions.reason`). */
export const ORGANIZATION_CONFLICTS = {
  /** `createOrganization` or `updateOrganization` with a slug another organization has. */
  SLUG_TAKEN: "SLUG_TAKEN",
  /** `inviteMember` of an address that belongs to a member already. */
  ALREADY_MEMBER: "ALREADY_MEMBER",
  /** Removing the last owner of an organization, or the owner role from them (leaving included). */
  LAST_OWNER: "LAST_OWNER",
} as const;
