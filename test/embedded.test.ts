import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { USER_CONFLICTS } from "../src/modules/users/user.errors.js";
import { createApp } from "../src/app.js";
import { loadConfig } from "../src/config.js";
import { createLogger } from "../src/platform/observability/logger.js";
import { codeOf, readJson, startServer, type TestServer } from "./support/server.js";

describe("on embedded PGlite, the first session of a new admin", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ database: "pglite" });
  });
  afterAll(() => server.close());

  it("creates a role with permissions, assigns it, and the user gains exactly those, then loses them", async () => {
    expect(server.database).toBe("pglite");
    const admin = await server.loginAdmin();
    const users = await server.gql(`{ users { items { email } pageInfo { totalItems } } }`, {}, admin.accessToken);
    expect(users.data!.users.items.map((u: { email: string }) => u.email)).toContain(admin.email);

    const member = await server.signUp("member");
    const ids = await server.permissionIds(["users.read", "roles.read"]);
    const role = await server.gql(
      `mutation($ids: [UUID!]!) { createRole(input: { name: "auditor", permissionIds: $ids }) { id } }`,
      { ids },
      admin.accessToken,
    );
    const roleId = role.data!.createRole.id;
    await server.gql(
      `mutation($u: UUID!, $r: UUID!) { assignRole(userId: $u, roleId: $r) { id } }`,
      { u: member.id, r: roleId },
      admin.accessToken,
    );
    const gained = await server.gql(`{ myPermissions }`, {}, member.accessToken);
    expect(gained.data!.myPermissions).toEqual(["roles.read", "users.read"]);
    const READ = `query($id: UUID!) { user(id: $id) { id } }`;
    expect((await server.gql(READ, { id: admin.id }, member.accessToken)).errors).toBeUndefined();

    await server.gql(
      `mutation($u: UUID!, $r: UUID!) { removeRole(userId: $u, roleId: $r) { id } }`,
      { u: member.id, r: roleId },
      admin.accessToken,
    );
    expect((await server.gql(`{ myPermissions }`, {}, member.accessToken)).data!.myPermissions).toEqual([]);
    expect(codeOf(await server.gql(READ, { id: admin.id }, member.accessToken))).toBe("FORBIDDEN");
  });

  it("rotates refresh tokens and enforces the last-admin rule", async () => {
    const admin = await server.loginAdmin();
    const refreshed = await server.gql(`mutation($t: String!) { refreshToken(token: $t) { refreshToken } }`, {
      t: admin.refreshToken,
    });
    expect(refreshed.errors).toBeUndefined();
    const again = await server.gql(`mutation($t: String!) { refreshToken(token: $t) { refreshToken } }`, {
      t: admin.refreshToken,
    });
    // Presented again within the grace period (two tabs, a retry), it answers the same successor.
    expect(again.data!.refreshToken.refreshToken).toBe(refreshed.data!.refreshToken.refreshToken);
    const fresh = await server.loginAdmin();
    const del = await server.gql(`mutation($id: UUID!) { deleteUser(id: $id) }`, { id: admin.id }, fresh.accessToken);
    expect(del.errors![0]!.extensions!.reason).toBe(USER_CONFLICTS.LAST_ADMIN);
  });
});

describe("a bare start with no database and no admin configured", () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "kafkey-bare-"));
  const config = loadConfig({
    NODE_ENV: "development",
    PORT: "0",
    LOG_LEVEL: "silent",
    KAFKEY_DATA_DIR: dataDir,
    KAFKEY_ARGON2_MEMORY_KIB: "1024",
    KAFKEY_ARGON2_TIME_COST: "1",
  });
  afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  async function login(url: string, email: string, password: string) {
    const response = await fetch(`${url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        query: `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }`,
        variables: { e: email, p: password },
      }),
    });
    return (await response.json()) as { data?: { login: { accessToken: string } }; errors?: unknown[] };
  }

  it("persists a database and the encryption key (which seals the signing keys) under the data dir and creates one admin with a generated password", async () => {
    const first = await createApp(config, { log: createLogger("silent") });
    const created = first.createdAdmin!;
    expect(created.email).toBe("admin@kafkey.local");
    expect(created.generatedPassword!.length).toBeGreaterThanOrEqual(20);
    const url = await first.listen();
    const session = await login(url, created.email, created.generatedPassword!);
    expect(session.data!.login.accessToken).toBeTruthy();
    await first.close();
    expect(fs.existsSync(path.join(dataDir, "encryption-key"))).toBe(true);
    expect(fs.statSync(path.join(dataDir, "encryption-key")).mode & 0o077).toBe(0);

    const second = await createApp(config, { log: createLogger("silent") });
    try {
      expect(second.createdAdmin).toBeUndefined();
      const url2 = await second.listen();
      // Same secret and same data: the token from the first run still works, and so does the password.
      const me = await fetch(`${url2}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${session.data!.login.accessToken}` },
        body: JSON.stringify({ query: "{ me { email } }" }),
      });
      expect((await readJson(me)).data.me.email).toBe("admin@kafkey.local");
      expect((await login(url2, created.email, created.generatedPassword!)).data).toBeTruthy();
    } finally {
      await second.close();
    }
  });
});
