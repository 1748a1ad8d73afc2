import { auditServer } from "graphql-http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, codeOf, readJson, startServer, type TestServer } from "./support/server.js";

const JSON_ACCEPT = { accept: "application/json" };
const GRAPHQL_RESPONSE = { accept: "application/graphql-response+json" };
/** What Apollo Client 3 sends (plain `fetch` sends the same). */
const ANYTHING = { accept: "*/*" };

let server: TestServer;
beforeAll(async () => {
  // The defaults: armor, query budget, CSRF prevention and graphql-shield, all on.
  server = await startServer();
});
afterAll(() => server.close());

/** The audit's results that are not `ok`, each with its id, name and reason. */
async function auditFailures(fetchFn?: typeof fetch): Promise<string[]> {
  const results = await auditServer({ url: `${server.url}/graphql`, fetchFn });
  expect(results.filter((r) => r.name.startsWith("MUST"))).toHaveLength(13);
  expect(results.filter((r) => r.name.startsWith("SHOULD"))).toHaveLength(23);
  return results
    .filter((r) => r.status !== "ok")
    .map((r) => `${r.id} ${r.name} (${r.status}: ${"reason" in r ? r.reason : ""})`);
}

/** A GET as urql or Apollo Client sends it: with a header no cross-site page can send without a preflight. */
const preflighted: typeof fetch = (input, init = {}) =>
  fetch(input, {
    ...init,
    headers: (init.method ?? "GET") === "GET" ? { ...init.headers, "apollo-require-preflight": "true" } : init.headers,
  });

/** The MAY rules whose GET carries no such header: Apollo's CSRF prevention refuses them, on purpose. */
const BARE_GETS = ["5A70", "D6D5", "6A70"];

describe("the GraphQL-over-HTTP audit (graphql-http's auditServer), every security layer on", () => {
  it("passes every rule for a client whose GETs carry a CSRF-safe header", async () => {
    const failed = await auditFailures(preflighted);
    expect(failed, failed.join("\n")).toEqual([]);
  });

  it("passes every MUST and SHOULD rule for bare GETs too, refusing only the GETs CSRF prevention refuses", async () => {
    const failed = await auditFailures();
    expect(
      failed.filter((f) => !BARE_GETS.includes(f.split(" ")[0]!)),
      failed.join("\n"),
    ).toEqual([]);
  });
});

// Regression: UNAUTHENTICATED answered 401 and FORBIDDEN 403, which Apollo Client 3 and fetch wrappers
// turn into a network error that hides `extensions.code`.
describe("an executed operation answers 200, whatever its errors", () => {
  it("UNAUTHENTICATED, under every Accept a client sends", async () => {
    for (const headers of [{}, JSON_ACCEPT, ANYTHING, GRAPHQL_RESPONSE]) {
      const result = await server.gql(`{ me { id } }`, {}, undefined, headers);
      expect([result.status, codeOf(result), result.data], JSON.stringify(headers)).toEqual([
        200,
        "UNAUTHENTICATED",
        null,
      ]);
    }
  });

  it("FORBIDDEN, with the permission it names", async () => {
    const user = await server.signUp("plain");
    const result = await server.gql(`{ users { items { id } } }`, {}, user.accessToken, ANYTHING);
    expect([result.status, codeOf(result)]).toEqual([200, "FORBIDDEN"]);
    expect(result.errors![0]!.extensions!.requiredPermission).toBe("users.read");
  });

  it("a wrong password (UNAUTHENTICATED from a public mutation)", async () => {
    const result = await server.gql(
      `mutation { login(email: "${ADMIN.email}", password: "not the password!") { accessToken } }`,
      {},
      undefined,
      JSON_ACCEPT,
    );
    expect([result.status, codeOf(result)]).toEqual([200, "UNAUTHENTICATED"]);
  });
});

describe("a request error about the document or its variables", () => {
  const cases: [string, string, Record<string, unknown>, string][] = [
    ["a syntax error", `{ me { id `, {}, "GRAPHQL_PARSE_FAILED"],
    ["an unknown field", `{ me { password } }`, {}, "GRAPHQL_VALIDATION_FAILED"],
    [
      "a variable of the wrong type",
      `query($page: Int) { users(page: $page) { items { id } } }`,
      { page: "two" },
      "BAD_USER_INPUT",
    ],
    ["a page size over the limit", `{ users(pageSize: 1000) { items { id } } }`, {}, "BAD_USER_INPUT"],
  ];

  it.each(cases)("%s answers 200 under application/json (or */*)", async (_label, query, variables, code) => {
    for (const headers of [JSON_ACCEPT, ANYTHING]) {
      const result = await server.gql(query, variables, undefined, headers);
      expect([result.status, codeOf(result), result.data]).toEqual([200, code, undefined]);
    }
  });

  it.each(cases)("%s answers 400 under application/graphql-response+json", async (_label, query, variables, code) => {
    const result = await server.gql(query, variables, undefined, GRAPHQL_RESPONSE);
    expect([result.status, codeOf(result), result.data]).toEqual([400, code, undefined]);
    expect(result.headers.get("content-type")).toMatch(/^application\/graphql-response\+json/);
  });

  it("prefers the type the client ranks higher (Apollo Client 4's Accept)", async () => {
    const modern = await server.gql(`{ me { id `, {}, undefined, {
      accept: "application/graphql-response+json,application/json;q=0.9",
    });
    expect(modern.status).toBe(400);
    const legacy = await server.gql(`{ me { id `, {}, undefined, {
      accept: "application/graphql-response+json;q=0.5,application/json",
    });
    expect(legacy.status).toBe(200);
  });
});

