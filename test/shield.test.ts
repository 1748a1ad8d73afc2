import "reflect-metadata";
import { graphql } from "graphql";
import { allow } from "graphql-shield";
import { makeExecutableSchema } from "@graphql-tools/schema";
import { describe, expect, it } from "vitest";
import { buildGraphQLSchema } from "../src/graphql/schema.js";
import { applyPermissions, rules } from "../src/graphql/shield.js";

describe("the permission rules", () => {
  it("name a rule for every field of every type of the schema", async () => {
    const schema = await buildGraphQLSchema();
    const table = rules as Record<string, Record<string, unknown>>;
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
