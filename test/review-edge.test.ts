/**
 * The edge of the API, from the security review (issue 15): what every request's input, headers and
 * token must be before anything runs, what responses carry, and what a plain user is shown of who acted.
 */
import jwt from "jsonwebtoken";
import { createClient } from "graphql-ws";
import { WebSocket } from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, codeOf, readJson, startServer, type TestServer } from "./support/server.js";
import { type ServerSigner, serverSigner } from "./support/tokens.js";
import { until } from "./support/until.js";

let server: TestServer;
beforeAll(async () => {
  server = await startServer({ env: { KAFKEY_AUDIT_DISPATCH_INTERVAL_MS: "200" } });
});
afterAll(() => server?.close());

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface WsError {
  message: string;
  extensions?: { code?: string };
}

/**
 * Subscribes over a real WebSocket; `state` collects what arrives. The deadline only bounds a wait
 * for something that must come.
 */
function subscribe(target: TestServer, connectionParams: Record<string, unknown>, query: string, variables = {}) {
  const client = createClient({
    url: `${target.url.replace(/^http/, "ws")}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams,
    retryAttempts: 0,
  });
  const state: { received: Record<string, any>[]; errors?: WsError[] } = { received: [] };
  client.subscribe(
    { query, variables },
    {
      next: (value) => void (value.errors ? (state.errors = value.errors as never) : state.received.push(value.data!)),
      error: (error) => void (state.errors = Array.isArray(error) ? error : [{ message: String(error) }]),
      complete: () => undefined,
    },
  );
  return { client, state };
}

describe("the query budget", () => {
  let budget: TestServer;
  beforeAll(async () => {
    budget = await startServer({ database: "pglite", store: "memory", env: { KAFKEY_QUERY_BUDGET_POINTS: "1000" } });
  });
  afterAll(() => budget?.close());

  // users(pageSize: 100) with four fields per item: 1 + 100 * (1 + 4) = 501 points.
  const BIG = `{ users(pageSize: 100) { items { id email displayName status } } }`;

  it("rejects a page size above the maximum as BAD_USER_INPUT, before any cost is counted", async () => {
    // Regression: it was charged 200,001 points, answered RATE_LIMITED, and the next cheap query refused.
    const user = await budget.signUp("huge");
    const huge = await budget.gql(`{ users(page: 1, pageSize: 100000) { items { id } } }`, {}, user.accessToken);
    expect(codeOf(huge)).toBe("BAD_USER_INPUT");
    const cheap = await budget.gql(`{ me { id } }`, {}, user.accessToken);
    expect(cheap.errors).toBeUndefined();
  });

  it("does not charge a request it refuses", async () => {
    const user = await budget.signUp("refused");
    expect(codeOf(await budget.gql(BIG, {}, user.accessToken))).toBe("FORBIDDEN");
    expect(codeOf(await budget.gql(BIG, {}, user.accessToken))).toBe("RATE_LIMITED");
    const cheap = await budget.gql(`{ me { id } }`, {}, user.accessToken);
    expect(cheap.errors).toBeUndefined();
  });

  it("charges a list without its size argument at its default page size", async () => {
    const user = await budget.signUp("defaults");
    // 1 + 20 * (1 + 4) = 101 points each: the tenth goes over 1,000.
    const codes: (string | undefined)[] = [];
    for (let i = 0; i < 10; i++) {
      codes.push(codeOf(await budget.gql(`{ users { items { id email displayName status } } }`, {}, user.accessToken)));
    }
    expect(codes.slice(0, 9)).toEqual(Array(9).fill("FORBIDDEN"));
    expect(codes[9]).toBe("RATE_LIMITED");
  });
});

describe("string and date inputs", () => {
  const LOGIN = `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }`;

  it.each([["a\u0000b@example.com"], ["a\ud800b@example.com"], ["a\udc00b@example.com"]])(
    "rejects the string %j anonymously with BAD_USER_INPUT",
    async (email) => {
      const result = await server.gql(LOGIN, { e: email, p: "whatever password" });
      expect(codeOf(result)).toBe("BAD_USER_INPUT");
      expect(result.errors![0]!.extensions!.fields).toEqual([expect.objectContaining({ path: "email" })]);
    },
  );

  it("rejects a NUL byte inside a nested input object", async () => {
    const user = await server.signUp("nested");
    const result = await server.gql(
      `mutation($input: UpdateMeInput!) { updateMe(input: $input) { id } }`,
      { input: { displayName: "bad\u0000name" } },
      user.accessToken,
    );
    expect(codeOf(result)).toBe("BAD_USER_INPUT");
    expect(result.errors![0]!.extensions!.fields).toEqual([expect.objectContaining({ path: "input.displayName" })]);
  });

  it("rejects the year 0000 in an audit filter with BAD_USER_INPUT", async () => {
    const admin = await server.loginAdmin();
    const result = await server.gql(
      `query($f: AuditEventFilter) { auditEvents(filter: $f) { edges { cursor } } }`,
      { f: { from: "0000-01-01T00:00:00Z" } },
      admin.accessToken,
    );
    expect(codeOf(result)).toBe("BAD_USER_INPUT");
    expect(result.errors![0]!.extensions!.fields).toEqual([expect.objectContaining({ path: "filter.from" })]);
  });

  it("rejects a cursor for the year 275760 with BAD_USER_INPUT", async () => {
    const user = await server.signUp("cursor");
    const cursor = Buffer.from(
      JSON.stringify(["+275760-09-13T00:00:00.000Z", "00000000-0000-4000-8000-000000000000"]),
    ).toString("base64url");
    const result = await server.gql(
      `query($after: String) { notifications(after: $after) { unreadCount } }`,
      { after: cursor },
      user.accessToken,
    );
    expect(codeOf(result)).toBe("BAD_USER_INPUT");
  });

  it("rejects a NUL byte in a subscription's arguments over WebSocket", async () => {
    const admin = await server.loginAdmin();
    const { client, state } = subscribe(
      server,
      { authorization: `Bearer ${admin.accessToken}` },
      `subscription($f: AuditEventFilter) { auditEvents(filter: $f) { id } }`,
      { f: { action: "a\u0000b" } },
    );
    await until(() => state.errors !== undefined);
    expect(state.errors![0]!.extensions?.code).toBe("BAD_USER_INPUT");
    await client.dispose();
  });
});

describe("allOrganizations' search", () => {
  it("matches % and _ literally, not as wildcards", async () => {
    const admin = await server.loginAdmin();
    await server.gql(
      `mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { id } }`,
      { input: { name: "Plain Org" } },
      admin.accessToken,
    );
    for (const search of ["%", "_"]) {
      const result = await server.gql(
        `query($s: String) { allOrganizations(search: $s) { items { name } pageInfo { totalItems } } }`,
        { s: search },
        admin.accessToken,
      );
      expect(result.errors).toBeUndefined();
      expect(result.data!.allOrganizations.pageInfo.totalItems).toBe(0);
    }
  });
});

describe("production errors", () => {
  let production: TestServer;
  beforeAll(async () => {
    production = await startServer({ database: "pglite", store: "memory", env: { NODE_ENV: "production" } });
  });
  afterAll(() => production?.close());

  it("suggest no enum values, in a literal or a variable", async () => {
    const literal = await production.gql(`{ users(filter: { status: ACTIV }) { items { id } } }`);
    expect(codeOf(literal)).toBe("GRAPHQL_VALIDATION_FAILED");
    const variable = await production.gql(`query($s: UserStatus) { users(filter: { status: $s }) { items { id } } }`, {
      s: "ACTIV",
    });
    expect(codeOf(variable)).toBe("BAD_USER_INPUT");
    for (const result of [literal, variable]) expect(result.errors![0]!.message).not.toMatch(/did you mean|ACTIVE/i);
  });
});

describe("a subscription refused by validation", () => {
  it.each([
    ["introspection", `subscription { __schema { types { name } } }`],
    [
      "too many aliases",
      `subscription { securityEvents { ${Array.from({ length: 20 }, (_, i) => `a${i}: id`).join(" ")} } }`,
    ],
  ])("answers GRAPHQL_VALIDATION_FAILED over WebSocket (%s), as over HTTP", async (_name, query) => {
    const user = await server.signUp("invalid-ws");
    const { client, state } = subscribe(server, { authorization: `Bearer ${user.accessToken}` }, query);
    await until(() => state.errors !== undefined);
    expect(state.errors![0]!.extensions?.code).toBe("GRAPHQL_VALIDATION_FAILED");
    await client.dispose();
    const unexpected = server.logs.map((l) => JSON.parse(l)).filter((l) => l.message === "unexpected error");
    expect(unexpected).toEqual([]);
  });
});

describe("response headers", () => {
  it("GraphQL responses are no-store and nosniff", async () => {
    const admin = await server.loginAdmin();
    const response = await server.gql(`{ me { id } }`, {}, admin.accessToken);
    expect(response.headers.get("cache-control")).toBe("no-store");
    expect(response.headers.get("x-content-type-options")).toBe("nosniff");
  });

  it("every other response is nosniff, an unknown route's too", async () => {
    for (const route of ["/health/live", "/no-such-route"]) {
      const response = await fetch(`${server.url}${route}`);
      expect(response.headers.get("x-content-type-options")).toBe("nosniff");
    }
  });

  it("an OAuth redirect carrying a code is no-store", async () => {
    const response = await fetch(`${server.url}/auth/oauth/nobody/callback?code=abc&state=def`, { redirect: "manual" });
    expect(response.headers.get("cache-control")).toBe("no-store");
  });
});

describe("/health/ready", () => {
  let proxied: TestServer;
  beforeAll(async () => {
    proxied = await startServer({ database: "pglite", store: "memory", env: { KAFKEY_TRUST_PROXY: "true" } });
  });
  afterAll(() => proxied?.close());

  it("tells a caller from elsewhere only the status, not which dependency is down", async () => {
    const response = await fetch(`${proxied.url}/health/ready`, { headers: { "x-forwarded-for": "203.0.113.9" } });
    expect(response.status).toBe(200);
    expect(await readJson(response)).toEqual({ status: "ok" });
    // From the machine itself, the details.
    const local = await readJson(await fetch(`${proxied.url}/health/ready`));
    expect(local.checks.database.status).toBe("ok");
  });
});

describe("x-organization-id", () => {
  it("rejects a malformed header with BAD_USER_INPUT over HTTP", async () => {
    const user = await server.signUp("org-header");
    const result = await server.gql(`{ me { id } }`, {}, user.accessToken, { "x-organization-id": "not-a-uuid" });
    expect(codeOf(result)).toBe("BAD_USER_INPUT");
    const anonymous = await server.gql(`{ __typename }`, {}, undefined, { "x-organization-id": "not-a-uuid" });
    expect(codeOf(anonymous)).toBe("BAD_USER_INPUT");
  });

  it("rejects a malformed connection parameter with BAD_USER_INPUT over WebSocket", async () => {
    const user = await server.signUp("org-param");
    const { client, state } = subscribe(
      server,
      { authorization: `Bearer ${user.accessToken}`, "x-organization-id": "not-a-uuid" },
      `subscription { securityEvents { id } }`,
    );
    await until(() => state.errors !== undefined);
    expect(state.errors![0]!.extensions?.code).toBe("BAD_USER_INPUT");
    await client.dispose();
  });
});

describe("who acted, as a plain user sees it", () => {
  it("shows a plain user no administrator's email, in notifications or security events", async () => {
    const user = await server.signUp("plain");
    const events = subscribe(
      server,
      { authorization: `Bearer ${user.accessToken}` },
      `subscription { securityEvents { action actorEmail } }`,
    );
    // Events from before the subscription is set up are not replayed: grant until one arrives.
    await until(
      () => events.state.received.some((e) => e.securityEvents.action === "user.role_assigned"),
      () => server.grant(user.id, []),
    );
    const assigned = events.state.received.find((e) => e.securityEvents.action === "user.role_assigned")!;
    expect(assigned.securityEvents.actorEmail).toBeNull();
    await events.client.dispose();

    await server.app.auditDispatcher.drain();
    const inbox = await server.gql(`{ notifications { edges { node { kind body } } } }`, {}, user.accessToken);
    const bodies = inbox.data!.notifications.edges.map((e: { node: { body: string } }) => e.node.body);
    expect(bodies.length).toBeGreaterThan(0);
    expect(bodies.join("\n")).not.toContain(ADMIN.email);
    expect(bodies.join("\n")).toContain("by an administrator");
  });

  it("shows the actor's email to a user who may read users", async () => {
    const reader = await server.signUp("reader");
    await server.grant(reader.id, ["users.read"]);
    const fresh = await server.login(reader.email, "a perfectly long password");
    const events = subscribe(
      server,
      { authorization: `Bearer ${fresh.accessToken}` },
      `subscription { securityEvents { action actorEmail } }`,
    );
    await until(
      () => events.state.received.some((e) => e.securityEvents.action === "user.role_assigned"),
      () => server.grant(reader.id, []),
    );
    const assigned = events.state.received.find((e) => e.securityEvents.action === "user.role_assigned")!;
    expect(assigned.securityEvents.actorEmail).toBe(ADMIN.email);
    await events.client.dispose();
  });
});

describe("x-request-id", () => {
  it("is echoed, but Kafkey's own id is the request id of errors and logs, the client's logged beside it", async () => {
    const result = await server.gql(`{ me { id } }`, {}, undefined, { "x-request-id": "client-chosen-1" });
    expect(result.headers.get("x-request-id")).toBe("client-chosen-1");
    const requestId = result.errors![0]!.extensions!.requestId as string;
    expect(requestId).toMatch(UUID_PATTERN);
    const line = server.logs
      .map((l) => JSON.parse(l))
      .find((l) => l.requestId === requestId && l.message === "request");
    expect(line).toMatchObject({ clientRequestId: "client-chosen-1", status: 200 });
    expect(server.logs.map((l) => JSON.parse(l)).some((l) => l.requestId === "client-chosen-1")).toBe(false);
  });
});

describe("access token claims", () => {
  let sign: ServerSigner;
  beforeAll(async () => {
    sign = await serverSigner(server);
  });
  /** A token like `real`, with claims changed, signed with the server's own key. */
  function forged(real: string, change: (claims: Record<string, any>) => Record<string, any>): string {
    const claims = jwt.decode(real) as Record<string, any>;
    return sign(change({ ...claims }));
  }

  it("reads an upper-case sub and sid as the canonical ids", async () => {
    const user = await server.signUp("upper");
    const token = forged(user.accessToken, (c) => ({ ...c, sub: c.sub.toUpperCase(), sid: c.sid.toUpperCase() }));
    const result = await server.gql(`{ me { id email } }`, {}, token);
    expect(result.errors).toBeUndefined();
    expect(result.data!.me).toEqual({ id: user.id, email: user.email });
  });

  it("rejects a token that lives longer than the configured access-token lifetime", async () => {
    const user = await server.signUp("long-lived");
    const now = Math.floor(Date.now() / 1000);
    const token = forged(user.accessToken, (c) => ({ ...c, iat: now, exp: now + 365 * 24 * 3600 }));
    expect(codeOf(await server.gql(`{ me { id } }`, {}, token))).toBe("UNAUTHENTICATED");
  });
});
