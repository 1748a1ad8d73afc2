import { allow } from "graphql-shield";
import { isAuthenticated } from "../permissions/index.js";

/**
 * Which permission a service account's field needs depends on whom it belongs to (the platform:
 * `service_accounts.*`; an organization: `org.service_accounts.*` there, or the platform's), so the
 * service checks it (ServiceAccountService, requireAccess); the shield asks for a signed-in caller.
 */
export const serviceAccountRules = {
  Query: { serviceAccounts: isAuthenticated, serviceAccount: isAuthenticated },
  Mutation: {
    createServiceAccount: isAuthenticated,
    updateServiceAccount: isAuthenticated,
    deleteServiceAccount: isAuthenticated,
  },
  ServiceAccount: { "*": allow },
};
