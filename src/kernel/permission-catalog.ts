/** The permissions that count inside one organization, held through its roles (see below). */
const ORGANIZATION_KEYS = [
  "org.read",
  "org.update",
  "org.delete",
  "org.members.read",
  "org.members.invite",
  "org.members.remove",
  "org.roles.read",
  "org.roles.manage",
  "org.service_accounts.read",
  "org.service_accounts.manage",
] as const;

/**
 * Every permission Kafkey's own API checks, declared once. The migrations seed them; they cannot be
 * renamed or deleted. `*` holds every permission; `roles.*` every `roles.<action>`.
 */
export const PERMISSION_CATALOG = [
  "*",
  "users.read",
  "users.update",
  "users.delete",
  "roles.read",
  "roles.create",
  "roles.update",
  "roles.delete",
  "permissions.read",
  "permissions.create",
  "permissions.update",
  "permissions.delete",
  "audit.read",
  "service_accounts.read",
  "service_accounts.manage",
  "orgs.read",
  "orgs.create",
  "orgs.manage",
  "keys.rotate",
  ...ORGANIZATION_KEYS,
] as const;

export type CatalogPermission = (typeof PERMISSION_CATALOG)[number];

const catalog: ReadonlySet<string> = new Set(PERMISSION_CATALOG);

export function isCatalogPermission(key: string): boolean {
  return catalog.has(key);
}

/**
 * The permissions that count inside one organization, held through its roles. `audit.read` is also a
 * platform permission: held through a platform role it reads the whole trail, through an organization
 * role only that organization's events.
 */
export const ORGANIZATION_PERMISSIONS = [
  ...ORGANIZATION_KEYS,
  "audit.read",
] as const satisfies readonly CatalogPermission[];

export type OrganizationPermission = (typeof ORGANIZATION_PERMISSIONS)[number];

/** The catalog permissions that only a platform role can carry. */
const PLATFORM_ONLY = PERMISSION_CATALOG.filter(
  (key) => key !== "*" && !(ORGANIZATION_PERMISSIONS as readonly string[]).includes(key),
);

/**
 * Whether an organization role may carry `key`: the organization permissions, and permissions an
 * application defined for itself; never `*` or anything that covers a platform permission.
 */
export function isOrganizationAssignable(key: string): boolean {
  return key !== "*" && !PLATFORM_ONLY.some((platformKey) => grantCovers(key, platformKey));
}

/** The roles every organization starts with, and what they carry. */
export const ORGANIZATION_ROLES = {
  owner: {
    description: "Owns the organization: every organization permission, deleting it included",
    permissions: ORGANIZATION_PERMISSIONS,
  },
  admin: {
    description: "Runs the organization: its members, invitations and roles",
    permissions: ORGANIZATION_PERMISSIONS.filter((key) => key !== "org.delete"),
  },
  member: {
    description: "Belongs to the organization and sees who else does",
    permissions: ["org.read", "org.members.read"],
  },
} as const satisfies Record<string, { description: string; permissions: readonly OrganizationPermission[] }>;

/** The system roles the init migration seeds. */
export const SystemRole = { ADMIN: "admin", USER: "user" } as const;

/** `resource.action`, dotted segments of lower-case letters, digits, `_` and `-`; the last may be `*`. */
const KEY_PATTERN = /^(\*|[a-z][a-z0-9_-]*(\.[a-z][a-z0-9_-]*)*(\.\*)?)$/;

export function isValidPermissionKey(key: string): boolean {
  return key.length <= 100 && KEY_PATTERN.test(key);
}

/** Whether holding `grant` gives `key`: equal, `*`, or a `prefix.*` wildcard over it. */
export function grantCovers(grant: string, key: string): boolean {
  if (grant === key || grant === "*") return true;
  return grant.endsWith(".*") && key.startsWith(grant.slice(0, -1));
}
