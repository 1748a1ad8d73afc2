import { allow } from "graphql-shield";
import { requirePermission } from "../permissions/index.js";

export const roleRules = {
  Query: {
    roles: requirePermission("roles.read"),
    role: requirePermission("roles.read"),
  },
  Mutation: {
    createRole: requirePermission("roles.create"),
    updateRole: requirePermission("roles.update"),
    deleteRole: requirePermission("roles.delete"),
    setRolePermissions: requirePermission("roles.update"),
  },
  // Every way to a Role (roles, role, a user's roles) is guarded where it starts.
  Role: { "*": allow },
};
