import { allow } from "graphql-shield";
import { isAuthenticated, requirePermission } from "../permissions/index.js";

export const sessionRules = {
  Query: {
    sessions: isAuthenticated,
    userSessions: requirePermission("users.read"),
  },
  Mutation: {
    revokeSession: isAuthenticated,
    logout: isAuthenticated,
    logoutAll: isAuthenticated,
    revokeUserSessions: requirePermission("users.update"),
  },
  Session: { "*": allow },
};
