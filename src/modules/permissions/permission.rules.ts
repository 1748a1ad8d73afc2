import { allow } from "graphql-shield";
import { requirePermission } from "./access.rules.js";

export const permissionRules = {
  Query: {
    permissions: requirePermission("permissions.read"),
    permission: requirePermission("permissions.read"),
  },
  Mutation: {
    createPermission: requirePermission("permissions.create"),
    updatePermission: requirePermission("permissions.update"),
    deletePermission: requirePermission("permissions.delete"),
  },
  Permission: { "*": allow },
};
