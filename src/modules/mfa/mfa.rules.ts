import { allow } from "graphql-shield";
import { isAuthenticated } from "../permissions/index.js";

export const mfaRules = {
  Mutation: {
    enableTotp: isAuthenticated,
    confirmTotp: isAuthenticated,
    disableTotp: isAuthenticated,
    regenerateRecoveryCodes: isAuthenticated,
  },
  TotpSetup: { "*": allow },
};
