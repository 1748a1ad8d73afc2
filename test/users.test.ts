import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { USER_CONFLICTS } from "../src/modules/users/user.errors.js";
import { codeOf, startServer, type SignedIn, type TestServer } from "./support/server.js";

let server: TestServer;
let admin: SignedIn;
let adminRoleId: string;

beforeAll(async () => {
  server = await startServer();
  admin = await server.loginAdmin();
  adminRoleId = await server.roleId("admin");
});
afterAll(() => server.close());

const USERS = `query($page: Int, $pageSize: Int, $filter: UserFilter) {
  users(page: $page, pageSize: $pageSize, filter: $filter) {
    items { id email displayName status }
    pageInfo { page pageSize totalItems totalPages hasNext hasPrev }
  }
}`;

describe("me and updateMe", () => {
  it("updateMe changes the caller's display name", async () => {
    const user = await server.signUp("before");
    const result = await server.gql(
      `mutation { updateMe(input: { displayName: "  After  " }) { displayName } }`,
      {},
      user.accessToken,
    );
    expect(result.data!.updateMe.displayName).toBe("After");
    expect((await server.gql(`{ me { displayName } }`, {}, user.accessToken)).data!.me.displayName).toBe("After");
  });

  it("updateMe cannot touch status or roles: the input has no such fields", async () => {
    const user = await server.signUp("escalate");
    for (const input of [`{ status: DISABLED }`, `{ roles: ["admin"] }`, `{ roleIds: ["${adminRoleId}"] }`]) {
      const result = await server.gql(`mutation { updateMe(input: ${input}) { id } }`, {}, user.accessToken, {
        accept: "application/graphql-response+json",
      });
      expect(result.status).toBe(400);
      expect(codeOf(result)).toBe("GRAPHQL_VALIDATION_FAILED");
    }
    const me = await server.gql(`{ me { status roles { name } } }`, {}, user.accessToken);
    expect(me.data!.me).toEqual({ status: "ACTIVE", roles: [{ name: "user" }] });
  });
});

describe("users", () => {
  it("pages through users with page info, 20 by default", async () => {
    for (let i = 0; i < 22; i++) await server.signUp("paged");
    const first = await server.gql(USERS, {}, admin.accessToken);
    const info = first.data!.users.pageInfo;
    expect(first.data!.users.items).toHaveLength(20);
    expect(info).toMatchObject({ page: 1, pageSize: 20, hasNext: true, hasPrev: false });
    expect(info.totalPages).toBe(Math.ceil(info.totalItems / 20));
    const last = await server.gql(USERS, { page: info.totalPages }, admin.accessToken);
    expect(last.data!.users.pageInfo).toMatchObject({ hasNext: false, hasPrev: true });
    expect(last.data!.users.items).toHaveLength(info.totalItems - 20 * (info.totalPages - 1));
    const ids = new Set([...first.data!.users.items, ...last.data!.users.items].map((u: { id: string }) => u.id));
    expect(ids.size).toBe(first.data!.users.items.length + last.data!.users.items.length);
  });

  it.each([
    ["pageSize over 100", { pageSize: 101 }, "pageSize"],
    ["pageSize 0", { pageSize: 0 }, "pageSize"],
    ["page 0", { page: 0 }, "page"],
  ])("rejects %s with BAD_USER_INPUT", async (_label, variables, field) => {
    const result = await server.gql(USERS, variables, admin.accessToken);
    expect(codeOf(result)).toBe("BAD_USER_INPUT");
    expect(result.errors![0]!.extensions!.fields).toEqual([expect.objectContaining({ path: field })]);
  });

  it("filters by search (email or name, any case), role and status", async () => {
    const needle = await server.signUp("Needle");
    const result = await server.gql(USERS, { filter: { search: "NEEDLE" } }, admin.accessToken);
    expect(result.data!.users.items.map((u: { id: string }) => u.id)).toEqual([needle.id]);

    const byEmail = await server.gql(
      USERS,
      { filter: { search: needle.email.slice(0, 12).toUpperCase() } },
      admin.accessToken,
    );
    expect(byEmail.data!.users.items.map((u: { id: string }) => u.id)).toContain(needle.id);

    const admins = await server.gql(USERS, { filter: { roleId: adminRoleId } }, admin.accessToken);
    expect(admins.data!.users.items.map((u: { email: string }) => u.email)).toEqual([admin.email]);

    await server.gql(
      `mutation($id: UUID!) { updateUser(id: $id, input: { status: DISABLED }) { id } }`,
      { id: needle.id },
      admin.accessToken,
    );
    const disabled = await server.gql(USERS, { filter: { status: "DISABLED" } }, admin.accessToken);
    expect(disabled.data!.users.items.map((u: { id: string }) => u.id)).toEqual([needle.id]);
  });

  it("treats a search with LIKE wildcards literally", async () => {
    const result = await server.gql(USERS, { filter: { search: "%" } }, admin.accessToken);
    expect(result.data!.users.items).toEqual([]);
    const snake = await server.signUp("snake_case");
    const literal = await server.gql(USERS, { filter: { search: "e_c" } }, admin.accessToken);
    expect(literal.data!.users.items.map((u: { id: string }) => u.id)).toEqual([snake.id]);
    const wildcard = await server.gql(USERS, { filter: { search: "ak_" } }, admin.accessToken);
    expect(wildcard.data!.users.items).toEqual([]);
  });
});

