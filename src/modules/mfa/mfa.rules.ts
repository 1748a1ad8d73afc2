import { allow, and } from "graphql-shield";
import { rateLimited } from "../../graphql/rate-limit.js";
import { isAuthenticated } from "../permissions/index.js";

export const mfaRules = {
  Mutation: {
    enableTotp: and(isAuthenticated, rateLimited("enableTotp")),
    confirmTotp: and(isAuthenticated, rateLimited("confirmTotp")),
    disableTotp: and(isAuthenticated, rateLimited("disableTotp")),
    regenerateRecoveryCodes: and(isAuthenticated, rateLimited("regenerateRecoveryCodes")),
  },
  TotpSetup: { "*": allow },
};
