import { allow } from "graphql-shield";
import { isPublic } from "../permissions/index.js";

export const authRules = {
  Mutation: {
    signUp: isPublic,
    login: isPublic,
    refreshToken: isPublic,
  },
  AuthPayload: { "*": allow },
};
