import type { ApolloServerPlugin } from "@apollo/server";
import { ApolloArmor } from "@escape.tech/graphql-armor";
import type { ValidationRule } from "graphql";
import type { Config } from "../config.js";
import type { Context } from "./context.js";

/**
 * Refuses oversized requests before they run: depth, estimated cost, aliases and directives, each
 * with a 400 GRAPHQL_VALIDATION_FAILED. Field suggestions
 * ("did you mean ...?") would map the schema for an attacker: off in production.
 */
export function armor(
  limits: Config["graphqlLimits"],
  production: boolean,
): { plugins: ApolloServerPlugin<Context>[]; validationRules: ValidationRule[] } {
  const { plugins, validationRules } = new ApolloArmor({
    maxDepth: { n: limits.maxDepth, flattenFragments: true },
    costLimit: { maxCost: limits.maxCost },
    maxAliases: { n: limits.maxAliases },
    maxDirectives: { n: limits.maxDirectives },
    // Its Apollo plugin throws outside the parse phase, which Apollo answers with a 500: graphql-js's own
    // parser limit (parseOptions in app.ts) refuses the same requests with a 400.
    maxTokens: { enabled: false },
    blockFieldSuggestion: { enabled: production },
  }).protect();
  // graphql-armor's types come from Apollo's CommonJS declarations, ours from its ESM ones: the same shape.
  return { plugins: plugins as unknown as ApolloServerPlugin<Context>[], validationRules };
}
