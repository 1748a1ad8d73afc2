import type { GraphQLSchema } from "graphql";
import { applyMiddleware } from "graphql-middleware";
import { allow, deny, shield, type IRules } from "graphql-shield";
import type { CatalogPermission, OrganizationPermission } from "../kernel/permission-catalog.js";
import { ForbiddenError } from "../kernel/errors.js";
import { declaredPermissions } from "./decorators.js";

type RuleMap = Record<string, Record<string, unknown>>;

/**
 * The modules' rule maps as one: a type's fields from every map that names the type. A field named
 * by two maps (a rule in a `*.rules.ts` and a @Needs on the field, say) is refused: each field's rule
 * has one source, so none silently replaces another.
 */
export function mergeRules(...maps: RuleMap[]): IRules {
  const merged: RuleMap = {};
  for (const map of maps) {
    for (const [type, fields] of Object.entries(map)) {
      const into = (merged[type] ??= {});
      for (const [field, rule] of Object.entries(fields)) {
        if (field in into) throw new Error(`${type}.${field} has two rules: declare it in one place`);
        into[field] = rule;
      }
    }
  }
  return merged as IRules;
}

/** The rules that the permissions declared on fields stand for, built by the permissions module. */
export interface PermissionRuleBuilders {
  /** `@Needs(key)`: the caller holds `key` through a platform role. */
  platform(key: CatalogPermission): unknown;
  /** `@NeedsInOrganization(key)`: the caller holds `key` in the organization the field acts in. */
  organization(key: OrganizationPermission): unknown;
}

/** The rule map of every field declared with @Needs or @NeedsInOrganization (see decorators.ts). */
export function declaredRules(schema: GraphQLSchema, build: PermissionRuleBuilders): RuleMap {
  const map: RuleMap = {};
  for (const { type, field, permission } of declaredPermissions(schema)) {
    (map[type] ??= {})[field.name] =
      permission.in === "platform" ? build.platform(permission.key) : build.organization(permission.key);
  }
  return map;
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
