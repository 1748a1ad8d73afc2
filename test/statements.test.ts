import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { startServer, type SignedIn, type TestServer } from "./support/server.js";

let server: TestServer;
let admin: SignedIn;

beforeAll(async () => {
  server = await startServer();
  admin = await server.loginAdmin();
  const roleId = await server.grant(admin.id, ["users.read", "roles.read"]);
  // 120 users, each with the user role and a second role carrying permissions.
  const userRole = await server.roleId("user");
  const users = await server.app.db.prisma.user.createManyAndReturn({
    data: Array.from({ length: 120 }, (_, i) => ({ email: `bulk-${i}@example.com`, displayName: `Bulk ${i}` })),
    select: { id: true },
  });
  await server.app.db.prisma.userRole.createMany({
    data: users.flatMap(({ id }) => [
      { userId: id, roleId: userRole },
      { userId: id, roleId },
    ]),
  });
});
afterAll(() => server.close());

const USERS_WITH_ROLES = `query($size: Int!) {
  users(pageSize: $size) { items { id email roles { name permissions { key } } } }
}`;

async function statementsFor(size: number): Promise<number> {
  await server.gql(USERS_WITH_ROLES, { size }, admin.accessToken); // warm the permission cache
  const before = server.statements.length;
  const result = await server.gql(USERS_WITH_ROLES, { size }, admin.accessToken);
  expect(result.errors).toBeUndefined();
  expect(result.data!.users.items).toHaveLength(size);
  expect(result.data!.users.items.every((u: { roles: unknown[] }) => u.roles.length >= 1)).toBe(true);
  return server.statements.length - before;
}

describe("the users list", () => {
  it("reads a page in the order of an index, without sorting every user", async () => {
    const plan = await server.app.db.withSession(async (session) => {
      // Forbids sorting wherever another plan exists: only an index in (created_at, id) order avoids it.
      await session.exec("SET enable_sort = off");
      try {
        const rows = await session.query<{ "QUERY PLAN": string }>(
          `EXPLAIN SELECT * FROM "users" u ORDER BY u."created_at", u."id" LIMIT 100`,
        );
        return rows.map((row) => row["QUERY PLAN"]).join("\n");
      } finally {
        await session.exec("RESET enable_sort");
      }
    });
    expect(plan).toContain("users_created_at_id_idx");
    expect(plan).not.toMatch(/Sort/);
  });
});

describe("users with roles and permissions", () => {
  it("costs the same number of SQL statements for 100 users as for 5", async () => {
    const few = await statementsFor(5);
    const many = await statementsFor(100);
    expect(many).toBe(few);
    // The page with its total, the roles of all its users, the permissions of all those roles.
    expect(many).toBeLessThanOrEqual(3);
  });
});

describe("the caller's own record", () => {
  it("costs no statement for `me` once the caller's grants are cached, and one after a change", async () => {
    const ME = `{ me { id displayName } }`;
    await server.gql(ME, {}, admin.accessToken);
    let before = server.statements.length;
    expect((await server.gql(ME, {}, admin.accessToken)).data!.me.id).toBe(admin.id);
    expect(server.statements.length - before).toBe(0);

    await server.gql(`mutation { updateMe(input: { displayName: "Counted" }) { id } }`, {}, admin.accessToken);
    before = server.statements.length;
    expect((await server.gql(ME, {}, admin.accessToken)).data!.me.displayName).toBe("Counted");
    expect(server.statements.length - before).toBe(1);
  });
});

describe("a token refresh", () => {
  it("costs one statement: the exchange reads the user too", async () => {
    const user = await server.signUp("refreshing");
    const before = server.statements.length;
    const result = await server.gql(
      `mutation($t: String!) { refreshToken(token: $t) { accessToken user { id email emailVerifiedAt } } }`,
      { t: user.refreshToken },
    );
    expect(result.data!.refreshToken.user).toMatchObject({ id: user.id, email: user.email });
    expect(server.statements.length - before).toBe(1);
  });
});

