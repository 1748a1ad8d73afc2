/**
 * Every permission Kafkey's own API checks, declared once. The init migration seeds them; they cannot
 * be renamed or deleted. `*` holds every permission; `roles.*` every `roles.<action>`.
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
] as const;

export type CatalogPermission = (typeof PERMISSION_CATALOG)[number];

const catalog: ReadonlySet<string> = new Set(PERMISSION_CATALOG);

export function isCatalogPermission(key: string): boolean {
  return catalog.has(key);
}

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
