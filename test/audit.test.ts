import { randomUUID } from "node:crypto";
import net from "node:net";
import pg from "pg";
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuditEvent } from "../src/platform/audit/audit-event.js";
import { PostgresAuditSink } from "../src/platform/audit/postgres.js";
import { codeOf, PASSWORD, readJson, startServer, type SignedIn, type TestServer } from "./support/server.js";

const AUDIT_EVENTS = `query($filter: AuditEventFilter, $first: Int, $after: String) {
  auditEvents(filter: $filter, first: $first, after: $after) {
    edges { cursor node { id at action outcome requestId organizationId
      actor { userId email ip userAgent } target { type id } changes { field before after } } }
    pageInfo { endCursor hasNextPage }
  }
}`;

type Node = Omit<AuditEvent, "at"> & { at: string };

let server: TestServer;
let admin: SignedIn;
beforeAll(async () => {
  server = await startServer();
  admin = await server.loginAdmin();
});
afterAll(() => server.close());

async function auditPage(target: TestServer, variables: Record<string, unknown>, token = admin.accessToken) {
  const result = await target.gql(AUDIT_EVENTS, variables, token);
  expect(result.errors).toBeUndefined();
  return result.data!.auditEvents as { edges: { cursor: string; node: Node }[]; pageInfo: Record<string, any> };
}