describe("a password login", () => {
  it("reads the account's lock and the user, then writes the session, its refresh token and the audit event in one statement", async () => {
    const own = await startServer();
    try {
      // The dispatcher's own statements (delivering the event) would mix in: it waits here.
      await own.app.auditDispatcher.stop();
      const waiting = (await own.app.auditDispatcher.backlog()).count;
      const before = own.statements.length;
      await own.loginAdmin();
      const sent = own.statements.slice(before);
      expect(sent).toHaveLength(3);
      expect(sent[0]).toMatch(/FROM "public"\."account_locks"/);
      expect(sent[2]).toMatch(
        /INSERT INTO "sessions"[\s\S]*INSERT INTO "refresh_tokens"[\s\S]*INSERT INTO "audit_outbox"/,
      );
      expect((await own.app.auditDispatcher.backlog()).count).toBe(waiting + 1);
    } finally {
      await own.close();
    }
  });
});

describe("a change of a user's roles", () => {
  let own: TestServer;
  let ownAdmin: SignedIn;
  beforeAll(async () => {
    own = await startServer();
    ownAdmin = await own.loginAdmin();
    // The dispatcher's own statements (delivering the events) would mix in: it waits here.
    await own.app.auditDispatcher.stop();
  });
  afterAll(() => own.close());

  const ASSIGN = `mutation($u: UUID!, $r: UUID!) { assignRole(userId: $u, roleId: $r) { id } }`;
  const REMOVE = `mutation($u: UUID!, $r: UUID!) { removeRole(userId: $u, roleId: $r) { id } }`;

  /** The statements `query` sends, the caller's grants cached. */
  async function sentBy(query: string, variables: Record<string, unknown>): Promise<string[]> {
    await own.gql(`{ me { id } }`, {}, ownAdmin.accessToken);
    const before = own.statements.length;
    const result = await own.gql(query, variables, ownAdmin.accessToken);
    expect(result.errors).toBeUndefined();
    return own.statements.slice(before);
  }

  /** A role carrying two permissions, held by nobody. */
  async function newRole(): Promise<string> {
    const created = await own.gql(
      `mutation($input: CreateRoleInput!) { createRole(input: $input) { id } }`,
      {
        input: {
          name: `counted-${randomBytes(4).toString("hex")}`,
          permissionIds: await own.permissionIds(["users.read", "roles.read"]),
        },
      },
      ownAdmin.accessToken,
    );
    return created.data!.createRole.id;
  }

  // Prisma reports no BEGIN; every other statement of the transaction is here, COMMIT included.
  const statementsOf = (write: RegExp) => [
    expect.stringMatching(/FROM "users" u WHERE u\."id" = \$1::uuid AND u\."kind" = 'human' FOR UPDATE/), // the user (a person), read and locked
    expect.stringMatching(/^SELECT 1 FROM "roles" WHERE "id" = \$1::uuid FOR UPDATE/), // the role, locked
    expect.stringMatching(/FROM "public"\."roles" WHERE/), // the role and the user's other roles
    expect.stringMatching(/FROM "role_permissions" rp JOIN "permissions" p/), // what those roles carry
    expect.stringMatching(write), // the change itself
    expect.stringMatching(/^INSERT INTO "public"\."audit_outbox"/), // its audit event
    expect.stringMatching(/^COMMIT/),
  ];

  it("assignRole sends 7 statements (there were 14), granted or held already", async () => {
    const user = await own.signUp("assigned");
    const roleId = await newRole();
    const grant = statementsOf(/^INSERT INTO "public"\."user_roles" .* ON CONFLICT DO NOTHING$/);
    expect(await sentBy(ASSIGN, { u: user.id, r: roleId })).toEqual(grant);
    expect(await sentBy(ASSIGN, { u: user.id, r: roleId })).toEqual(grant);
  });

  it("removeRole sends 7 statements (there were 13), and one more to keep an admin when it is the admin role", async () => {
    const user = await own.signUp("removed");
    const roleId = await newRole();
    await sentBy(ASSIGN, { u: user.id, r: roleId });
    const removal = statementsOf(/^DELETE FROM "public"\."user_roles"/);
    expect(await sentBy(REMOVE, { u: user.id, r: roleId })).toEqual(removal);

    const adminRoleId = await own.roleId("admin");
    await sentBy(ASSIGN, { u: user.id, r: adminRoleId });
    const sent = await sentBy(REMOVE, { u: user.id, r: adminRoleId });
    // The admin role's holders, read after its row was locked: is this the last active admin?
    expect(sent).toEqual([
      ...removal.slice(0, 4),
      expect.stringMatching(/FROM "public"\."user_roles" LEFT JOIN "public"\."users"/),
      ...removal.slice(4),
    ]);
  });
});
