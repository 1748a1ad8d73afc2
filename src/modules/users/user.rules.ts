import { allow, and } from "graphql-shield";
import { isAuthenticated, requirePermission, requirePlatformRole, selfOrPermission } from "../permissions/index.js";
import { SystemRole } from "../../kernel/permission-catalog.js";

export const userRules = {
  Query: {
    me: isAuthenticated,
    // The specification's rule: listing every user takes the admin role as well as users.read.
    users: and(requirePermission("users.read"), requirePlatformRole(SystemRole.ADMIN)),
    user: requirePermission("users.read"),
  },
  Mutation: {
    updateMe: isAuthenticated,
    updateUser: requirePermission("users.update"),
    deleteUser: requirePermission("users.delete"),
    assignRole: requirePermission("users.update"),
    removeRole: requirePermission("users.update"),
  },
  User: {
    "*": allow,
    email: selfOrPermission("users.read"),
    roles: selfOrPermission("users.read"),
  },
  UserPage: { "*": allow },
  PageInfo: { "*": allow },
};
