import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { codeOf, startServer, type SignedIn, type TestServer } from "./support/server.js";

let server: TestServer;
let admin: SignedIn;
beforeAll(async () => {
  // Low limits, so that the schema's real queries can exceed them.
  server = await startServer({
    database: "pglite",
    env: { KAFKEY_GRAPHQL_MAX_DEPTH: "4", KAFKEY_GRAPHQL_MAX_COST: "150" },
  });
  admin = await server.loginAdmin();
});
afterAll(() => server.close());

const refused = async (query: string) => {
  // Under application/json such refusals answer 200 (test/graphql-over-http.test.ts).
  const result = await server.gql(query, {}, admin.accessToken, { accept: "application/graphql-response+json" });
  expect(result.status).toBe(400);
  expect(codeOf(result)).toBe("GRAPHQL_VALIDATION_FAILED");
  expect(result.data).toBeUndefined();
  return result.errors![0]!.message;
};

describe("GraphQL request limits", () => {
  it("let a query within every limit through", async () => {
    expect(
      (await server.gql(`{ me { roles { permissions { key } } } }`, {}, admin.accessToken)).errors,
    ).toBeUndefined();
  });

  it("refuse too many aliases before anything runs", async () => {
    const message = await refused(`{ ${Array.from({ length: 16 }, (_, i) => `a${i}: me { id }`).join(" ")} }`);
    expect(message).toMatch(/alias/i);
  });

  it("refuse a query nested beyond the depth limit, fragments included", async () => {
    expect(await refused(`{ users { items { roles { permissions { key } } } } }`)).toMatch(/depth/i);
    expect(await refused(`{ users { items { ...U } } } fragment U on User { roles { permissions { key } } }`)).toMatch(
      /depth/i,
    );
  });

  // GHSA-733v-p3h5-qpq7 and GHSA-hmfr-rx46-4jx2: a fragment named like the introspection field skipped the limits.
  it("count a fragment named __schema like any other", async () => {
    const query = `{ ...__schema } fragment __schema on Query { users { items { roles { permissions { key } } } } }`;
    expect(await refused(query)).toMatch(/depth/i);
  });

  it("refuse a query whose estimated cost is over the limit", async () => {
    const aliases = Array.from(
      { length: 10 },
      (_, i) => `u${i}: users(pageSize: 100) { items { id email roles { name } } }`,
    );
    expect(await refused(`{ ${aliases.join(" ")} }`)).toMatch(/cost/i);
  });

  it("refuse too many directives and too many tokens", async () => {
    await refused(`{ me ${Array.from({ length: 21 }, () => "@skip(if: false)").join(" ")} { id } }`);
    const tokens = await server.gql(
      `{ ${Array.from({ length: 2100 }, () => "__typename").join(" ")} }`,
      {},
      admin.accessToken,
      { accept: "application/graphql-response+json" },
    );
    expect(tokens.status).toBe(400);
    expect(codeOf(tokens)).toBe("GRAPHQL_PARSE_FAILED");
    expect(JSON.stringify(tokens.errors)).toMatch(/token/i);
  });
});

describe("field suggestions", () => {
  let production: TestServer;
  beforeAll(async () => {
    production = await startServer({ database: "pglite", env: { NODE_ENV: "production" } });
  });
  afterAll(() => production.close());

  it("are given in development and withheld in production", async () => {
    expect(JSON.stringify((await server.gql(`{ mee { id } }`)).errors)).toMatch(/did you mean/i);
    const result = await production.gql(`{ mee { id } }`, {}, undefined, {
      accept: "application/graphql-response+json",
    });
    expect(result.status).toBe(400);
    expect(JSON.stringify(result.errors)).not.toMatch(/did you mean/i);
  });
});

describe("the query budget per caller", () => {
  let budget: TestServer;
  beforeAll(async () => {
    budget = await startServer({ database: "pglite", env: { KAFKEY_QUERY_BUDGET_POINTS: "600" } });
  });
  afterAll(() => budget.close());

  it("charges each operation its estimated cost and refuses the caller past the budget, not others", async () => {
    const user = await budget.signUp("spender");
    const other0 = await budget.signUp("hider");
    // Spend most of hider's budget, so that a 201-point query is the one too many only if fully charged.
    await budget.gql(
      `{ a: users(pageSize: 100) { items { id } } b: users(pageSize: 100) { items { id } } }`,
      {},
      other0.accessToken,
    );
    // users(pageSize: 100) { items { id } } costs 1 + 100 × (1 + 1) = 201 points.
    const costly = `{ me { id } a: users(pageSize: 100) { items { id } } }`;
    const first = await budget.gql(costly, {}, user.accessToken);
    expect(codeOf(first)).toBe("FORBIDDEN"); // charged, although the field itself is refused
    await budget.gql(costly, {}, user.accessToken);
    const over = await budget.gql(costly, {}, user.accessToken);
    expect(over.status).toBe(429);
    expect(codeOf(over)).toBe("RATE_LIMITED");
    expect(over.errors![0]!.extensions).toMatchObject({ cost: 203 });
    expect(over.errors![0]!.extensions!.retryAfter).toBeGreaterThan(0);
    // Regression: a page size hidden in a variable's default was charged as one item.
    const hidden = await budget.gql(
      `query($n: Int = 100) { users(pageSize: $n) { items { id } } }`,
      {},
      other0.accessToken,
    );
    expect(codeOf(hidden)).toBe("RATE_LIMITED");
    const other = await budget.signUp("frugal");
    expect((await budget.gql(`{ me { id } }`, {}, other.accessToken)).errors).toBeUndefined();
  });
});
