import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PERMISSION_CONFLICTS } from "../src/modules/permissions/permission.errors.js";
import { codeOf, startServer, type SignedIn, type TestServer } from "./support/server.js";
import { PERMISSION_CATALOG } from "../src/kernel/permission-catalog.js";

let server: TestServer;
let admin: SignedIn;

beforeAll(async () => {
  server = await startServer();
  admin = await server.loginAdmin();
});
afterAll(() => server.close());

const CREATE = `mutation($input: CreatePermissionInput!) { createPermission(input: $input) { id key description } }`;
const UPDATE = `mutation($id: UUID!, $input: UpdatePermissionInput!) { updatePermission(id: $id, input: $input) { key description } }`;

describe("permissions", () => {
  it("lists the built-in catalog", async () => {
    const { data } = await server.gql(`{ permissions { key description } }`, {}, admin.accessToken);
    expect(data!.permissions.map((p: { key: string }) => p.key)).toEqual(
      expect.arrayContaining([...PERMISSION_CATALOG]),
    );
    expect(data!.permissions.every((p: { description: string }) => p.description.length > 0)).toBe(true);
  });

  it("creates, reads, updates and deletes an application permission", async () => {
    const created = await server.gql(
      CREATE,
      { input: { key: "invoices.read", description: "Read invoices" } },
      admin.accessToken,
    );
    const permission = created.data!.createPermission;
    expect(permission).toMatchObject({ key: "invoices.read", description: "Read invoices" });
    const read = await server.gql(
      `query($id: UUID!) { permission(id: $id) { key } }`,
      { id: permission.id },
      admin.accessToken,
    );
    expect(read.data!.permission.key).toBe("invoices.read");
    const updated = await server.gql(
      UPDATE,
      { id: permission.id, input: { key: "invoices.view", description: "View" } },
      admin.accessToken,
    );
    expect(updated.data!.updatePermission).toEqual({ key: "invoices.view", description: "View" });
    const deleted = await server.gql(
      `mutation($id: UUID!) { deletePermission(id: $id) }`,
      { id: permission.id },
      admin.accessToken,
    );
    expect(deleted.data!.deletePermission).toBe(true);
    expect(
      codeOf(
        await server.gql(`query($id: UUID!) { permission(id: $id) { key } }`, { id: permission.id }, admin.accessToken),
      ),
    ).toBe("NOT_FOUND");
  });

  it.each(["Invoices.Read", "invoices..read", "invoices.*.read", "*.read", "invoices read", "", "a".repeat(101)])(
    "rejects the key %j with BAD_USER_INPUT",
    async (key) => {
      const result = await server.gql(CREATE, { input: { key } }, admin.accessToken);
      expect(codeOf(result)).toBe("BAD_USER_INPUT");
      expect(result.errors![0]!.extensions!.fields).toEqual([expect.objectContaining({ path: "key" })]);
    },
  );

  it("rejects a duplicate key with CONFLICT", async () => {
    await server.gql(CREATE, { input: { key: "dup.read" } }, admin.accessToken);
    const again = await server.gql(CREATE, { input: { key: "dup.read" } }, admin.accessToken);
    expect(codeOf(again)).toBe("CONFLICT");
    expect(again.errors![0]!.extensions!.fields).toEqual(["key"]);
  });

  it("built-in permissions keep their key and cannot be deleted, but their description can change", async () => {
    const [usersRead] = await server.permissionIds(["users.read"]);
    const rename = await server.gql(UPDATE, { id: usersRead, input: { key: "users.view" } }, admin.accessToken);
    expect(codeOf(rename)).toBe("CONFLICT");
    expect(rename.errors![0]!.extensions!.reason).toBe(PERMISSION_CONFLICTS.SYSTEM_PERMISSION);
    const del = await server.gql(
      `mutation($id: UUID!) { deletePermission(id: $id) }`,
      { id: usersRead },
      admin.accessToken,
    );
    expect(del.errors![0]!.extensions!.reason).toBe(PERMISSION_CONFLICTS.SYSTEM_PERMISSION);
    const describe = await server.gql(
      UPDATE,
      { id: usersRead, input: { description: "See users" } },
      admin.accessToken,
    );
    expect(describe.data!.updatePermission.description).toBe("See users");
  });

  it("renaming a held permission into one the caller lacks is refused (no escalation by rename)", async () => {
    const editor = await server.signUp("editor");
    const created = await server.gql(CREATE, { input: { key: "widgets.read" } }, admin.accessToken);
    await server.grant(editor.id, ["permissions.update", "widgets.read"]);
    const escalate = await server.gql(
      UPDATE,
      { id: created.data!.createPermission.id, input: { key: "users.*" } },
      editor.accessToken,
    );
    expect(codeOf(escalate)).toBe("FORBIDDEN");
    expect(escalate.errors![0]!.extensions!.requiredPermission).toBe("users.*");
    expect((await server.gql(`{ can(permission: "users.read") }`, {}, editor.accessToken)).data!.can).toBe(false);
  });

  it("deleting a permission takes it away from every role on the next request", async () => {
    const user = await server.signUp("loses");
    const created = await server.gql(CREATE, { input: { key: "gadgets.read" } }, admin.accessToken);
    await server.grant(user.id, ["gadgets.read"]);
    expect((await server.gql(`{ can(permission: "gadgets.read") }`, {}, user.accessToken)).data!.can).toBe(true);
    await server.gql(
      `mutation($id: UUID!) { deletePermission(id: $id) }`,
      { id: created.data!.createPermission.id },
      admin.accessToken,
    );
    expect((await server.gql(`{ can(permission: "gadgets.read") myPermissions }`, {}, user.accessToken)).data).toEqual({
      can: false,
      myPermissions: [],
    });
  });
});

describe("myPermissions and can", () => {
  it("a new user holds nothing beyond their own profile", async () => {
    const user = await server.signUp("newcomer");
    const { data } = await server.gql(`{ myPermissions can(permission: "users.read") }`, {}, user.accessToken);
    expect(data).toEqual({ myPermissions: [], can: false });
  });

  it("the admin holds every permission", async () => {
    const { data } = await server.gql(`{ myPermissions }`, {}, admin.accessToken);
    expect(data!.myPermissions).toEqual(expect.arrayContaining([...PERMISSION_CATALOG]));
  });
});
