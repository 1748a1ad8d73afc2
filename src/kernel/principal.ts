import { grantCovers, isOrganizationAssignable } from "./permission-catalog.js";
import type { UserProfile } from "./user-profile.js";

/** A verified access token: who it names, and for which session. */
export interface VerifiedAccessToken {
  userId: string;
  /** The session (refresh-token family) it was issued for: its `sid` claim. */
  sessionId: string;
  jti: string;
  expiresAt: Date;
  /** The organization it acts in: its `org` claim (switchOrganization), else null. */
  organizationId: string | null;
}

export type AccessTokenCheck = { ok: true; token: VerifiedAccessToken } | { ok: false; reason: string };

/** The organization a request acts in, and what the caller may do inside it. */
export interface ActiveOrganization {
  id: string;
  /** Their organization roles' grants, and what a platform `orgs.*` permission gives. */
  grants: readonly string[];
}

/** A signed-in, active user and the permission grants of all their roles. */
export interface Principal {
  userId: string;
  /**
   * Their own record (their email for audit events among it), loaded and cached with their grants:
   * `me` needs no statement of its own. Shared between requests: never change it.
   */
  profile: UserProfile;
  /** The grants of their platform roles. */
  grants: readonly string[];
  /** The names of their platform roles, sorted: for the few rules that need a role, not a permission. */
  roles: readonly string[];
  /**
   * The organization this request acts in (the token's `org` claim, or `x-organization-id`), once
   * membership (or a platform `orgs.*` permission) was checked; null otherwise.
   */
  organization: ActiveOrganization | null;
}

/** Why a request cannot act in the organization it named. */
export type OrganizationRefusal = "not_found" | "not_member" | "suspended";

/** The principal as the actor of an audit event. */
export function asActor(principal: Principal): { id: string; email: string } {
  return { id: principal.userId, email: principal.profile.email };
}

const covers = (grants: readonly string[], key: string) => grants.some((grant) => grantCovers(grant, key));

/** The platform permission check: does `principal` hold `key` through a platform role? */
export function can(principal: Principal, key: string): boolean {
  return covers(principal.grants, key);
}

/**
 * What a platform permission gives inside every organization, with no membership: `orgs.manage`
 * every organization permission, and the platform grants an organization role may carry (so a
 * platform admin can put the application's own permissions into organization roles).
 */
export function platformOrganizationGrants(principal: Principal): readonly string[] {
  if (can(principal, "orgs.manage")) {
    const assignable = can(principal, "*") ? ["*"] : principal.grants.filter(isOrganizationAssignable);
    return ["org.*", "audit.read", ...assignable];
  }
  if (can(principal, "orgs.read")) return ["org.read", "org.members.read", "org.roles.read", "audit.read"];
  return [];
}

/**
 * The grants `principal` holds inside organization `organizationId`: through membership only while
 * it is the active organization; through a platform `orgs.*` permission in any. Null when none.
 */
export function organizationGrants(principal: Principal, organizationId: string): readonly string[] | null {
  if (principal.organization?.id === organizationId) return principal.organization.grants;
  const platform = platformOrganizationGrants(principal);
  return platform.length > 0 ? platform : null;
}

/** The organization check: does `principal` hold `key` inside organization `organizationId`? */
export function canInOrganization(principal: Principal, organizationId: string, key: string): boolean {
  return covers(organizationGrants(principal, organizationId) ?? [], key);
}

/** What `myPermissions` and `can()` answer: the platform's grants and the active organization's. */
export function holdsNow(principal: Principal, key: string): boolean {
  return can(principal, key) || covers(principal.organization?.grants ?? [], key);
}

/** The first of `keys` that `grants` do not cover, if any. */
export function firstMissingGrant(grants: readonly string[], keys: Iterable<string>): string | undefined {
  for (const key of keys) if (!covers(grants, key)) return key;
  return undefined;
}