describe("user, updateUser and deleteUser", () => {
  it("reads another user with email and roles given users.read", async () => {
    const target = await server.signUp("target");
    const result = await server.gql(
      `query($id: UUID!) { user(id: $id) { email roles { name } } }`,
      { id: target.id },
      admin.accessToken,
    );
    expect(result.data!.user).toEqual({ email: target.email, roles: [{ name: "user" }] });
  });

  it("answers NOT_FOUND for an unknown id and BAD_USER_INPUT (400) for a malformed one", async () => {
    const missing = await server.gql(
      `query($id: UUID!) { user(id: $id) { id } }`,
      { id: crypto.randomUUID() },
      admin.accessToken,
    );
    expect(codeOf(missing)).toBe("NOT_FOUND");
    const malformed = await server.gql(
      `query($id: UUID!) { user(id: $id) { id } }`,
      { id: "1 OR 1=1" },
      admin.accessToken,
      { accept: "application/graphql-response+json" },
    );
    expect(malformed.status).toBe(400);
    expect(codeOf(malformed)).toBe("BAD_USER_INPUT");
  });

  it("updates a user's name and email, lower-casing it; a taken email is a CONFLICT", async () => {
    const target = await server.signUp("rename");
    const other = await server.signUp("taken");
    const update = `mutation($id: UUID!, $input: UpdateUserInput!) { updateUser(id: $id, input: $input) { displayName email } }`;
    const result = await server.gql(
      update,
      { id: target.id, input: { displayName: "Renamed", email: "New.Address@Example.com" } },
      admin.accessToken,
    );
    expect(result.data!.updateUser).toEqual({ displayName: "Renamed", email: "new.address@example.com" });
    const clash = await server.gql(update, { id: target.id, input: { email: other.email } }, admin.accessToken);
    expect(codeOf(clash)).toBe("CONFLICT");
    const missing = await server.gql(
      update,
      { id: crypto.randomUUID(), input: { displayName: "X" } },
      admin.accessToken,
    );
    expect(codeOf(missing)).toBe("NOT_FOUND");
  });

  it("deletes a user: their token stops working and they are gone from the list", async () => {
    const target = await server.signUp("doomed");
    const result = await server.gql(
      `mutation($id: UUID!) { deleteUser(id: $id) }`,
      { id: target.id },
      admin.accessToken,
    );
    expect(result.data!.deleteUser).toBe(true);
    expect(codeOf(await server.gql(`{ me { id } }`, {}, target.accessToken))).toBe("UNAUTHENTICATED");
    const again = await server.gql(
      `mutation($id: UUID!) { deleteUser(id: $id) }`,
      { id: target.id },
      admin.accessToken,
    );
    expect(codeOf(again)).toBe("NOT_FOUND");
  });
});

