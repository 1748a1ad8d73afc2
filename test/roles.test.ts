import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROLE_CONFLICTS } from "../src/modules/roles/role.errors.js";
import { codeOf, startServer, type SignedIn, type TestServer } from "./support/server.js";

let server: TestServer;
let admin: SignedIn;

beforeAll(async () => {
  server = await startServer();
  admin = await server.loginAdmin();
});
afterAll(() => server.close());

const CREATE = `mutation($input: CreateRoleInput!) { createRole(input: $input) { id name description isSystem permissions { key } } }`;
const SET = `mutation($id: UUID!, $ids: [UUID!]!) { setRolePermissions(roleId: $id, permissionIds: $ids) { permissions { key } } }`;

describe("roles", () => {
  it("lists the system roles with their permissions", async () => {
    const { data } = await server.gql(`{ roles { name isSystem permissions { key } } }`, {}, admin.accessToken);
    expect(data!.roles).toEqual(
      expect.arrayContaining([
        { name: "admin", isSystem: true, permissions: [{ key: "*" }] },
        { name: "user", isSystem: true, permissions: [] },
      ]),
    );
  });

  it("creates, reads, updates and deletes a role", async () => {
    const ids = await server.permissionIds(["users.read", "roles.read"]);
    const created = await server.gql(
      CREATE,
      { input: { name: "support", description: "Helps users", permissionIds: ids } },
      admin.accessToken,
    );
    const role = created.data!.createRole;
    expect(role).toMatchObject({ name: "support", description: "Helps users", isSystem: false });
    expect(role.permissions).toEqual([{ key: "roles.read" }, { key: "users.read" }]);

    const read = await server.gql(`query($id: UUID!) { role(id: $id) { name } }`, { id: role.id }, admin.accessToken);
    expect(read.data!.role.name).toBe("support");

    const updated = await server.gql(
      `mutation($id: UUID!) { updateRole(id: $id, input: { name: "helpdesk", description: "Renamed" }) { name description } }`,
      { id: role.id },
      admin.accessToken,
    );
    expect(updated.data!.updateRole).toEqual({ name: "helpdesk", description: "Renamed" });

    const deleted = await server.gql(
      `mutation($id: UUID!) { deleteRole(id: $id) }`,
      { id: role.id },
      admin.accessToken,
    );
    expect(deleted.data!.deleteRole).toBe(true);
    expect(
      codeOf(await server.gql(`query($id: UUID!) { role(id: $id) { name } }`, { id: role.id }, admin.accessToken)),
    ).toBe("NOT_FOUND");
  });

  it("rejects a duplicate name with CONFLICT and a bad name with BAD_USER_INPUT", async () => {
    await server.gql(CREATE, { input: { name: "unique-role" } }, admin.accessToken);
    expect(codeOf(await server.gql(CREATE, { input: { name: "unique-role" } }, admin.accessToken))).toBe("CONFLICT");
    const bad = await server.gql(CREATE, { input: { name: "<script>" } }, admin.accessToken);
    expect(codeOf(bad)).toBe("BAD_USER_INPUT");
    expect(bad.errors![0]!.extensions!.fields).toEqual([expect.objectContaining({ path: "name" })]);
  });

  it("refuses to rename or delete a system role", async () => {
    const adminRole = await server.roleId("admin");
    const rename = await server.gql(
      `mutation($id: UUID!) { updateRole(id: $id, input: { name: "root" }) { name } }`,
      { id: adminRole },
      admin.accessToken,
    );
    expect(codeOf(rename)).toBe("CONFLICT");
    expect(rename.errors![0]!.extensions!.reason).toBe(ROLE_CONFLICTS.SYSTEM_ROLE);
    const del = await server.gql(
      `mutation($id: UUID!) { deleteRole(id: $id) }`,
      { id: await server.roleId("user") },
      admin.accessToken,
    );
    expect(del.errors![0]!.extensions!.reason).toBe(ROLE_CONFLICTS.SYSTEM_ROLE);
    const describe = await server.gql(
      `mutation($id: UUID!) { updateRole(id: $id, input: { description: "All of it" }) { description } }`,
      { id: adminRole },
      admin.accessToken,
    );
    expect(describe.data!.updateRole.description).toBe("All of it");
  });

  it("deleting a role takes its permissions away from its holders on the next request", async () => {
    const user = await server.signUp("holder");
    const roleId = await server.grant(user.id, ["permissions.read"]);
    expect((await server.gql(`{ permissions { id } }`, {}, user.accessToken)).errors).toBeUndefined();
    await server.gql(`mutation($id: UUID!) { deleteRole(id: $id) }`, { id: roleId }, admin.accessToken);
    expect(codeOf(await server.gql(`{ permissions { id } }`, {}, user.accessToken))).toBe("FORBIDDEN");
  });
});

