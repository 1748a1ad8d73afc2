/**
 * Changes of who holds a role, checked where they commit: the role is checked on its locked row inside
 * the transaction of the grant, so a concurrent change of its permissions cannot slip in between the
 * check and the grant; and the answer of a role change asks no more permission than the change itself.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postgresAvailable } from "./support/databases.js";
import { codeOf, type GraphQLResponse, type SignedIn, startServer, type TestServer } from "./support/server.js";

const postgres = await postgresAvailable();
if (!postgres) console.warn("Skipping the lock tests: they hold PostgreSQL row locks, and PostgreSQL is unreachable.");

const ASSIGN = `mutation($u: UUID!, $r: UUID!) { assignRole(userId: $u, roleId: $r) { id roles { name } } }`;
const REMOVE = `mutation($u: UUID!, $r: UUID!) { removeRole(userId: $u, roleId: $r) { id roles { name } } }`;
const GRANT = `mutation($u: UUID!, $r: UUID!) { assignRole(userId: $u, roleId: $r) { id } }`;
const CREATE_ROLE = `mutation($input: CreateRoleInput!) { createRole(input: $input) { id name } }`;

let server: TestServer;
let admin: SignedIn;
beforeAll(async () => {
  server = await startServer();
  admin = await server.loginAdmin();
});
afterAll(() => server.close());

/** A new platform role carrying `keys`, made by the admin. */
async function newRole(keys: string[]): Promise<{ id: string; name: string }> {
  const name = `role-${randomBytes(4).toString("hex")}`;
  const created = await server.gql(
    CREATE_ROLE,
    { input: { name, permissionIds: await server.permissionIds(keys) } },
    admin.accessToken,
  );
  return created.data!.createRole;
}

/**
 * An organization with a member and a manager whose only organization role carries org.roles.manage,
 * and a role `plain` carrying nothing, for the manager to grant.
 */
async function organizationWithRoleManager(name: string) {
  const prisma = server.app.db.prisma;
  const organization = await prisma.organization.create({
    data: { name, slug: `${name.toLowerCase()}-${randomBytes(4).toString("hex")}` },
  });
  const manage = await prisma.permission.findUniqueOrThrow({ where: { key: "org.roles.manage" } });
  const assigner = await prisma.role.create({
    data: { organizationId: organization.id, name: "assigner", permissions: { create: [{ permissionId: manage.id }] } },
  });
  const plain = await prisma.role.create({ data: { organizationId: organization.id, name: "plain" } });
  const manager = await server.signUp(`${name}-manager`);
  const member = await server.signUp(`${name}-member`);
  await prisma.organizationMember.createMany({
    data: [manager, member].map((user) => ({ organizationId: organization.id, userId: user.id })),
  });
  await prisma.organizationMemberRole.create({
    data: { organizationId: organization.id, userId: manager.id, roleId: assigner.id },
  });
  return { organization, plain, manager, member };
}

describe("the answer of assignRole and removeRole", () => {
  // Regression: with users.update and without users.read, the role was assigned and the answer's
  // `roles` was FORBIDDEN, both in one response.
  it("shows the roles it set to a caller who may change them but not read users", async () => {
    const manager = await server.signUp("role-manager");
    await server.grant(manager.id, ["users.update"]);
    const user = await server.signUp("role-managed");
    const role = await newRole([]);

    const assigned = await server.gql(ASSIGN, { u: user.id, r: role.id }, manager.accessToken);
    expect(assigned.errors).toBeUndefined();
    expect(assigned.data!.assignRole).toEqual({ id: user.id, roles: [{ name: role.name }, { name: "user" }] });

    const removed = await server.gql(REMOVE, { u: user.id, r: role.id }, manager.accessToken);
    expect(removed.errors).toBeUndefined();
    expect(removed.data!.removeRole).toEqual({ id: user.id, roles: [{ name: "user" }] });
  });

  // Regression: with org.roles.manage and without org.members.read, the organization role was granted
  // and the answer's `roles` was FORBIDDEN, both in one response.
  it("shows an organization role manager the member's roles they set", async () => {
    const { organization, plain, manager, member } = await organizationWithRoleManager("Shown");
    const change = (mutation: string) =>
      server.gql(
        `mutation($u: UUID!, $r: UUID!) { ${mutation}(userId: $u, roleId: $r) { userId roles { name } } }`,
        { u: member.id, r: plain.id },
        manager.accessToken,
        { "x-organization-id": organization.id },
      );

    const assigned = await change("assignOrganizationRole");
    expect(assigned.errors).toBeUndefined();
    expect(assigned.data!.assignOrganizationRole).toEqual({ userId: member.id, roles: [{ name: "plain" }] });
    const removed = await change("unassignOrganizationRole");
    expect(removed.errors).toBeUndefined();
    expect(removed.data!.unassignOrganizationRole).toEqual({ userId: member.id, roles: [] });
    // Reading the members themselves still needs org.members.read.
    const listed = await server.gql(`{ members { items { userId roles { name } } } }`, {}, manager.accessToken, {
      "x-organization-id": organization.id,
    });
    expect(codeOf(listed)).toBe("FORBIDDEN");
  });

  it("shows the changed user's email too, and nothing of any other user", async () => {
    const manager = await server.signUp("role-manager");
    await server.grant(manager.id, ["users.update"]);
    const user = await server.signUp("role-managed");
    const role = await newRole([]);
    const assigned = await server.gql(
      `mutation($u: UUID!, $r: UUID!) { assignRole(userId: $u, roleId: $r) { email } }`,
      { u: user.id, r: role.id },
      manager.accessToken,
    );
    expect(assigned.errors).toBeUndefined();
    expect(assigned.data!.assignRole.email).toBe(user.email);
    const updated = await server.gql(
      `mutation($u: UUID!) { updateUser(id: $u, input: { displayName: "Renamed" }) { displayName email roles { name } } }`,
      { u: user.id },
      manager.accessToken,
    );
    expect(updated.errors).toBeUndefined();
    expect(updated.data!.updateUser).toMatchObject({ displayName: "Renamed", email: user.email });
    const other = await server.gql(`query($id: UUID!) { user(id: $id) { id } }`, { id: user.id }, manager.accessToken);
    expect(codeOf(other)).toBe("FORBIDDEN");
  });
});

