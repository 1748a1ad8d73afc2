import { and, chain, type IRules } from "graphql-shield";
import { rateLimited } from "../../graphql/rate-limit.js";
import { guardedRule } from "../../graphql/rule.js";
import { isAuthenticated } from "../permissions/index.js";
import { CREDENTIAL_MUTATIONS, type CredentialMutation, type CredentialProof } from "./credential-mutations.js";
import { ReauthService } from "./reauth.service.js";
import { UnauthenticatedError } from "../../kernel/errors.js";

type ShieldRule = Parameters<typeof chain>[0];

const optionalString = (value: unknown) => (typeof value === "string" && value !== "" ? value : undefined);

/** The rule of one credential mutation: recent re-authentication, as the list declares it. */
function recentlyAuthenticated(name: CredentialMutation) {
  const entry: CredentialProof = CREDENTIAL_MUTATIONS[name];
  return guardedRule(`reauthenticated:${name}`, "no_cache", async (_parent, args, ctx) => {
    if (entry.proof === "argument") return true;
    if (entry.when !== undefined && args[entry.when] !== true) return true;
    const principal = await ctx.principal();
    if (!principal || !ctx.token) return new UnauthenticatedError();
    const reauth = ctx.container.get(ReauthService);
    return reauth.check(
      principal,
      ctx.token.sessionId,
      { currentPassword: optionalString(args.currentPassword), mfaCode: optionalString(args.mfaCode) },
      ctx.client,
    );
  });
}

/**
 * Puts recent re-authentication after the rule each credential mutation already has (its own
 * checks, a rate limit, come first). Throws at start-up for a listed mutation without a rule.
 */
export function withReauthentication(rules: IRules): IRules {
  const mutations = { ...((rules as Record<string, Record<string, ShieldRule>>).Mutation ?? {}) };
  for (const name of Object.keys(CREDENTIAL_MUTATIONS) as CredentialMutation[]) {
    const own = mutations[name];
    if (!own) throw new Error(`credential mutation ${name} has no rule`);
    mutations[name] = chain(own, recentlyAuthenticated(name));
  }
  return { ...(rules as Record<string, unknown>), Mutation: mutations } as IRules;
}

export const reauthRules = {
  Mutation: {
    stepUp: and(isAuthenticated, rateLimited("stepUp")),
    requestReauthenticationCode: and(isAuthenticated, rateLimited("requestReauthenticationCode")),
  },
};
