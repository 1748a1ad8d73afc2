import { allow } from "graphql-shield";

// Every permission field declares what it needs on itself (@Needs in permission.resolver.ts).
export const permissionRules = {
  Permission: { "*": allow },
};
