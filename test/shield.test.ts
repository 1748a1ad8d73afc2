import "reflect-metadata";
import { graphql } from "graphql";
import { allow } from "graphql-shield";
import { makeExecutableSchema } from "@graphql-tools/schema";
import { describe, expect, it } from "vitest";
import { RESOLVERS, RULES } from "../src/api.js";
import { buildGraphQLSchema } from "../src/graphql/schema.js";
import { applyPermissions } from "../src/graphql/shield.js";

describe("the permission rules", () => {
  it("name a rule for every field of every type of the schema", async () => {
    const schema = await buildGraphQLSchema(RESOLVERS);
    const table = RULES as Record<string, Record<string, unknown>>;
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

  it("name no type or field that the schema does not have (a renamed field would keep a stale rule)", async () => {
    const schema = await buildGraphQLSchema(RESOLVERS);
    const stale = Object.entries(RULES as Record<string, Record<string, unknown>>).flatMap(([type, fields]) => {
      const fieldsOf = (schema.getType(type) as { getFields?(): object } | undefined)?.getFields?.();
      if (!fieldsOf) return [type];
      return Object.keys(fields)
        .filter((field) => field !== "*" && !(field in fieldsOf))
        .map((field) => `${type}.${field}`);
    });
    expect(stale).toEqual([]);
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