/** The events matching `filter`, waiting (as a client would poll) until `count` have been delivered. */
async function eventsOf(
  filter: Record<string, unknown>,
  count = 1,
  target = server,
  token = admin.accessToken,
): Promise<Node[]> {
  for (let attempt = 0; ; attempt++) {
    const page = await auditPage(target, { filter, first: 100 }, token);
    if (page.edges.length >= count || attempt > 100) return page.edges.map((e) => e.node);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe("the audit trail", () => {
  it("records a role assignment with before/after and the request id the response carried", async () => {
    const user = await server.signUp("assignee");
    const editor = await server.gql(
      `mutation($input: CreateRoleInput!) { createRole(input: $input) { id } }`,
      { input: { name: "editor", permissionIds: await server.permissionIds(["users.read"]) } },
      admin.accessToken,
    );
    const response = await server.gql(
      `mutation($u: UUID!, $r: UUID!) { assignRole(userId: $u, roleId: $r) { id } }`,
      { u: user.id, r: editor.data!.createRole.id },
      admin.accessToken,
      { "user-agent": "audit-test/1.0" },
    );
    expect(response.errors).toBeUndefined();
    const requestId = response.headers.get("x-request-id");
    expect(requestId).toBeTruthy();

    const [event] = await eventsOf({ targetId: user.id, action: "user.role_assigned" });
    expect(event).toMatchObject({
      action: "user.role_assigned",
      outcome: "SUCCESS",
      requestId,
      organizationId: null,
      actor: { userId: admin.id, email: admin.email, ip: "127.0.0.1", userAgent: "audit-test/1.0" },
      target: { type: "user", id: user.id },
      changes: [{ field: "roles", before: ["user"], after: ["editor", "user"] }],
    });
    expect(Date.now() - new Date(event!.at).getTime()).toBeLessThan(60_000);
  });

  it("records admin changes of users, roles and permissions, field by field", async () => {
    const user = await server.signUp("changed");
    await server.gql(
      `mutation($id: UUID!) { updateUser(id: $id, input: { displayName: "Renamed", status: DISABLED }) { id } }`,
      { id: user.id },
      admin.accessToken,
    );
    const [updated] = await eventsOf({ targetId: user.id, action: "user.updated" });
    expect(updated!.changes).toEqual([
      { field: "displayName", before: "changed", after: "Renamed" },
      { field: "status", before: "active", after: "disabled" },
    ]);

    const created = await server.gql(
      `mutation { createPermission(input: { key: "reports.export", description: "Export" }) { id } }`,
      {},
      admin.accessToken,
    );
    const permissionId = created.data!.createPermission.id;
    await server.gql(`mutation($id: UUID!) { deletePermission(id: $id) }`, { id: permissionId }, admin.accessToken);
    const permissionEvents = await eventsOf({ targetId: permissionId }, 2);
    expect(permissionEvents.map((e) => e.action)).toEqual(["permission.deleted", "permission.created"]);
    expect(permissionEvents[1]!.changes).toContainEqual({ field: "key", before: null, after: "reports.export" });

    await server.gql(`mutation($id: UUID!) { deleteUser(id: $id) }`, { id: user.id }, admin.accessToken);
    const [deleted] = await eventsOf({ targetId: user.id, action: "user.deleted" });
    expect(deleted!.changes).toContainEqual({ field: "email", before: user.email, after: null });
  });

  it("records nothing for a change that was refused and rolled back", async () => {
    const adminRole = await server.roleId("admin");
    const refused = await server.gql(
      `mutation($u: UUID!, $r: UUID!) { removeRole(userId: $u, roleId: $r) { id } }`,
      { u: admin.id, r: adminRole },
      admin.accessToken,
    );
    expect(codeOf(refused)).toBe("CONFLICT");
    await server.app.auditDispatcher.drain();
    expect(await eventsOf({ targetId: admin.id, action: "user.role_removed" }, 0)).toEqual([]);
  });

  it("records sign-in failures, lockouts, sign-ins and sign-outs", async () => {
    const locking = await startServer({ env: { KAFKEY_LOCKOUT_THRESHOLD: "2" } });
    try {
      const { accessToken } = await locking.loginAdmin();
      const user = await locking.signUp("security");
      const wrong = `mutation($e: String!) { login(email: $e, password: "wrong password!") { accessToken } }`;
      await locking.gql(wrong, { e: "nobody@example.com" });
      const [unknown] = await eventsOf({ action: "auth.login_failed" }, 1, locking, accessToken);
      expect(unknown).toMatchObject({ outcome: "FAILURE", actor: { userId: null, email: "nobody@example.com" } });
      // A password typed into the email field is not an address: it is not recorded.
      await locking.gql(wrong, { e: "my secret passphrase" });
      const [typo] = await eventsOf({ action: "auth.login_failed" }, 2, locking, accessToken);
      expect(typo!.actor.email).toBeNull();

      await locking.gql(wrong, { e: user.email });
      await locking.gql(wrong, { e: user.email });
      const [locked] = await eventsOf(
        { action: "security.account_locked", targetId: user.id },
        1,
        locking,
        accessToken,
      );
      expect(locked).toMatchObject({ outcome: "FAILURE", actor: { email: user.email } });

      const other = await locking.signUp("signs-in");
      const session = await locking.login(other.email, PASSWORD);
      await locking.gql(`mutation { logout }`, {}, session.accessToken);
      const trail = await eventsOf({ actorId: other.id }, 3, locking, accessToken);
      expect(trail.map((e) => e.action)).toEqual(["auth.logout", "auth.login", "user.created"]);
    } finally {
      await locking.close();
    }
  });
});

describe("auditEvents", () => {
  it("pages newest first with cursors, without gaps or repeats", async () => {
    const user = await server.signUp("paged");
    for (let i = 0; i < 7; i++) {
      await server.gql(
        `mutation($id: UUID!, $n: String!) { updateUser(id: $id, input: { displayName: $n }) { id } }`,
        { id: user.id, n: `name ${i}` },
        admin.accessToken,
      );
    }
    await eventsOf({ targetId: user.id, action: "user.updated" }, 7);
    const seen: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await auditPage(server, { filter: { targetId: user.id, action: "user.updated" }, first: 3, after });
      seen.push(...page.edges.map((e) => e.node.changes[0]!.after as string));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(seen).toEqual(["name 6", "name 5", "name 4", "name 3", "name 2", "name 1", "name 0"]);
  });

  it("filters by time", async () => {
    const start = new Date().toISOString();
    const user = await server.signUp("timed");
    const [created] = await eventsOf({ targetId: user.id, from: start });
    expect(created!.action).toBe("user.created");
    expect(await eventsOf({ targetId: user.id, to: start }, 0)).toEqual([]);
  });

  it("refuses a cursor it did not make", async () => {
    const result = await server.gql(AUDIT_EVENTS, { after: "bm90IGEgY3Vyc29y" }, admin.accessToken);
    expect(codeOf(result)).toBe("BAD_USER_INPUT");
  });

  it("needs audit.read", async () => {
    const user = await server.signUp("curious");
    expect(codeOf(await server.gql(AUDIT_EVENTS, {}, user.accessToken))).toBe("FORBIDDEN");
    expect(codeOf(await server.gql(AUDIT_EVENTS, {}))).toBe("UNAUTHENTICATED");
    await server.grant(user.id, ["audit.read"]);
    expect((await server.gql(AUDIT_EVENTS, {}, user.accessToken)).errors).toBeUndefined();
  });
});

describe("delivery through the outbox", () => {
  it("keeps 100 admin changes while the sink is down and delivers each exactly once when it is back", async () => {
    const fast = { KAFKEY_AUDIT_DISPATCH_INTERVAL_MS: "50", KAFKEY_AUDIT_RETRY_MAX_MS: "200" };
    const first = await startServer({ database: "postgres", env: fast });
    // A second instance of the same deployment: two dispatchers compete for the same outbox.
    const second = await startServer({ sharing: first, env: fast });
    const sql = new pg.Client({ connectionString: first.databaseUrl });
    await sql.connect();
    try {
      const firstAdmin = await first.loginAdmin();
      const user = await first.signUp("busy");
      // Either instance's dispatcher may hold the last events: wait until the outbox is empty, not only
      // until this one finds nothing left to take (a bug of this test: the rename below then failed the
      // other's delivery and left its events in the backlog).
      for (let i = 0; i < 200 && (await first.app.auditDispatcher.backlog()).count > 0; i++) {
        await first.app.auditDispatcher.drain();
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect((await first.app.auditDispatcher.backlog()).count).toBe(0);

      // The sink's table is gone: every delivery fails, as with a sink that is down.
      await sql.query(`ALTER TABLE "audit_events" RENAME TO "audit_events_away"`);
      for (let i = 0; i < 100; i++) {
        const instance = i % 2 === 0 ? first : second;
        const result = await instance.gql(
          `mutation($id: UUID!, $n: String!) { updateUser(id: $id, input: { displayName: $n }) { id } }`,
          { id: user.id, n: `busy ${i}` },
          firstAdmin.accessToken,
        );
        expect(result.errors).toBeUndefined();
      }
      const ready = await fetch(`${first.url}/health/ready`);
      expect(ready.status).toBe(200);
      const health = await readJson(ready);
      expect(health.status).toBe("degraded");
      expect(health.checks.audit).toMatchObject({ status: "down", sink: "postgres", backlog: 100 });
      const metrics = parsePrometheusTextFormat(await (await fetch(`${first.url}/metrics`)).text());
      expect(Number(metrics.find((m) => m.name === "kafkey_audit_outbox_backlog")!.metrics[0]!.value)).toBe(100);

      await sql.query(`ALTER TABLE "audit_events_away" RENAME TO "audit_events"`);
      for (let attempt = 0; attempt < 200; attempt++) {
        const { rows } = await sql.query(`SELECT count(*)::int AS n FROM "audit_outbox"`);
        if (rows[0].n === 0) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const { rows } = await sql.query(
        `SELECT count(*)::int AS events, count(DISTINCT "id")::int AS ids,
                count(DISTINCT "changes"->0->>'after')::int AS names
         FROM "audit_events" WHERE "target_id" = $1 AND "action" = 'user.updated'`,
        [user.id],
      );
      expect(rows[0]).toEqual({ events: 100, ids: 100, names: 100 });
      expect((await readJson(await fetch(`${first.url}/health/ready`))).checks.audit).toMatchObject({
        status: "ok",
        backlog: 0,
      });
    } finally {
      await sql.end();
      await second.close();
      await first.close();
    }
  });

  it("with MongoDB configured but down, serves requests and keeps the events in the outbox", async () => {
    const closed = await new Promise<number>((resolve) => {
      const probe = net.createServer().listen(0, "127.0.0.1", () => {
        const { port } = probe.address() as net.AddressInfo;
        probe.close(() => resolve(port));
      });
    });
    const orphaned = await startServer({
      env: {
        MONGODB_URL: `mongodb://127.0.0.1:${closed}/kafkey`,
        MONGODB_SERVER_SELECTION_TIMEOUT_MS: "200",
        KAFKEY_AUDIT_DISPATCH_INTERVAL_MS: "50",
      },
    });
    try {
      const user = await orphaned.signUp("mongo-less");
      expect(user.accessToken).toBeTruthy();
      await orphaned.app.auditDispatcher.drain();
      const health = await readJson(await fetch(`${orphaned.url}/health/ready`));
      expect(health.status).toBe("degraded");
      expect(health.checks.audit).toMatchObject({ status: "down", sink: "mongodb" });
      expect(health.checks.audit.backlog).toBeGreaterThanOrEqual(2); // the first admin's creation, and this sign-up
      // A pass already under way (taken before drain() looked) records its failure when its own
      // server selection times out: wait for it.
      let waiting: { attempts: number; lastError: string | null }[] = [];
      for (let i = 0; i < 50; i++) {
        waiting = await orphaned.app.db.prisma.auditOutbox.findMany({ select: { attempts: true, lastError: true } });
        if (waiting.every((row) => row.attempts >= 1 && row.lastError)) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(waiting.length).toBeGreaterThanOrEqual(2);
      expect(waiting.every((row) => row.attempts >= 1 && row.lastError)).toBe(true);
    } finally {
      await orphaned.close();
    }
  });

  it("stores an event delivered twice once (a dispatcher that died before deleting it)", async () => {
    const sink = new PostgresAuditSink(server.app.db);
    const event: AuditEvent = {
      id: randomUUID(),
      at: new Date(),
      action: "test.redelivered",
      outcome: "success",
      actor: { id: null, email: null, ip: null, userAgent: null },
      target: null,
      changes: [],
      requestId: null,
      organizationId: null,
    };
    await sink.write([event]);
    await server.app.db.prisma.auditOutbox.create({
      data: { id: event.id, event: JSON.parse(JSON.stringify(event)) },
    });
    await server.app.auditDispatcher.drain();
    const found = await sink.find({ action: "test.redelivered" }, 10);
    expect(found.events.map((e) => e.id)).toEqual([event.id]);
    expect(await server.app.db.prisma.auditOutbox.count({ where: { id: event.id } })).toBe(0);
  });
});
