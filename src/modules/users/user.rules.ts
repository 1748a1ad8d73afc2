import { allow } from "graphql-shield";
import { isAuthenticated, requirePermission, selfOrPermission } from "../permissions/index.js";

export const userRules = {
  Query: {
    me: isAuthenticated,
    users: requirePermission("users.read"),
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
