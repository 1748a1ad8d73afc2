/**
 * The roles and users items of the security review (issue 15): the platform admin role keeps `*`, a
 * role or permission is edited only by someone who could grant it, role names are unique whatever
 * their case and trailing spaces, removeRole respects the "hold what the target holds" rule, and the
 * users list needs the admin role as well as users.read.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROLE_CONFLICTS } from "../src/modules/roles/role.errors.js";
import { codeOf, type SignedIn, startServer, type TestServer } from "./support/server.js";

let server: TestServer;
let admin: SignedIn;
let adminRoleId: string;

beforeAll(async () => {
  server = await startServer({ env: { KAFKEY_ORGANIZATION_CREATION: "users" } });
  admin = await server.loginAdmin();
  adminRoleId = await server.roleId("admin");
});
afterAll(() => server.close());

const CREATE = `mutation($input: CreateRoleInput!) { createRole(input: $input) { id name } }`;
const UPDATE = `mutation($id: UUID!, $input: UpdateRoleInput!) { updateRole(id: $id, input: $input) { name description } }`;
const SET = `mutation($id: UUID!, $ids: [UUID!]!) { setRolePermissions(roleId: $id, permissionIds: $ids) { id } }`;
const ROLE = `query($id: UUID!) { role(id: $id) { name description permissions { key } } }`;
const REMOVE_ROLE = `mutation($u: UUID!, $r: UUID!) { removeRole(userId: $u, roleId: $r) { id } }`;

describe("the platform admin role", () => {
  // Regression: setRolePermissions(<admin>, []) left nobody holding any permission, with no way back.
  it("rejects emptying or changing the admin role's permissions with CONFLICT, even from a full admin", async () => {
    const emptied = await server.gql(SET, { id: adminRoleId, ids: [] }, admin.accessToken);
    expect(codeOf(emptied)).toBe("CONFLICT");
    expect(emptied.errors![0]!.extensions!.reason).toBe(ROLE_CONFLICTS.SYSTEM_ROLE);
    const [star, auditRead] = await server.permissionIds(["*", "audit.read"]);
    const widened = await server.gql(SET, { id: adminRoleId, ids: [star, auditRead] }, admin.accessToken);
    expect(codeOf(widened)).toBe("CONFLICT");
    const role = await server.gql(ROLE, { id: adminRoleId }, admin.accessToken);
    expect(role.data!.role.permissions).toEqual([{ key: "*" }]);
    expect((await server.gql(`{ roles { id } }`, {}, admin.accessToken)).errors).toBeUndefined();
  });
});

describe("editing a role or a permission needs what granting it needs", () => {
  it("rejects a role manager without * editing the admin role's description", async () => {
    const manager = await server.signUp("describer");
    await server.grant(manager.id, ["roles.update", "roles.read"]);
    const result = await server.gql(
      UPDATE,
      { id: adminRoleId, input: { description: "Hijacked" } },
      manager.accessToken,
    );
    expect(codeOf(result)).toBe("FORBIDDEN");
    expect(result.errors![0]!.extensions!.requiredPermission).toBe("*");
    const role = await server.gql(ROLE, { id: adminRoleId }, admin.accessToken);
    expect(role.data!.role.description).not.toBe("Hijacked");
  });

  it("rejects renaming a role carrying a permission the caller lacks, and allows it for one they could grant", async () => {
    const manager = await server.signUp("renamer");
    await server.grant(manager.id, ["roles.update", "roles.read"]);
    const [auditRead, rolesRead] = await server.permissionIds(["audit.read", "roles.read"]);
    const auditors = (
      await server.gql(CREATE, { input: { name: "auditors", permissionIds: [auditRead] } }, admin.accessToken)
    ).data!.createRole.id;
    const renamed = await server.gql(UPDATE, { id: auditors, input: { name: "nobodies" } }, manager.accessToken);
    expect(codeOf(renamed)).toBe("FORBIDDEN");
    expect(renamed.errors![0]!.extensions!.requiredPermission).toBe("audit.read");

    const readers = (
      await server.gql(CREATE, { input: { name: "readers", permissionIds: [rolesRead] } }, admin.accessToken)
    ).data!.createRole.id;
    const ok = await server.gql(UPDATE, { id: readers, input: { name: "role-readers" } }, manager.accessToken);
    expect(ok.data!.updateRole.name).toBe("role-readers");
  });

  it("rejects setRolePermissions on a role carrying a permission the caller lacks, even one left in place", async () => {
    const manager = await server.signUp("extender");
    await server.grant(manager.id, ["roles.update", "roles.read"]);
    const [auditRead, rolesRead] = await server.permissionIds(["audit.read", "roles.read"]);
    const roleId = (
      await server.gql(CREATE, { input: { name: "keepers", permissionIds: [auditRead] } }, admin.accessToken)
    ).data!.createRole.id;
    const result = await server.gql(SET, { id: roleId, ids: [auditRead, rolesRead] }, manager.accessToken);
    expect(codeOf(result)).toBe("FORBIDDEN");
    expect(result.errors![0]!.extensions!.requiredPermission).toBe("audit.read");
    const role = await server.gql(ROLE, { id: roleId }, admin.accessToken);
    expect(role.data!.role.permissions).toEqual([{ key: "audit.read" }]);
  });

  it("rejects a permission manager editing the description of a permission they do not hold", async () => {
    const manager = await server.signUp("permission-manager");
    await server.grant(manager.id, ["permissions.update", "permissions.read"]);
    const [star, permissionsRead] = await server.permissionIds(["*", "permissions.read"]);
    const update = `mutation($id: UUID!, $d: String!) { updatePermission(id: $id, input: { description: $d }) { description } }`;
    const refused = await server.gql(update, { id: star, d: "Nothing much" }, manager.accessToken);
    expect(codeOf(refused)).toBe("FORBIDDEN");
    expect(refused.errors![0]!.extensions!.requiredPermission).toBe("*");
    const held = await server.gql(update, { id: permissionsRead, d: "Read the catalog" }, manager.accessToken);
    expect(held.data!.updatePermission.description).toBe("Read the catalog");
  });
});

describe("role names", () => {
  it("rejects a platform role named like another but for case or trailing spaces, and stores names trimmed", async () => {
    for (const name of ["Admin", "admin ", "ADMIN  "]) {
      const result = await server.gql(CREATE, { input: { name } }, admin.accessToken);
      expect([name, codeOf(result)]).toEqual([name, "CONFLICT"]);
    }
    const created = await server.gql(CREATE, { input: { name: "Support Desk " } }, admin.accessToken);
    expect(created.data!.createRole.name).toBe("Support Desk");
    const other = (await server.gql(CREATE, { input: { name: "billing" } }, admin.accessToken)).data!.createRole.id;
    const rename = await server.gql(UPDATE, { id: other, input: { name: "support desk" } }, admin.accessToken);
    expect(codeOf(rename)).toBe("CONFLICT");
    const trimmed = await server.gql(UPDATE, { id: other, input: { name: "Billing  " } }, admin.accessToken);
    expect(trimmed.data!.updateRole.name).toBe("Billing");
  });

  it("rejects an organization role named like another of that organization but for case or spaces", async () => {
    const created = await server.gql(
      `mutation { createOrganization(input: { name: "Names Ltd" }) { id } }`,
      {},
      admin.accessToken,
    );
    const organizationId = created.data!.createOrganization.id;
    const create = `mutation($o: UUID, $name: String!) { createOrganizationRole(organizationId: $o, input: { name: $name }) { name } }`;
    for (const name of ["Owner", "member "]) {
      const result = await server.gql(create, { o: organizationId, name }, admin.accessToken);
      expect([name, codeOf(result)]).toEqual([name, "CONFLICT"]);
    }
    // Another realm: a platform role's name is free inside an organization.
    const own = await server.gql(create, { o: organizationId, name: "Support desk " }, admin.accessToken);
    expect(own.data!.createOrganizationRole.name).toBe("Support desk");
  });
});

describe("removeRole", () => {
  // Regression: a helpdesk user took the `user` role away from the admin.
  it("rejects removing a role from a user holding permissions the caller lacks", async () => {
    const helpdesk = await server.signUp("helpdesk");
    await server.grant(helpdesk.id, ["users.update", "users.read"]);
    const rolesOfAdmin = async () =>
      (await server.gql(`{ me { roles { name } } }`, {}, admin.accessToken)).data!.me.roles;
    const before = await rolesOfAdmin();
    expect(before).toContainEqual({ name: "user" });
    const result = await server.gql(REMOVE_ROLE, { u: admin.id, r: await server.roleId("user") }, helpdesk.accessToken);
    expect(codeOf(result)).toBe("FORBIDDEN");
    expect(result.errors![0]!.extensions!.requiredPermission).toBe("*");
    expect(await rolesOfAdmin()).toEqual(before);

    const plain = await server.signUp("helped");
    const allowed = await server.gql(
      REMOVE_ROLE,
      { u: plain.id, r: await server.roleId("user") },
      helpdesk.accessToken,
    );
    expect(allowed.errors).toBeUndefined();
  });
});

describe("the users list", () => {
  it("rejects a caller with users.read but without the admin role; user(id) needs users.read alone", async () => {
    const support = await server.signUp("support");
    await server.grant(support.id, ["users.read"]);
    const list = await server.gql(`{ users { items { id } } }`, {}, support.accessToken);
    expect(codeOf(list)).toBe("FORBIDDEN");
    expect(list.status).toBe(200);
    expect(list.data ?? null).toBeNull();
    const one = await server.gql(
      `query($id: UUID!) { user(id: $id) { id email } }`,
      { id: admin.id },
      support.accessToken,
    );
    expect(one.errors).toBeUndefined();
    expect(one.data!.user.email).toBe(admin.email);
    const listed = await server.gql(`{ users { items { id } } }`, {}, admin.accessToken);
    expect(listed.errors).toBeUndefined();
  });
});
