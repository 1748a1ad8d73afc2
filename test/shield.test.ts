import "reflect-metadata";
import { graphql, GraphQLObjectType, GraphQLSchema, GraphQLString } from "graphql";
import { allow } from "graphql-shield";
import { makeExecutableSchema } from "@graphql-tools/schema";
import { beforeAll, describe, expect, it } from "vitest";
import { RESOLVERS, rulesFor } from "../src/api.js";
import { describePermissions } from "../src/graphql/decorators.js";
import { buildGraphQLSchema } from "../src/graphql/schema.js";
import { applyPermissions, declaredRules, mergeRules } from "../src/graphql/shield.js";
import { declaredPermissionRules, requirePermission } from "../src/modules/permissions/index.js";

let schema: GraphQLSchema;
let rules: Record<string, Record<string, unknown>>;
beforeAll(async () => {
  schema = await buildGraphQLSchema(RESOLVERS);
  rules = rulesFor(schema) as Record<string, Record<string, unknown>>;
});

describe("the permission rules", () => {
  it("name a rule for every field of every type of the schema", () => {
    const table = rules;
    const missing = Object.values(schema.getTypeMap())
      // Object types (they have fields and no input-ness), introspection types aside.
      .filter((type) => type.constructor.name === "GraphQLObjectType" && !type.name.startsWith("__"))
      .flatMap((type) =>
        Object.keys((type as { getFields(): object }).getFields())
          .filter((field) => !table[type.name]?.[field] && !table[type.name]?.["*"])
          .map((field) => `${type.name}.${field}`),
      );
    expect(missing).toEqual([]);
  });

  it("name no type or field that the schema does not have (a renamed field would keep a stale rule)", () => {
    const stale = Object.entries(rules).flatMap(([type, fields]) => {
      const fieldsOf = (schema.getType(type) as { getFields?(): object } | undefined)?.getFields?.();
      if (!fieldsOf) return [type];
      return Object.keys(fields)
        .filter((field) => field !== "*" && !(field in fieldsOf))
        .map((field) => `${type}.${field}`);
    });
    expect(stale).toEqual([]);
  });

  it("give a field declared with @Needs that permission's rule, and its description the sentence", () => {
    expect(rules.Query!.user).toBe(requirePermission("users.read"));
    expect(rules.Mutation!.deletePermission).toBe(requirePermission("permissions.delete"));
    expect(schema.getQueryType()!.getFields().user!.description).toBe("Needs users.read.");
    expect(schema.getMutationType()!.getFields().deletePermission!.description).toBe(
      "Built-in permissions cannot be deleted. Needs permissions.delete, and the permission itself.",
    );
  });

  it("refuse a field with a rule in a rule map as well as its declared permission (one source per field)", () => {
    expect(() => mergeRules(declaredRules(schema, declaredPermissionRules), { Query: { user: allow } })).toThrow(
      "Query.user has two rules",
    );
    expect(() => mergeRules({ User: { email: allow } }, { User: { email: allow } })).toThrow(
      "User.email has two rules",
    );
  });

  it("refuse a field whose description restates the permission it declares", () => {
    const query = new GraphQLObjectType({
      name: "Query",
      fields: {
        user: {
          type: GraphQLString,
          description: "Needs users.read.",
          extensions: { permission: { key: "users.read", in: "platform" } },
        },
      },
    });
    expect(() => describePermissions(new GraphQLSchema({ query }))).toThrow("restates what it needs");
  });

  it("deny a field that no rule mentions, with FORBIDDEN", async () => {
    const schema = applyPermissions(
      makeExecutableSchema({
        typeDefs: `type Query { me: String, unguarded: String }`,
        resolvers: { Query: { me: () => "me", unguarded: () => "secret" } },
      }),
      { Query: { me: allow } },
    );
    const result = await graphql({ schema, source: "{ me unguarded }", contextValue: {} });
    expect(result.data).toEqual({ me: "me", unguarded: null });
    expect(result.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
  });
});