describe("setRolePermissions", () => {
  it("replaces the permissions, and holders gain and lose them on the next request", async () => {
    const user = await server.signUp("member");
    const roleId = await server.grant(user.id, ["roles.read"]);
    const [usersRead] = await server.permissionIds(["users.read"]);
    const result = await server.gql(SET, { id: roleId, ids: [usersRead] }, admin.accessToken);
    expect(result.data!.setRolePermissions.permissions).toEqual([{ key: "users.read" }]);
    expect((await server.gql(`{ myPermissions }`, {}, user.accessToken)).data!.myPermissions).toEqual(["users.read"]);
    expect(codeOf(await server.gql(`{ roles { id } }`, {}, user.accessToken))).toBe("FORBIDDEN");
    const read = await server.gql(`query($id: UUID!) { user(id: $id) { id } }`, { id: admin.id }, user.accessToken);
    expect(read.errors).toBeUndefined();
  });

  it("answers NOT_FOUND for an unknown permission and changes nothing", async () => {
    const roleId = (await server.gql(CREATE, { input: { name: "nf-role" } }, admin.accessToken)).data!.createRole.id;
    const result = await server.gql(SET, { id: roleId, ids: [crypto.randomUUID()] }, admin.accessToken);
    expect(codeOf(result)).toBe("NOT_FOUND");
  });

  it("a role manager cannot add or remove a permission they do not hold", async () => {
    const manager = await server.signUp("role-manager");
    await server.grant(manager.id, ["roles.update", "roles.create", "roles.read"]);
    const [auditRead, rolesRead] = await server.permissionIds(["audit.read", "roles.read"]);
    const own = await server.gql(
      CREATE,
      { input: { name: "managed", permissionIds: [rolesRead] } },
      manager.accessToken,
    );
    const roleId = own.data!.createRole.id;

    const add = await server.gql(SET, { id: roleId, ids: [rolesRead, auditRead] }, manager.accessToken);
    expect(codeOf(add)).toBe("FORBIDDEN");
    expect(add.errors![0]!.extensions!.requiredPermission).toBe("audit.read");
    const createWith = await server.gql(
      CREATE,
      { input: { name: "sneaky", permissionIds: [auditRead] } },
      manager.accessToken,
    );
    expect(codeOf(createWith)).toBe("FORBIDDEN");
    const strip = await server.gql(SET, { id: await server.roleId("admin"), ids: [] }, manager.accessToken);
    expect(codeOf(strip)).toBe("FORBIDDEN");
    expect(strip.errors![0]!.extensions!.requiredPermission).toBe("*");

    const ok = await server.gql(SET, { id: roleId, ids: [] }, manager.accessToken);
    expect(ok.data!.setRolePermissions.permissions).toEqual([]);
  });

  it("a role manager cannot delete a role carrying a permission they do not hold", async () => {
    const manager = await server.signUp("role-deleter");
    await server.grant(manager.id, ["roles.delete", "roles.read"]);
    const [auditRead] = await server.permissionIds(["audit.read"]);
    const role = await server.gql(
      CREATE,
      { input: { name: "auditors", permissionIds: [auditRead] } },
      admin.accessToken,
    );
    const del = await server.gql(
      `mutation($id: UUID!) { deleteRole(id: $id) }`,
      { id: role.data!.createRole.id },
      manager.accessToken,
    );
    expect(codeOf(del)).toBe("FORBIDDEN");
    expect(del.errors![0]!.extensions!.requiredPermission).toBe("audit.read");
  });
});

describe("wildcard grants", () => {
  it("a role holding roles.* holds every roles.<action>, and nothing else", async () => {
    const admin2 = admin.accessToken;
    const created = await server.gql(
      `mutation { createPermission(input: { key: "roles.*", description: "All role actions" }) { id } }`,
      {},
      admin2,
    );
    const user = await server.signUp("wildcard");
    await server.grant(user.id, ["roles.*"]);
    const mine = await server.gql(
      `{ myPermissions a: can(permission: "roles.delete") b: can(permission: "roles.anything") c: can(permission: "users.read") }`,
      {},
      user.accessToken,
    );
    expect(mine.data!.myPermissions).toEqual(["roles.*", "roles.create", "roles.delete", "roles.read", "roles.update"]);
    expect(mine.data).toMatchObject({ a: true, b: true, c: false });
    const role = await server.gql(CREATE, { input: { name: "made-by-wildcard" } }, user.accessToken);
    expect(role.errors).toBeUndefined();
    const users = await server.gql(`query($id: UUID!) { user(id: $id) { id } }`, { id: admin.id }, user.accessToken);
    expect(codeOf(users)).toBe("FORBIDDEN");
    expect(created.errors).toBeUndefined();
  });

  it("the admin's * covers permissions created later", async () => {
    await server.gql(`mutation { createPermission(input: { key: "reports.export" }) { id } }`, {}, admin.accessToken);
    const { data } = await server.gql(`{ myPermissions can(permission: "reports.export") }`, {}, admin.accessToken);
    expect(data!.myPermissions).toContain("reports.export");
    expect(data!.can).toBe(true);
  });
});
