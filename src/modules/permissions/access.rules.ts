import { allow } from "graphql-shield";
import { type Context } from "../../graphql/context.js";
import { guardedRule } from "../../graphql/rule.js";
import type { PermissionRuleBuilders } from "../../graphql/shield.js";
import { ForbiddenError, UnauthenticatedError } from "../../kernel/errors.js";
import { can, canInOrganization, type Principal } from "../../kernel/principal.js";
import {
  type CatalogPermission,
  type OrganizationPermission,
  type SystemRole,
} from "../../kernel/permission-catalog.js";

/** Public fields: anyone may call them. */
export const isPublic = allow;

async function principalOrError(ctx: Context): Promise<Principal | UnauthenticatedError> {
  const principal = await ctx.principal();
  if (principal) return principal;
  const problem = ctx.tokenProblem();
  return new UnauthenticatedError(problem ? `Authentication failed: ${problem}` : undefined);
}

/** Any signed-in, active user. */
export const isAuthenticated = guardedRule("authenticated", "contextual", async (_parent, _args, ctx) => {
  const principal = await principalOrError(ctx);
  return principal instanceof UnauthenticatedError ? principal : true;
});

function check(principal: Principal | UnauthenticatedError, key: string): true | UnauthenticatedError | ForbiddenError {
  if (principal instanceof UnauthenticatedError) return principal;
  return can(principal, key) ? true : new ForbiddenError(key);
}

/** graphql-shield wants one rule object per name: each builder makes its rule once per key. */
function once<R>(build: (key: CatalogPermission) => R): (key: CatalogPermission) => R {
  const built = new Map<CatalogPermission, R>();
  return (key) => {
    if (!built.has(key)) built.set(key, build(key));
    return built.get(key)!;
  };
}

/** The caller holds `key` (directly or through a wildcard). */
export const requirePermission = once((key) =>
  guardedRule(`permission:${key}`, "contextual", async (_parent, _args, ctx) =>
    check(await principalOrError(ctx), key),
  ),
);

const platformRoleRules = new Map<string, ReturnType<typeof guardedRule>>();

/**
 * The caller holds the platform system role `role`. Declared beside a permission rule (`and(...)`),
 * for the few fields the specification ties to a role as well: the permission comes first, so that a
 * caller lacking both is told the permission.
 */
export function requirePlatformRole(role: (typeof SystemRole)[keyof typeof SystemRole]) {
  let built = platformRoleRules.get(role);
  if (!built) {
    built = guardedRule(`platform-role:${role}`, "contextual", async (_parent, _args, ctx) => {
      const principal = await principalOrError(ctx);
      if (principal instanceof UnauthenticatedError) return principal;
      return principal.roles.includes(role) ? true : new ForbiddenError(undefined, `Needs the ${role} role`);
    });
    platformRoleRules.set(role, built);
  }
  return built;
}

/**
 * A field of a user: the user themself may always see it, anybody else needs `key`. Not cached by
 * graphql-shield: its "strict" cache hashes the whole parent object for each field, which costs far
 * more than this check (a set lookup, and the principal loaded once per request).
 */
export const selfOrPermission = once((key) =>
  guardedRule(`self-or:${key}`, "no_cache", async (parent: { id: string }, _args, ctx) =>
    ctx.selfIds.has(parent.id) ? true : check(await principalOrError(ctx), key),
  ),
);

/** Which organization a field acts on, given its parent and arguments; undefined for the active one. */
export type OrganizationOf = (parent: any, args: Record<string, unknown>) => string | null | undefined; // eslint-disable-line @typescript-eslint/no-explicit-any -- a rule sees whatever its field's parent is

const NO_ORGANIZATION = "No active organization: call switchOrganization, or send x-organization-id";
const NOT_ACTIVE = "Not the active organization: call switchOrganization, or send x-organization-id";

/**
 * The caller holds organization permission `key` inside the organization the field acts on (its
 * `organizationOf`, else the active one). Membership grants count only inside the active organization;
 * a platform `orgs.*` permission counts in every organization.
 */
export function organizationPermission(key: OrganizationPermission, organizationOf: OrganizationOf, name: string) {
  const ruleName = `org-permission:${name}:${key}`;
  let built = organizationRules.get(ruleName);
  if (!built) {
    // "no_cache", as selfOrPermission: cheaper than graphql-shield hashing parent and arguments.
    built = guardedRule(ruleName, "no_cache", async (parent, args, ctx) => {
      const principal = await principalOrError(ctx);
      if (principal instanceof UnauthenticatedError) return principal;
      const organizationId = organizationOf(parent, args) ?? principal.organization?.id;
      if (!organizationId) return new ForbiddenError(key, ctx.organizationProblem() ?? NO_ORGANIZATION);
      if (canInOrganization(principal, organizationId, key)) return true;
      if (principal.organization?.id === organizationId) {
        return new ForbiddenError(key, `Missing permission ${key} in this organization`);
      }
      return new ForbiddenError(key, ctx.organizationProblem() ?? NOT_ACTIVE);
    });
    organizationRules.set(ruleName, built);
  }
  return built;
}

const organizationRules = new Map<string, ReturnType<typeof guardedRule>>();

/**
 * The caller holds organization permission `key` in the organization of the field's `organizationId`
 * argument (which @InTenant() declares), else the active one: what @NeedsInOrganization stands for.
 */
export const requireOrganizationPermission = (key: OrganizationPermission) =>
  organizationPermission(key, (_parent, args) => args.organizationId as string | undefined, "argument");

/**
 * The caller holds `key` through a platform role, or through a role in the active organization: the
 * resolver then limits what it answers to that organization.
 */
export const platformOrOrganizationPermission = once((key) =>
  guardedRule(`platform-or-org:${key}`, "contextual", async (_parent, _args, ctx) => {
    const principal = await principalOrError(ctx);
    if (principal instanceof UnauthenticatedError) return principal;
    if (can(principal, key)) return true;
    const active = principal.organization;
    if (active && canInOrganization(principal, active.id, key)) return true;
    return new ForbiddenError(key);
  }),
);

/** The rules the permissions declared on fields stand for: shield.ts gives each such field its own. */
export const declaredPermissionRules: PermissionRuleBuilders = {
  platform: requirePermission,
  organization: requireOrganizationPermission,
};

export const accessRules = {
  Query: { myPermissions: isAuthenticated, can: isAuthenticated },
};