describe("rate limits", () => {
  let limited: TestServer;
  beforeAll(async () => {
    limited = await startServer({
      database: "pglite",
      env: { KAFKEY_AUTH_RATE_LIMIT_MAX: "2", KAFKEY_QUERY_BUDGET_POINTS: "40" },
    });
  });
  afterAll(() => limited.close());

  it("a field refused during execution answers 200 RATE_LIMITED with Retry-After", async () => {
    const login = `mutation { login(email: "nobody@example.com", password: "not the password!") { accessToken } }`;
    for (let i = 0; i < 2; i++)
      expect(codeOf(await limited.gql(login, {}, undefined, ANYTHING))).toBe("UNAUTHENTICATED");
    const refused = await limited.gql(login, {}, undefined, ANYTHING);
    expect([refused.status, codeOf(refused)]).toEqual([200, "RATE_LIMITED"]);
    const retryAfter = refused.errors![0]!.extensions!.retryAfter as number;
    expect(retryAfter).toBeGreaterThan(0);
    expect(refused.headers.get("retry-after")).toBe(String(retryAfter));
  });

  it("no RATE_LIMITED, no Retry-After", async () => {
    const result = await limited.gql(`{ me { id } }`, {}, undefined, ANYTHING);
    expect(result.headers.get("retry-after")).toBeNull();
  });

  it("the query budget refuses before execution: 429 RATE_LIMITED with Retry-After and no-store", async () => {
    const costly = `{ ${Array.from({ length: 10 }, (_, i) => `t${i}: __typename`).join(" ")} }`;
    let over;
    for (let i = 0; i < 6 && !over; i++) {
      const result = await limited.gql(costly, {}, undefined, JSON_ACCEPT);
      if (codeOf(result) === "RATE_LIMITED") over = result;
    }
    expect(over?.status).toBe(429);
    expect(over!.data).toBeUndefined();
    const retryAfter = over!.errors![0]!.extensions!.retryAfter as number;
    expect(retryAfter).toBeGreaterThan(0);
    expect(over!.headers.get("retry-after")).toBe(String(retryAfter));
    expect(over!.headers.get("cache-control")).toBe("no-store");
  });
});

describe("the per-IP HTTP limit", () => {
  let limited: TestServer;
  beforeAll(async () => {
    limited = await startServer({ database: "pglite", env: { KAFKEY_HTTP_RATE_LIMIT_MAX: "2" } });
  });
  afterAll(() => limited.close());

  it("answers 429 RATE_LIMITED with Retry-After and Cache-Control: no-store", async () => {
    const post = () =>
      fetch(`${limited.url}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ query: "{ __typename }" }),
      });
    for (let i = 0; i < 2; i++) expect((await post()).status).toBe(200);
    const refused = await post();
    expect(refused.status).toBe(429);
    const body = await readJson(refused);
    expect(body.errors[0].extensions.code).toBe("RATE_LIMITED");
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(refused.headers.get("retry-after")).toBe(String(body.errors[0].extensions.retryAfter));
    expect(refused.headers.get("cache-control")).toBe("no-store");
  });
});

describe("token-bearing responses", () => {
  it("are never stored: login answers Cache-Control: no-store", async () => {
    const result = await server.gql(
      `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken refreshToken } }`,
      { e: ADMIN.email, p: ADMIN.password },
    );
    expect(result.data!.login.accessToken).toBeTruthy();
    expect(result.headers.get("cache-control")).toBe("no-store");
  });
});

describe("stable ids for client caches", () => {
  it("an organization member has one, the same in every answer, and distinct per organization", async () => {
    const admin = await server.loginAdmin();
    const created = async (name: string) => {
      const result = await server.gql(
        `mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { id } }`,
        { input: { name } },
        admin.accessToken,
      );
      return result.data!.createOrganization.id as string;
    };
    const members = async (organizationId: string) => {
      const result = await server.gql(
        `query($o: UUID) { members(organizationId: $o) { items { id userId } } }`,
        { o: organizationId },
        admin.accessToken,
      );
      return result.data!.members.items as { id: string; userId: string }[];
    };
    const [a, b] = [await created("Alpha Team"), await created("Beta Team")];
    const [inA, inB] = [await members(a), await members(b)];
    expect(inA[0]!.userId).toBe(inB[0]!.userId);
    expect(inA[0]!.id).toMatch(/\S/);
    expect(inA[0]!.id).not.toBe(inB[0]!.id);
    expect((await members(a))[0]!.id).toBe(inA[0]!.id);
  });

  it("a linked account has its own UUID", async () => {
    const result = await server.gql(`{ linkedAccounts { id provider } }`, {}, (await server.loginAdmin()).accessToken);
    expect(result.errors).toBeUndefined();
    expect(result.data!.linkedAccounts).toEqual([]);
  });
});
