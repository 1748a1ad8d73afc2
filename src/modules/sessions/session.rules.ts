import { allow } from "graphql-shield";
import { isAuthenticated } from "../permissions/index.js";

// A field that needs one permission declares it itself (@Needs in session.resolver.ts); here the rest.
export const sessionRules = {
  Query: {
    sessions: isAuthenticated,
  },
  Mutation: {
    revokeSession: isAuthenticated,
  },
  Session: { "*": allow },
};