/** A connection of the test's own to the server's database, for holding locks. */
async function connect(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: server.databaseUrl });
  await client.connect();
  return client;
}

/** Resolves once some other connection waits for a lock `holder` holds. */
async function someoneWaitsOn(holder: pg.Client, watcher: pg.Client): Promise<void> {
  const [{ pid }] = (await holder.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows as [{ pid: number }];
  for (let tries = 0; tries < 200; tries++) {
    const { rows } = await watcher.query("SELECT 1 FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))", [pid]);
    if (rows.length > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error("nobody came to wait for the lock");
}

/**
 * Sends `grant` while a change of role `roleId`'s permissions, like setRolePermissions, holds the role's
 * row locked and has added `permissionId` without committing yet; commits it once something waits for
 * the lock. @returns the grant's answer.
 */
async function grantDuringChange(roleId: string, permissionId: string, grant: () => Promise<GraphQLResponse>) {
  const change = await connect();
  const watcher = await connect();
  try {
    await change.query("BEGIN");
    await change.query(`SELECT 1 FROM "roles" WHERE "id" = $1 FOR UPDATE`, [roleId]);
    await change.query(`INSERT INTO "role_permissions" ("role_id", "permission_id") VALUES ($1, $2)`, [
      roleId,
      permissionId,
    ]);
    const answer = grant();
    await someoneWaitsOn(change, watcher);
    await change.query("COMMIT");
    return await answer;
  } finally {
    await change.end();
    await watcher.end();
  }
}

describe.skipIf(!postgres)("a grant and a concurrent change of the role's permissions", () => {
  // Regression: the grant checked the role outside its transaction, so a setRolePermissions between the
  // check and the grant let a user manager hand out a permission they do not hold.
  it("refuses a platform grant that waits for the change and finds the role carrying what the granter lacks", async () => {
    const manager = await server.signUp("racing-manager");
    await server.grant(manager.id, ["users.update", "users.read"]);
    const user = await server.signUp("racing-user");
    const role = await newRole(["users.read"]);
    const [withheld] = await server.permissionIds(["audit.read"]);

    const result = await grantDuringChange(role.id, withheld!, () =>
      server.gql(GRANT, { u: user.id, r: role.id }, manager.accessToken),
    );
    expect(codeOf(result)).toBe("FORBIDDEN");
    expect(result.errors![0]!.extensions!.requiredPermission).toBe("audit.read");
    const held = await server.app.db.prisma.userRole.count({ where: { userId: user.id, roleId: role.id } });
    expect(held).toBe(0);
  });

  it("refuses an organization grant the same way", async () => {
    const prisma = server.app.db.prisma;
    const permission = async (key: string) => (await prisma.permission.findUniqueOrThrow({ where: { key } })).id;
    const { organization, plain, manager, member } = await organizationWithRoleManager("Race");

    const result = await grantDuringChange(plain.id, await permission("org.delete"), () =>
      server.gql(
        `mutation($o: UUID, $u: UUID!, $r: UUID!) { assignOrganizationRole(organizationId: $o, userId: $u, roleId: $r) { userId } }`,
        { o: organization.id, u: member.id, r: plain.id },
        manager.accessToken,
        { "x-organization-id": organization.id },
      ),
    );
    expect(codeOf(result)).toBe("FORBIDDEN");
    expect(result.errors![0]!.extensions!.requiredPermission).toBe("org.delete");
    const held = await prisma.organizationMemberRole.count({ where: { userId: member.id, roleId: plain.id } });
    expect(held).toBe(0);
  });
});
