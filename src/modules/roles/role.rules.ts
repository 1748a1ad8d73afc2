import { allow } from "graphql-shield";

// Every root field of roles declares what it needs on itself (@Needs in role.resolver.ts).
export const roleRules = {
  // Every way to a Role (roles, role, a user's roles) is guarded where it starts.
  Role: { "*": allow },
};
