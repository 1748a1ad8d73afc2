import { allow } from "graphql-shield";
import type { Context } from "../../graphql/context.js";
import { ForbiddenError, UnauthenticatedError } from "../../graphql/errors.js";
import { guardedRule } from "../../graphql/rule.js";
import { can, type Principal } from "./access.js";
import type { CatalogPermission } from "./catalog.js";

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

/** A field of a user: the user themself may always see it, anybody else needs `key`. */
export const selfOrPermission = once((key) =>
  guardedRule(`self-or:${key}`, "strict", async (parent: { id: string }, _args, ctx) =>
    ctx.selfIds.has(parent.id) ? true : check(await principalOrError(ctx), key),
  ),
);

export const accessRules = {
  Query: { myPermissions: isAuthenticated, can: isAuthenticated },
};
