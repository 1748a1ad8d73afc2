import type { GraphQLSchema } from "graphql";
import { allow, chain, type IRules } from "graphql-shield";
import { declaredPermissions } from "../../graphql/decorators.js";
import { guardedRule } from "../../graphql/rule.js";
import { ForbiddenError } from "../../kernel/errors.js";
import { isAuthenticated } from "../permissions/index.js";

type ShieldRule = Parameters<typeof chain>[0];

/**
 * The queries only a signed-in session may ask, beside every mutation that declares no permission of
 * its own (below): a key has no session to list.
 */
export const SESSION_ONLY_QUERIES = ["sessions"] as const;

/** The caller authenticated with a session's access token, not an API key (FORBIDDEN for a key). */
export const isSessionCaller = guardedRule("session-caller", "no_cache", async (_parent, _args, ctx) => {
  if (ctx.token) return true;
  const principal = await ctx.principal();
  return principal?.apiKey ? new ForbiddenError(undefined, "Not allowed with an API key: sign in") : true;
});

/**
 * The fields an API key may not call: every mutation that does not declare the one permission it needs
 * (@Needs, @NeedsInOrganization), and SESSION_ONLY_QUERIES. What a key may change is then exactly what
 * its permissions name; signing in, out or up, credential changes (a new key among them), switching
 * organization, the own profile, joining or founding an organization stay with sessions: a stolen key
 * buys no way in that outlives its revocation.
 */
export function sessionOnlyFields(schema: GraphQLSchema): { Query: string[]; Mutation: string[] } {
  const declared = new Set(
    declaredPermissions(schema)
      .filter(({ type }) => type === "Mutation")
      .map(({ field }) => field.name),
  );
  const mutations = Object.keys(schema.getMutationType()?.getFields() ?? {});
  return { Query: [...SESSION_ONLY_QUERIES], Mutation: mutations.filter((name) => !declared.has(name)) };
}

/**
 * Puts `isSessionCaller` before the rule of every session-only field of `schema`. Throws at start-up
 * for a listed query without a rule (renamed or gone: the list must follow).
 */
export function withSessionOnly(rules: IRules, schema: GraphQLSchema): IRules {
  const all = { ...(rules as Record<string, Record<string, ShieldRule>>) };
  for (const [type, fields] of Object.entries(sessionOnlyFields(schema))) {
    const typed = { ...all[type] };
    for (const field of fields) {
      const own = typed[field];
      if (!own) throw new Error(`session-only field ${type}.${field} has no rule`);
      typed[field] = chain(isSessionCaller, own);
    }
    all[type] = typed;
  }
  return all as IRules;
}

export const apiKeyRules = {
  Query: { apiKeys: isAuthenticated },
  Mutation: { createApiKey: isAuthenticated, revokeApiKey: isAuthenticated },
  ApiKey: { "*": allow },
  CreatedApiKey: { "*": allow },
};
