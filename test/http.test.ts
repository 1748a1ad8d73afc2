import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { codeOf, readJson, startServer, type TestServer } from "./support/server.js";

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.close());

const GRAPHQL_RESPONSE = { accept: "application/graphql-response+json" };

const post = (body: string, headers: Record<string, string> = {}) =>
  fetch(`${server.url}/graphql`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body });

describe("request ids", () => {
  it("echoes a safe x-request-id on the response, and logs it beside Kafkey's own request id", async () => {
    const result = await server.gql(`{ me { id } }`, {}, undefined, { "x-request-id": "client-abc.123_x" });
    expect(result.headers.get("x-request-id")).toBe("client-abc.123_x");
    const requestId = result.errors![0]!.extensions!.requestId;
    const line = server.logs
      .map((l) => JSON.parse(l))
      .find((l) => l.requestId === requestId && l.message === "request");
    // An executed operation answers 200, its errors included (test/graphql-over-http.test.ts).
    expect(line).toMatchObject({ clientRequestId: "client-abc.123_x", method: "POST", path: "/graphql", status: 200 });
  });

  it.each([["with a space"], ["x".repeat(129)], ["<script>"], ["a;b"]])(
    "replaces the unsafe id %j by a UUID",
    async (unsafe) => {
      const response = await fetch(`${server.url}/health/live`, { headers: { "x-request-id": unsafe } });
      expect(response.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    },
  );

  it("gives every response a request id when the client sends none", async () => {
    const response = await fetch(`${server.url}/health/live`);
    expect(response.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("tags the log lines a request writes with its request id and user id", async () => {
    const user = await server.signUp("tagged");
    const renamed = await server.gql(
      `mutation Rename { updateMe(input: { displayName: "Tagged" }) { id } }`,
      {},
      user.accessToken,
    );
    const requestId = renamed.headers.get("x-request-id");
    const lines = server.logs.map((l) => JSON.parse(l)).filter((l) => l.requestId === requestId);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.every((l) => typeof l.time === "string" && typeof l.level === "string")).toBe(true);
    // One line per request, with who made it, which operation and how long it took.
    const summary = lines.filter((l) => l.message === "request");
    expect(summary).toHaveLength(1);
    expect(summary[0]).toMatchObject({ userId: user.id, operationName: "Rename", status: 200 });
    expect(typeof summary[0].durationMs).toBe("number");
  });
});

describe("bad requests get a clear 4xx, never a 500", () => {
  it("malformed JSON: 400 BAD_REQUEST", async () => {
    const response = await post(`{"query": "{ me { id } }"`);
    expect(response.status).toBe(400);
    const body = await readJson(response);
    expect(body.errors[0].extensions.code).toBe("BAD_REQUEST");
    expect(body.errors[0].extensions.requestId).toBe(response.headers.get("x-request-id"));
  });

  it("a body over 100 KB: 413 PAYLOAD_TOO_LARGE", async () => {
    const response = await post(JSON.stringify({ query: `{ me { id } }`, variables: { pad: "x".repeat(110_000) } }));
    expect(response.status).toBe(413);
    expect((await readJson(response)).errors[0].extensions.code).toBe("PAYLOAD_TOO_LARGE");
  });

  it("a variable of the wrong type: 400 BAD_USER_INPUT", async () => {
    // Under application/json such request errors answer 200 (test/graphql-over-http.test.ts).
    const result = await server.gql(
      `query($page: Int) { users(page: $page) { items { id } } }`,
      { page: "two" },
      undefined,
      GRAPHQL_RESPONSE,
    );
    expect(result.status).toBe(400);
    expect(codeOf(result)).toBe("BAD_USER_INPUT");
  });

  it("a syntax error: 400 GRAPHQL_PARSE_FAILED; an unknown field: 400 GRAPHQL_VALIDATION_FAILED", async () => {
    const parse = await server.gql(`{ me { id `, {}, undefined, GRAPHQL_RESPONSE);
    expect([parse.status, codeOf(parse)]).toEqual([400, "GRAPHQL_PARSE_FAILED"]);
    const validation = await server.gql(`{ me { password } }`, {}, undefined, GRAPHQL_RESPONSE);
    expect([validation.status, codeOf(validation)]).toEqual([400, "GRAPHQL_VALIDATION_FAILED"]);
  });

  it("a batched array of operations: 400", async () => {
    const response = await post(JSON.stringify([{ query: "{ me { id } }" }, { query: "{ me { id } }" }]));
    expect(response.status).toBe(400);
  });

  it("a mutation over GET is refused and does not run", async () => {
    const query = encodeURIComponent(
      `mutation { signUp(input: { email: "get@example.com", password: "a perfectly long password", displayName: "G" }) { accessToken } }`,
    );
    const response = await fetch(`${server.url}/graphql?query=${query}`, {
      headers: { "apollo-require-preflight": "true" },
    });
    expect(response.status).toBe(405);
    const login = await server.gql(
      `mutation { login(email: "get@example.com", password: "a perfectly long password") { accessToken } }`,
    );
    expect(codeOf(login)).toBe("UNAUTHENTICATED");
  });

  it("a POST without a JSON content type is refused, so a plain HTML form cannot call the API", async () => {
    for (const type of ["text/plain", "application/x-www-form-urlencoded"]) {
      const response = await fetch(`${server.url}/graphql`, {
        method: "POST",
        headers: { "content-type": type },
        body: JSON.stringify({ query: "mutation { logout }" }),
      });
      expect(response.status).toBeGreaterThanOrEqual(400);
      expect(response.status).toBeLessThan(500);
    }
  });

  it("a GET query without a CSRF-safe header is refused", async () => {
    const response = await fetch(`${server.url}/graphql?query=${encodeURIComponent("{ __typename }")}`);
    expect(response.status).toBe(400);
  });

  it("an unknown route: 404 NOT_FOUND", async () => {
    const response = await fetch(`${server.url}/nope`);
    expect(response.status).toBe(404);
    expect((await readJson(response)).errors[0].extensions.code).toBe("NOT_FOUND");
  });
});

describe("health", () => {
  it("live and ready answer ok with the database's latency", async () => {
    expect(await readJson(await fetch(`${server.url}/health/live`))).toEqual({ status: "ok" });
    const ready = await fetch(`${server.url}/health/ready`);
    expect(ready.status).toBe(200);
    const body = await readJson(ready);
    expect(body).toMatchObject({ status: "ok", checks: { database: { status: "ok" } } });
    expect(typeof body.checks.database.latencyMs).toBe("number");
  });

  it("ready answers 503 when the database is gone", async () => {
    const lonely = await startServer({ database: "pglite" });
    try {
      await lonely.app.db.close();
      const ready = await fetch(`${lonely.url}/health/ready`);
      expect(ready.status).toBe(503);
      expect(await readJson(ready)).toMatchObject({ status: "down", checks: { database: { status: "down" } } });
      expect((await fetch(`${lonely.url}/health/live`)).status).toBe(200);
    } finally {
      await lonely.app.http.close();
    }
  });
});

describe("unexpected errors", () => {
  it("are masked as INTERNAL_SERVER_ERROR with the request id, and logged in full", async () => {
    const broken = await startServer();
    try {
      await broken.app.db.prisma.$executeRawUnsafe(`ALTER TABLE "refresh_tokens" RENAME TO "refresh_tokens_gone"`);
      const response = await broken.gql(
        `mutation { login(email: "${"admin@kafkey.test"}", password: "admin-password-for-tests") { accessToken } }`,
      );
      expect(codeOf(response)).toBe("INTERNAL_SERVER_ERROR");
      const requestId = response.headers.get("x-request-id");
      expect(response.errors![0]).toMatchObject({ message: "Unexpected error", extensions: { requestId } });
      expect(JSON.stringify(response)).not.toMatch(/refresh_tokens|prisma|stack/i);
      const logged = broken.logs
        .map((l) => JSON.parse(l))
        .find((l) => l.requestId === requestId && l.level === "error");
      expect(JSON.stringify(logged)).toMatch(/refresh_tokens/);
    } finally {
      await broken.close();
    }
  });
});

describe("a permission rule that throws", () => {
  it("denies the field and is logged with the request id", async () => {
    const broken = await startServer({ database: "pglite" });
    try {
      const admin = await broken.loginAdmin();
      // The rule loads the caller's grants: make that load fail.
      await broken.app.db.prisma.$executeRawUnsafe(`ALTER TABLE "user_roles" RENAME TO "user_roles_gone"`);
      const result = await broken.gql(`{ users { items { email } } }`, {}, admin.accessToken);
      expect(result.data).toBeNull();
      expect(codeOf(result)).toBe("INTERNAL_SERVER_ERROR");
      const requestId = result.errors![0]!.extensions!.requestId;
      const logged = broken.logs
        .map((l) => JSON.parse(l))
        .find((l) => l.requestId === requestId && l.level === "error");
      expect(JSON.stringify(logged)).toMatch(/user_roles/);
    } finally {
      await broken.close();
    }
  });
});

describe("Apollo Sandbox", () => {
  it("is served at /graphql outside production", async () => {
    const response = await fetch(`${server.url}/graphql`, { headers: { accept: "text/html" } });
    expect(response.status).toBe(200);
    expect(await response.text()).toMatch(/sandbox/i);
  });

  it("is off in production, and so is introspection", async () => {
    const production = await startServer({ database: "pglite", env: { NODE_ENV: "production" } });
    try {
      const page = await fetch(`${production.url}/graphql`, { headers: { accept: "text/html" } });
      expect(await page.text()).not.toMatch(/sandbox/i);
      const introspection = await production.gql(`{ __schema { types { name } } }`);
      expect(codeOf(introspection)).toBe("GRAPHQL_VALIDATION_FAILED");
    } finally {
      await production.close();
    }
  });
});
