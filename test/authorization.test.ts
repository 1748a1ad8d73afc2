import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { codeOf, startServer, type SignedIn, type TestServer } from "./support/server.js";

let server: TestServer;
let plain: SignedIn;
let ids: { user: string; role: string; permission: string };

/** A user, a role and a permission that the operations under test may change or delete. */
async function freshTargets(): Promise<typeof ids> {
  const admin = await server.loginAdmin();
  const suffix = crypto.randomUUID().slice(0, 8);
  const user = await server.signUp("other");
  const { data } = await server.gql(
    `mutation($role: String!, $key: String!) {
      createRole(input: { name: $role }) { id }
      createPermission(input: { key: $key }) { id }
    }`,
    { role: `target-${suffix}`, key: `target${suffix}.read` },
    admin.accessToken,
  );
  return { user: user.id, role: data!.createRole.id, permission: data!.createPermission.id };
}

beforeAll(async () => {
  server = await startServer();
  plain = await server.signUp("plain");
  ids = await freshTargets();
});
afterAll(() => server.close());

/**
 * Every protected operation, with the permission it needs (null: any signed-in user) and, for the few
 * the specification also ties to a platform role, that role.
 */
const operations: [string, string, () => Record<string, unknown>, string | null, string?][] = [
  ["me", `{ me { id } }`, () => ({}), null],
  ["myPermissions", `{ myPermissions }`, () => ({}), null],
  ["can", `{ can(permission: "users.read") }`, () => ({}), null],
  ["updateMe", `mutation { updateMe(input: { displayName: "X" }) { id } }`, () => ({}), null],
  ["users", `{ users { items { id } } }`, () => ({}), "users.read", "admin"],
  ["user", `query($id: UUID!) { user(id: $id) { id } }`, () => ({ id: ids.user }), "users.read"],
  [
    "updateUser",
    `mutation($id: UUID!) { updateUser(id: $id, input: { displayName: "X" }) { id } }`,
    () => ({ id: ids.user }),
    "users.update",
  ],
  ["deleteUser", `mutation($id: UUID!) { deleteUser(id: $id) }`, () => ({ id: ids.user }), "users.delete"],
  [
    "assignRole",
    `mutation($u: UUID!, $r: UUID!) { assignRole(userId: $u, roleId: $r) { id } }`,
    () => ({ u: ids.user, r: ids.role }),
    "users.update",
  ],
  [
    "removeRole",
    `mutation($u: UUID!, $r: UUID!) { removeRole(userId: $u, roleId: $r) { id } }`,
    () => ({ u: ids.user, r: ids.role }),
    "users.update",
  ],
  ["roles", `{ roles { id } }`, () => ({}), "roles.read"],
  ["role", `query($id: UUID!) { role(id: $id) { id } }`, () => ({ id: ids.role }), "roles.read"],
  ["createRole", `mutation { createRole(input: { name: "sneaky" }) { id } }`, () => ({}), "roles.create"],
  [
    "updateRole",
    `mutation($id: UUID!) { updateRole(id: $id, input: { description: "x" }) { id } }`,
    () => ({ id: ids.role }),
    "roles.update",
  ],
  ["deleteRole", `mutation($id: UUID!) { deleteRole(id: $id) }`, () => ({ id: ids.role }), "roles.delete"],
  [
    "setRolePermissions",
    `mutation($id: UUID!, $p: UUID!) { setRolePermissions(roleId: $id, permissionIds: [$p]) { id } }`,
    () => ({ id: ids.role, p: ids.permission }),
    "roles.update",
  ],
  ["permissions", `{ permissions { id } }`, () => ({}), "permissions.read"],
  [
    "permission",
    `query($id: UUID!) { permission(id: $id) { id } }`,
    () => ({ id: ids.permission }),
    "permissions.read",
  ],
  [
    "createPermission",
    `mutation { createPermission(input: { key: "sneaky.read" }) { id } }`,
    () => ({}),
    "permissions.create",
  ],
  [
    "updatePermission",
    `mutation($id: UUID!) { updatePermission(id: $id, input: { description: "x" }) { id } }`,
    () => ({ id: ids.permission }),
    "permissions.update",
  ],
  [
    "deletePermission",
    `mutation($id: UUID!) { deletePermission(id: $id) }`,
    () => ({ id: ids.permission }),
    "permissions.delete",
  ],
];

describe("every protected operation", () => {
  it.each(operations)("%s without a token answers UNAUTHENTICATED (401)", async (_name, query, variables) => {
    const result = await server.gql(query, variables());
    expect(codeOf(result)).toBe("UNAUTHENTICATED");
    expect(result.status).toBe(401);
    expect(result.data ?? null).toBeNull();
  });

  it.each(operations.filter(([, , , permission]) => permission))(
    "%s with a token lacking the permission answers FORBIDDEN naming it (403)",
    async (_name, query, variables, permission) => {
      const result = await server.gql(query, variables(), plain.accessToken);
      expect(codeOf(result)).toBe("FORBIDDEN");
      expect(result.errors![0]!.extensions!.requiredPermission).toBe(permission);
      expect(result.status).toBe(403);
    },
  );

  it("the denied mutations changed nothing", async () => {
    const admin = await server.loginAdmin();
    const { data } = await server.gql(
      `query($id: UUID!) { user(id: $id) { displayName } roles { name } permissions { key } }`,
      { id: ids.user },
      admin.accessToken,
    );
    expect(data!.user.displayName).toBe("other");
    expect(data!.roles.map((r: { name: string }) => r.name)).toContain("user");
    expect(data!.roles.map((r: { name: string }) => r.name)).not.toContain("sneaky");
    expect(data!.permissions.map((p: { key: string }) => p.key)).not.toContain("sneaky.read");
  });

  it.each(operations.filter(([, , , , role]) => role))(
    "%s with the permission but without its role answers FORBIDDEN (403)",
    async (_name, query, variables, permission) => {
      const holder = await server.signUp("role-less");
      await server.grant(holder.id, [permission!]);
      const result = await server.gql(query, variables(), holder.accessToken);
      expect(codeOf(result)).toBe("FORBIDDEN");
      expect(result.status).toBe(403);
    },
  );

  it.each(operations.filter(([, , , permission, role]) => permission && !role))(
    "%s works once the caller holds exactly that permission",
    async (_name, query, variables, permission) => {
      ids = await freshTargets();
      const holder = await server.signUp("holder");
      const { data } = await server.gql(
        `query($id: UUID!) { permission(id: $id) { key } }`,
        { id: ids.permission },
        (await server.loginAdmin()).accessToken,
      );
      // Changing a role's permissions also needs the permissions changed: the holder gets the target one too.
      await server.grant(holder.id, [permission!, data!.permission.key]);
      const result = await server.gql(query, variables(), holder.accessToken);
      expect(codeOf(result)).not.toBe("FORBIDDEN");
      expect(codeOf(result)).not.toBe("UNAUTHENTICATED");
    },
  );
});

describe("fields of another user", () => {
  it("a user always sees their own email and roles", async () => {
    const { data } = await server.gql(`{ me { email roles { name } } }`, {}, plain.accessToken);
    expect(data!.me).toEqual({ email: plain.email, roles: [{ name: "user" }] });
  });

  it("sign-up shows the new user's own email and roles although the request had no token", async () => {
    const result = await server.gql(
      `mutation { signUp(input: { email: "fresh@example.com", password: "a perfectly long password", displayName: "F" }) { user { email roles { name } } } }`,
    );
    expect(result.data!.signUp.user).toEqual({ email: "fresh@example.com", roles: [{ name: "user" }] });
  });
});
