/**
 * GraphQL subscriptions over a real WebSocket with a real graphql-ws client, against two instances
 * sharing PostgreSQL and Redis: security events, the live audit trail, notifications, and who may
 * listen to what for how long.
 */
import { type Client, createClient } from "graphql-ws";
import { WebSocket } from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { codeOf, PASSWORD, type SignedIn, startServer, type TestServer } from "./support/server.js";
import { until } from "./support/until.js";

const SECURITY_EVENTS = `subscription { securityEvents { id action title ip userAgent sessionId } }`;
const LOGIN = `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }`;

let a: TestServer;
let b: TestServer;
beforeAll(async () => {
  const env = {
    KAFKEY_WS_MAX_SUBSCRIPTIONS: "3",
    KAFKEY_WS_MAX_CONNECTIONS_PER_USER: "2",
    KAFKEY_AUDIT_DISPATCH_INTERVAL_MS: "200",
    KAFKEY_ORGANIZATION_CREATION: "users",
  };
  a = await startServer({ env });
  b = await startServer({ env, sharing: a });
});
afterAll(async () => {
  await b?.close();
  await a?.close();
});

interface Connection {
  client: Client;
  /** Resolves with the close code once the server closes the socket. */
  closed: Promise<number>;
}

function connect(server: TestServer, connectionParams: Record<string, unknown>): Connection {
  let closedWith: (code: number) => void = () => undefined;
  const closed = new Promise<number>((resolve) => (closedWith = resolve));
  const client = createClient({
    url: `${server.url.replace(/^http/, "ws")}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams,
    retryAttempts: 0,
    on: { closed: (event) => closedWith((event as { code: number }).code) },
  });
  return { client, closed };
}

const bearer = (user: { accessToken: string }) => ({ authorization: `Bearer ${user.accessToken}` });

/** Subscribes and collects what arrives; `errors` holds a refusal. */
function listen<T = Record<string, any>>(connection: Connection, query: string, variables?: Record<string, unknown>) {
  const received: T[] = [];
  const state: { errors?: { message: string; extensions?: { code?: string } }[]; done: boolean } = { done: false };
  const stop = connection.client.subscribe<T>(
    { query, variables },
    {
      next: (value) => void (value.data ? received.push(value.data) : (state.errors = value.errors as never)),
      error: (error) => {
        state.errors = Array.isArray(error) ? error : [{ message: String((error as Error).message ?? error) }];
        state.done = true;
      },
      complete: () => void (state.done = true),
    },
  );
  return { received, state, stop };
}

function loginAs(server: TestServer, user: SignedIn, userAgent: string) {
  return server.gql(LOGIN, { e: user.email, p: PASSWORD }, undefined, { "user-agent": userAgent });
}

describe("securityEvents", () => {
  it("an event caused on instance A reaches a subscriber on instance B, live, with device and IP", async () => {
    const user = await a.signUp("live");
    const connection = connect(b, bearer(user));
    const events = listen(connection, SECURITY_EVENTS);
    await until(
      () => events.received.length > 0,
      () => loginAs(a, user, "Phone/1.0"),
    );
    const [first] = events.received;
    expect(first!.securityEvents).toMatchObject({ action: "auth.login", title: "New sign-in", userAgent: "Phone/1.0" });
    expect(first!.securityEvents.ip).toBeTruthy();
    await connection.client.dispose();
  });

  it("never delivers another user's events", async () => {
    const me = await a.signUp("me");
    const other = await a.signUp("other");
    // As Apollo Sandbox sends it: its headers, as connection parameters.
    const connection = connect(b, { Authorization: `Bearer ${me.accessToken}` });
    const events = listen(connection, SECURITY_EVENTS);
    await until(
      () => events.received.some((e) => e.securityEvents.userAgent === "Mine/1.0"),
      async () => {
        await loginAs(a, other, "Theirs/1.0");
        await loginAs(b, other, "Theirs/1.0");
        await loginAs(a, me, "Mine/1.0");
      },
    );
    expect(events.received.map((e) => e.securityEvents.userAgent)).not.toContain("Theirs/1.0");
    await connection.client.dispose();
  });

  it("ends with 4403 once the subscriber's token is revoked by logging out", async () => {
    const user = await a.signUp("leaving");
    const connection = connect(b, bearer(user));
    const events = listen(connection, SECURITY_EVENTS);
    await until(
      () => events.received.length > 0,
      () => loginAs(a, user, "Other/1.0"),
    );
    expect((await a.gql(`mutation { logout }`, {}, user.accessToken)).errors).toBeUndefined();
    expect(await connection.closed).toBe(4403);
  });
});

describe("a subscription whose session ends", () => {
  // Regression: the caller was checked again only before an event; a subscription that got none stayed
  // open after the logout until its token expired.
  it("closes with 4403 at once on the instance that hears of it, with no event to deliver", async () => {
    const user = await a.signUp("quiet");
    await a.grant(user.id, ["audit.read"]);
    const signedIn = await a.login(user.email, PASSWORD); // a token that carries the new grant's session
    const connection = connect(b, bearer(signedIn));
    const quiet = listen(connection, `subscription($t: UUID!) { auditEvents(filter: { targetId: $t }) { id } }`, {
      t: crypto.randomUUID(),
    });
    await new Promise((resolve) => setTimeout(resolve, 300)); // subscribed, nothing to receive
    expect(quiet.state.errors).toBeUndefined();
    expect((await a.gql(`mutation { logout }`, {}, signedIn.accessToken)).errors).toBeUndefined();
    expect(await connection.closed).toBe(4403);
  });

  // Regression: deleting a user took their sessions by cascade, announcing nothing: their sockets stayed open.
  it("closes with 4403 when its user is deleted", async () => {
    const user = await a.signUp("deleted");
    const connection = connect(b, bearer(user));
    const quiet = listen(connection, SECURITY_EVENTS);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(quiet.state.errors).toBeUndefined();
    const admin = await a.loginAdmin();
    const deleted = await a.gql(`mutation($id: UUID!) { deleteUser(id: $id) }`, { id: user.id }, admin.accessToken);
    expect(deleted.errors).toBeUndefined();
    expect(await connection.closed).toBe(4403);
  });
});

describe("who may subscribe", () => {
  it("a missing or bad token closes the connection with 4401", async () => {
    const anonymous = connect(b, {});
    listen(anonymous, SECURITY_EVENTS);
    expect(await anonymous.closed).toBe(4401);
    const forged = connect(b, { authorization: "Bearer not.a.token" });
    listen(forged, SECURITY_EVENTS);
    expect(await forged.closed).toBe(4401);
  });

  it("the live audit trail needs audit.read: FORBIDDEN without it, every event with it", async () => {
    const user = await a.signUp("curious");
    const connection = connect(a, bearer(user));
    const refused = listen(connection, `subscription { auditEvents { action } }`);
    await until(() => refused.state.done);
    expect(refused.state.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");

    const admin = await a.loginAdmin();
    const adminConnection = connect(b, bearer(admin));
    const trail = listen(
      adminConnection,
      `subscription { auditEvents(filter: { action: "auth.login" }) { action actor { email } } }`,
    );
    await until(
      () => trail.received.some((e) => e.auditEvents.actor.email === user.email),
      () => loginAs(a, user, "Audited/1.0"),
    );
    expect(trail.received.every((e) => e.auditEvents.action === "auth.login")).toBe(true);
    await connection.client.dispose();
    await adminConnection.client.dispose();
  });

  it("limits subscriptions per connection", async () => {
    const user = await a.signUp("greedy");
    const connection = connect(a, bearer(user));
    const open = [1, 2, 3].map(() => listen(connection, SECURITY_EVENTS));
    const fourth = listen(connection, SECURITY_EVENTS);
    await until(() => fourth.state.done);
    expect(fourth.state.errors?.[0]?.extensions?.code).toBe("RATE_LIMITED");
    expect(open.every((s) => !s.state.done)).toBe(true);
    await connection.client.dispose();
  });
});

describe("limits", () => {
  it("count only running subscriptions: completed, refused and invalid ones free their place", async () => {
    const user = await a.signUp("churn");
    const connection = connect(a, bearer(user));
    for (let i = 0; i < 5; i++) listen(connection, SECURITY_EVENTS).stop();
    const invalid = [1, 2, 3, 4].map(() => listen(connection, `subscription { securityEvents { noSuchField } }`));
    await until(() => invalid.every((s) => s.state.done));
    const query = listen(connection, `query { me { id } }`);
    await until(() => query.state.done);
    expect(query.state.errors?.[0]?.extensions?.code).toBe("BAD_REQUEST");
    const still = [1, 2, 3].map(() => listen(connection, SECURITY_EVENTS));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(still.every((s) => !s.state.done && !s.state.errors)).toBe(true);
    await connection.client.dispose();
  });

  it("count a user's connections while they are open, and free them when they close", async () => {
    const user = await a.signUp("reloads");
    for (let i = 0; i < 4; i++) {
      const connection = connect(b, bearer(user));
      const events = listen(connection, SECURITY_EVENTS);
      await until(
        () => events.received.length > 0,
        () => loginAs(a, user, `Reload/${i}`),
      );
      await connection.client.dispose();
    }
    const open = [connect(b, bearer(user)), connect(b, bearer(user))];
    open.forEach((connection) => listen(connection, SECURITY_EVENTS));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const third = connect(b, bearer(user));
    listen(third, SECURITY_EVENTS);
    expect(await third.closed).toBe(4429);
    await Promise.all(open.map((connection) => connection.client.dispose()));
  });
});

describe("the live audit trail", () => {
  it("ends with 4403 when its reader loses audit.read", async () => {
    const auditor = await a.signUp("auditor");
    const roleId = await a.grant(auditor.id, ["audit.read"]);
    const connection = connect(b, bearer(auditor));
    const trail = listen(connection, `subscription { auditEvents { action } }`);
    const someone = await a.signUp("someone");
    await until(
      () => trail.received.length > 0,
      () => loginAs(a, someone, "Any/1.0"),
    );
    const admin = await a.loginAdmin();
    const removed = await a.gql(
      `mutation($u: UUID!, $r: UUID!) { removeRole(userId: $u, roleId: $r) { id } }`,
      { u: auditor.id, r: roleId },
      admin.accessToken,
    );
    expect(removed.errors).toBeUndefined();
    await loginAs(a, someone, "Any/1.0");
    expect(await connection.closed).toBe(4403);
  });

  it("shows an organization's admin that organization's events only", async () => {
    const owner = await a.signUp("org-owner");
    const created = await a.gql(
      `mutation { createOrganization(input: { name: "Live Co" }) { id } }`,
      {},
      owner.accessToken,
    );
    const organizationId = created.data!.createOrganization.id as string;
    const connection = connect(b, { ...bearer(owner), "x-organization-id": organizationId });
    const trail = listen(connection, `subscription { auditEvents { action organizationId } }`);
    const inOrganization = () =>
      a.gql(
        `mutation($n: String!) { createOrganizationRole(input: { name: $n }) { id } }`,
        { n: `r${Date.now()}` },
        owner.accessToken,
        { "x-organization-id": organizationId },
      );
    const someone = await a.signUp("outside");
    await until(
      () => trail.received.length > 0,
      async () => {
        await loginAs(a, someone, "Outside/1.0");
        await inOrganization();
      },
    );
    expect(trail.received.every((e) => e.auditEvents.organizationId === organizationId)).toBe(true);
    await connection.client.dispose();
  });
});

describe("notifications", () => {
  it("are kept for a user who was offline, arrive live for one who listens, and can be marked read", async () => {
    const user = await a.signUp("inbox");
    await loginAs(a, user, "Laptop/2.0");
    await a.app.auditDispatcher.drain();
    const inbox = await a.gql(
      `{ notifications(first: 10) { unreadCount edges { node { id kind title body readAt } } } }`,
      {},
      user.accessToken,
    );
    const signIn = inbox.data!.notifications.edges.find(
      (e: { node: { kind: string } }) => e.node.kind === "auth.login",
    );
    expect(signIn.node.title).toBe("New sign-in");
    expect(signIn.node.body).toContain("Laptop/2.0");
    expect(inbox.data!.notifications.unreadCount).toBeGreaterThan(0);

    const connection = connect(b, bearer(user));
    const added = listen(connection, `subscription { notificationAdded { kind title } }`);
    await until(
      () => added.received.length > 0,
      () =>
        a.gql(
          `mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) }`,
          { c: PASSWORD, n: PASSWORD },
          user.accessToken,
        ),
    );
    expect(added.received[0]!.notificationAdded).toEqual({ kind: "auth.password_changed", title: "Password changed" });
    await connection.client.dispose();

    const ids = inbox.data!.notifications.edges.map((e: { node: { id: string } }) => e.node.id);
    const marked = await a.gql(
      `mutation($ids: [UUID!]!) { markNotificationsRead(ids: $ids) }`,
      { ids },
      user.accessToken,
    );
    expect(marked.data!.markNotificationsRead).toBe(ids.length);
    const other = await a.signUp("nosy");
    const theirs = await a.gql(
      `mutation($ids: [UUID!]!) { markNotificationsRead(ids: $ids) }`,
      { ids },
      other.accessToken,
    );
    expect(theirs.data!.markNotificationsRead).toBe(0);
    const unreadOnly = await a.gql(
      `{ notifications(unreadOnly: true) { edges { node { id } } } }`,
      {},
      user.accessToken,
    );
    expect(unreadOnly.data!.notifications.edges.map((e: { node: { id: string } }) => e.node.id)).not.toContain(ids[0]);
    expect(codeOf(await a.gql(`{ notifications { unreadCount } }`))).toBe("UNAUTHENTICATED");
  });
});