describe("assignRole and removeRole", () => {
  it("grant and take away a role's permissions, effective on the next request", async () => {
    const user = await server.signUp("promoted");
    const roleId = await server.grant(user.id, ["roles.read"]);
    expect((await server.gql(`{ roles { id } }`, {}, user.accessToken)).errors).toBeUndefined();
    await server.gql(
      `mutation($u: UUID!, $r: UUID!) { removeRole(userId: $u, roleId: $r) { id } }`,
      { u: user.id, r: roleId },
      admin.accessToken,
    );
    expect(codeOf(await server.gql(`{ roles { id } }`, {}, user.accessToken))).toBe("FORBIDDEN");
  });

  it("assigning a role twice is harmless and records who granted it", async () => {
    const user = await server.signUp("twice");
    const assign = `mutation($u: UUID!, $r: UUID!) { assignRole(userId: $u, roleId: $r) { roles { name } } }`;
    const roleId = await server.roleId("user");
    const result = await server.gql(assign, { u: user.id, r: roleId }, admin.accessToken);
    expect(result.data!.assignRole.roles).toEqual([{ name: "user" }]);
    const promoted = await server.gql(assign, { u: user.id, r: adminRoleId }, admin.accessToken);
    expect(promoted.data!.assignRole.roles).toEqual([{ name: "admin" }, { name: "user" }]);
    const row = await server.app.db.prisma.userRole.findFirst({ where: { userId: user.id, roleId: adminRoleId } });
    expect(row!.grantedBy).toBe(admin.id);
    // Step down again, so that the admin of this file stays the only one.
    const removed = await server.gql(
      `mutation($u: UUID!, $r: UUID!) { removeRole(userId: $u, roleId: $r) { roles { name } } }`,
      { u: user.id, r: adminRoleId },
      admin.accessToken,
    );
    expect(removed.data!.removeRole.roles).toEqual([{ name: "user" }]);
  });

  it("answers NOT_FOUND for an unknown user or role", async () => {
    const user = await server.signUp("nf");
    const assign = `mutation($u: UUID!, $r: UUID!) { assignRole(userId: $u, roleId: $r) { id } }`;
    expect(codeOf(await server.gql(assign, { u: crypto.randomUUID(), r: adminRoleId }, admin.accessToken))).toBe(
      "NOT_FOUND",
    );
    expect(codeOf(await server.gql(assign, { u: user.id, r: crypto.randomUUID() }, admin.accessToken))).toBe(
      "NOT_FOUND",
    );
  });
});

