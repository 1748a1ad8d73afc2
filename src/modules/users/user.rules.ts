import { allow, and, or, rule } from "graphql-shield";
import type { Context } from "../../graphql/context.js";
import { isAuthenticated, requirePermission, requirePlatformRole, selfOrPermission } from "../permissions/index.js";
import { SystemRole } from "../../kernel/permission-catalog.js";

/**
 * The user is one this request's mutation changed (updateUser, assignRole, removeRole, which need
 * users.update and every permission the user holds): the answer shows what the caller could set,
 * asking no more permission than the mutation did.
 */
const changedHere = rule("changed-here", { cache: "no_cache" })((parent: { id: string }, _args, ctx: Context) =>
  ctx.changedIds.has(parent.id),
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
    email: or(changedHere, selfOrPermission("users.read")),
    roles: or(changedHere, selfOrPermission("users.read")),
  },
  UserPage: { "*": allow },
};
