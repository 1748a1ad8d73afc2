import { allow, and, or, rule } from "graphql-shield";
import type { Context } from "../../graphql/context.js";
import { isAuthenticated, requirePermission, requirePlatformRole, selfOrPermission } from "../permissions/index.js";
import { SystemRole } from "../../kernel/permission-catalog.js";

/**
 * The user is one whose roles this request changed (assignRole, removeRole): their answer shows the
 * roles they set to whoever may set them, asking no more permission than the mutation did.
 */
const rolesChangedHere = rule("roles-changed-here", { cache: "no_cache" })(
  (parent: { id: string }, _args, ctx: Context) => ctx.rolesChangedIds.has(parent.id),
);

// A field that needs one permission declares it itself (@Needs in user.resolver.ts); here the rest.
export const userRules = {
  Query: {
    me: isAuthenticated,
    // The specification's rule: listing every user takes the admin role as well as users.read.
    users: and(requirePermission("users.read"), requirePlatformRole(SystemRole.ADMIN)),
  },
  Mutation: {
    updateMe: isAuthenticated,
  },
  User: {
    "*": allow,
    email: selfOrPermission("users.read"),
    roles: or(rolesChangedHere, selfOrPermission("users.read")),
  },
  UserPage: { "*": allow },
};
