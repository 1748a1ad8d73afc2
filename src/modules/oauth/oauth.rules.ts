import { allow } from "graphql-shield";
import { rateLimited } from "../../graphql/rate-limit.js";
import { isAuthenticated, isPublic } from "../permissions/index.js";

export const oauthRules = {
  Query: { oauthProviders: isPublic, linkedAccounts: isAuthenticated },
  Mutation: {
    exchangeOAuthCode: rateLimited("exchangeOAuthCode"),
    linkAccount: isAuthenticated,
    confirmLinkAccount: isAuthenticated,
    unlinkAccount: isAuthenticated,
  },
  LinkedAccount: { "*": allow },
};