describe("privilege escalation", () => {
  it("a user manager cannot grant a role carrying permissions they do not hold", async () => {
    const manager = await server.signUp("manager");
    await server.grant(manager.id, ["users.update", "users.read"]);
    const victim = await server.signUp("victim");
    const result = await server.gql(
      `mutation($u: UUID!, $r: UUID!) { assignRole(userId: $u, roleId: $r) { id } }`,
      { u: manager.id, r: adminRoleId },
      manager.accessToken,
    );
    expect(codeOf(result)).toBe("FORBIDDEN");
    expect(result.errors![0]!.extensions!.requiredPermission).toBe("*");
    const removal = await server.gql(
      `mutation($u: UUID!, $r: UUID!) { removeRole(userId: $u, roleId: $r) { id } }`,
      { u: admin.id, r: adminRoleId },
      manager.accessToken,
    );
    expect(codeOf(removal)).toBe("FORBIDDEN");
    const mine = await server.gql(`{ myPermissions }`, {}, manager.accessToken);
    expect(mine.data!.myPermissions).toEqual(["users.read", "users.update"]);
    expect(victim.id).toBeTruthy();
  });

  // Regression: users.update alone let anyone change an admin's email, reset the password and take the account over.
  it("a user manager cannot change, disable or delete a user holding permissions they lack", async () => {
    const manager = await server.signUp("sub-admin");
    await server.grant(manager.id, ["users.update", "users.delete", "users.read"]);
    const takeover = await server.gql(
      `mutation($id: UUID!) { updateUser(id: $id, input: { email: "mine@example.com" }) { id } }`,
      { id: admin.id },
      manager.accessToken,
    );
    expect(codeOf(takeover)).toBe("FORBIDDEN");
    expect(takeover.errors![0]!.extensions!.requiredPermission).toBe("*");
    const del = await server.gql(`mutation($id: UUID!) { deleteUser(id: $id) }`, { id: admin.id }, manager.accessToken);
    expect(codeOf(del)).toBe("FORBIDDEN");
    for (const mutation of [`revokeUserSessions(userId: $id)`, `unlockUser(id: $id)`]) {
      const result = await server.gql(`mutation($id: UUID!) { ${mutation} }`, { id: admin.id }, manager.accessToken);
      expect(codeOf(result)).toBe("FORBIDDEN");
    }
    expect((await server.gql(`{ me { email } }`, {}, admin.accessToken)).data!.me.email).toBe(admin.email);
    // A plain user is theirs to manage; a new email address is unverified until proven.
    const plain = await server.signUp("managed-plain");
    await server.app.db.prisma.user.update({ where: { id: plain.id }, data: { emailVerifiedAt: new Date() } });
    const moved = await server.gql(
      `mutation($id: UUID!) { updateUser(id: $id, input: { email: "moved@example.com" }) { email emailVerifiedAt } }`,
      { id: plain.id },
      manager.accessToken,
    );
    expect(moved.data!.updateUser).toEqual({ email: "moved@example.com", emailVerifiedAt: null });
  });

  it("nobody can remove, disable or delete the last active admin", async () => {
    const removeRole = await server.gql(
      `mutation($u: UUID!, $r: UUID!) { removeRole(userId: $u, roleId: $r) { id } }`,
      { u: admin.id, r: adminRoleId },
      admin.accessToken,
    );
    expect(codeOf(removeRole)).toBe("CONFLICT");
    expect(removeRole.errors![0]!.extensions!.reason).toBe(USER_CONFLICTS.LAST_ADMIN);
    const disable = await server.gql(
      `mutation($id: UUID!) { updateUser(id: $id, input: { status: DISABLED }) { id } }`,
      { id: admin.id },
      admin.accessToken,
    );
    expect(disable.errors![0]!.extensions!.reason).toBe(USER_CONFLICTS.LAST_ADMIN);
    const del = await server.gql(`mutation($id: UUID!) { deleteUser(id: $id) }`, { id: admin.id }, admin.accessToken);
    expect(del.errors![0]!.extensions!.reason).toBe(USER_CONFLICTS.LAST_ADMIN);
    expect((await server.gql(`{ me { status } }`, {}, admin.accessToken)).data!.me.status).toBe("ACTIVE");
  });

  it("with a second admin, one admin can step down, and then the other is the last", async () => {
    const second = await server.signUp("second-admin");
    await server.gql(
      `mutation($u: UUID!, $r: UUID!) { assignRole(userId: $u, roleId: $r) { id } }`,
      { u: second.id, r: adminRoleId },
      admin.accessToken,
    );
    const stepDown = await server.gql(
      `mutation($u: UUID!, $r: UUID!) { removeRole(userId: $u, roleId: $r) { id } }`,
      { u: second.id, r: adminRoleId },
      admin.accessToken,
    );
    expect(stepDown.errors).toBeUndefined();
    expect(codeOf(await server.gql(`{ roles { id } }`, {}, second.accessToken))).toBe("FORBIDDEN");
  });

  it("two admins removing each other at the same moment leave one admin", async () => {
    const a = await server.signUp("admin-a");
    const b = await server.signUp("admin-b");
    const assign = `mutation($u: UUID!, $r: UUID!) { assignRole(userId: $u, roleId: $r) { id } }`;
    await server.gql(assign, { u: a.id, r: adminRoleId }, admin.accessToken);
    await server.gql(assign, { u: b.id, r: adminRoleId }, admin.accessToken);
    // The original admin steps down first, so only a and b remain.
    await server.gql(
      `mutation($u: UUID!, $r: UUID!) { removeRole(userId: $u, roleId: $r) { id } }`,
      { u: admin.id, r: adminRoleId },
      a.accessToken,
    );
    const remove = `mutation($u: UUID!, $r: UUID!) { removeRole(userId: $u, roleId: $r) { id } }`;
    const results = await Promise.all([
      server.gql(remove, { u: b.id, r: adminRoleId }, a.accessToken),
      server.gql(remove, { u: a.id, r: adminRoleId }, b.accessToken),
    ]);
    expect(results.filter((r) => r.errors === undefined)).toHaveLength(1);
    const admins = await server.app.db.prisma.userRole.count({ where: { roleId: adminRoleId } });
    expect(admins).toBe(1);
    // Give the original admin the role back for the other tests.
    const survivor = results[0]!.errors ? b : a;
    await server.gql(assign, { u: admin.id, r: adminRoleId }, survivor.accessToken);
  });
});
