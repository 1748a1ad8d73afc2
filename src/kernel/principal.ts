import { grantCovers, isOrganizationAssignable } from "./permission-catalog.js";
import type { UserProfile } from "./user-profile.js";

/** A verified access token: who it names, and for which session. */
export interface VerifiedAccessToken {
  userId: string;
  /** The session (refresh-token family) it was issued for: its `sid` claim. */
  sessionId: string;
  jti: string;
  /** Its `iat`. */
  issuedAt: Date;
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
  /**
   * The API key the request authenticated with; absent for a session's access token. A key acts as its
   * owner (`userId`), with `grants` cut down to what the key allows (`restrictToApiKey`), and holds no
   * session: what needs one (logout, step-up, credential changes) refuses it.
   */
  apiKey?: ApiKeyCredential;
}

/** What every API key starts with: a bearer credential with it is a key, not an access token. */
export const API_KEY_PREFIX = "kfk_";

/** An API key, as the principal it authenticated carries it. */
export interface ApiKeyCredential {
  id: string;
  /** The permissions it was created with: it never holds more, nor more than its owner holds now. */
  permissions: readonly string[];
  /** The one organization it acts in, if it is bound to one: then it holds no platform grants. */
  organizationId: string | null;
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

/**
 * The grants that both `a` and `b` give: a key covered by the intersection is covered by each. With
 * wildcards, `users.*` and `users.read` meet in `users.read`, `*` and anything in that thing.
 */
export function intersectGrants(a: readonly string[], b: readonly string[]): string[] {
  const both = [...a.filter((grant) => covers(b, grant)), ...b.filter((grant) => covers(a, grant))];
  return [...new Set(both)].sort();
}

/**
 * The owner's principal as an API key may use it: platform grants only for a key bound to no
 * organization, and every grant cut to the key's permissions. The owner's grants are loaded fresh
 * (cached, told of changes), so a permission the owner loses, the key loses at the next request.
 */
export function restrictToApiKey(owner: Principal, key: ApiKeyCredential): Principal {
  const active = owner.organization;
  const inKeyOrganization = key.organizationId === null || active?.id === key.organizationId;
  return {
    ...owner,
    grants: key.organizationId === null ? intersectGrants(owner.grants, key.permissions) : [],
    organization:
      active && inKeyOrganization ? { id: active.id, grants: intersectGrants(active.grants, key.permissions) } : null,
    apiKey: key,
  };
}

/** The first of `keys` that `grants` do not cover, if any. */
export function firstMissingGrant(grants: readonly string[], keys: Iterable<string>): string | undefined {
  for (const key of keys) if (!covers(grants, key)) return key;
  return undefined;
}
