import type { GraphQLSchema } from "graphql";
import { applyMiddleware } from "graphql-middleware";
import { allow, deny, shield, type IRules } from "graphql-shield";
import { ForbiddenError } from "../kernel/errors.js";

type RuleMap = Record<string, Record<string, unknown>>;

/** The modules' rule maps as one: a type's fields from every map that names the type. */
export function mergeRules(...maps: RuleMap[]): IRules {
  const merged: RuleMap = {};
  for (const map of maps) {
    for (const [type, fields] of Object.entries(map)) merged[type] = { ...merged[type], ...fields };
  }
  return merged as IRules;
}

/**
 * Wraps every resolver with its rule. Resolver errors pass (they are coded, or masked later by
 * formatError); a field no rule mentions is denied with FORBIDDEN. A field whose rule is `allow` is left
 * unwrapped: wrapping would only add an async rule call to each of them, which for a list of a hundred
 * users with their roles and permissions is thousands per request.
 */
export function applyPermissions(schema: GraphQLSchema, ruleMap: IRules): GraphQLSchema {
  const generator = shield(ruleMap, {
    fallbackRule: deny,
    allowExternalErrors: true,
    fallbackError: () => new ForbiddenError(undefined, "Not allowed"),
  });
  const middleware = generator.generate(schema) as Record<string, Record<string, unknown>>;
  const ruleOf = (type: string, field: string): unknown => {
    const typeRules = (ruleMap as Record<string, unknown>)[type];
    if (typeRules === undefined || typeRules === allow) return typeRules;
    const fields = typeRules as Record<string, unknown>;
    return fields[field] ?? fields["*"];
  };
  for (const [type, fields] of Object.entries(middleware)) {
    for (const field of Object.keys(fields)) if (ruleOf(type, field) === allow) delete fields[field];
  }
  return applyMiddleware(schema, middleware as never);
}
