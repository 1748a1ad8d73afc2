import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { canStartRedis, RedisServers } from "./support/redis-topologies.js";
import { codeOf, PASSWORD, startServer, type TestServer } from "./support/server.js";

const ownServers = await canStartRedis();
if (!ownServers) console.warn("Skipping the wiped-Redis fault tests: redis-server and redis-cli are not installed.");

const ME = `{ me { id } }`;
const LOGIN = `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }`;

// Two instances on one PostgreSQL and a Redis of the test's own, which is then emptied as a restart
// without persistence (or a failover to an empty replica) would leave it.
describe.skipIf(!ownServers)("a Redis that comes back empty", () => {
  const servers = new RedisServers();
  let port: number;
  let a: TestServer;
  let b: TestServer;
  beforeAll(async () => {
    const redis = await servers.node();
    port = redis.port;
    const env = { REDIS_URL: redis.url, KAFKEY_LOCKOUT_THRESHOLD: "3" };
    a = await startServer({ env });
    b = await startServer({ env, sharing: a });
  }, 60_000);
  afterAll(async () => {
    await b?.close();
    await a?.close();
    await servers.stop();
  });

  // Regression: revocations lived only in Redis; after a wipe, all three tokens worked again on both instances.
  it("brings back no revoked access token: a logout, a revoked session, an admin's revocation", async () => {
    const [loggedOut, revoked, byAdmin] = [await a.signUp("out"), await a.signUp("revoked"), await a.signUp("admin")];
    const second = await a.login(revoked.email, PASSWORD);
    for (const user of [loggedOut, revoked, byAdmin]) {
      expect((await b.gql(ME, {}, user.accessToken)).data!.me.id).toBe(user.id); // B caches them live
    }
    await a.gql(`mutation { logout }`, {}, loggedOut.accessToken);
    // The second session ends the first one.
    const first = (
      JSON.parse(Buffer.from(revoked.accessToken.split(".")[1]!, "base64url").toString()) as { sid: string }
    ).sid;
    await a.gql(`mutation($id: UUID!) { revokeSession(id: $id) }`, { id: first }, second.accessToken);
    const admin = await a.loginAdmin();
    await a.gql(`mutation($id: UUID!) { revokeUserSessions(userId: $id) }`, { id: byAdmin.id }, admin.accessToken);

    await servers.wipe(port);
    for (const server of [a, b]) {
      for (const token of [loggedOut.accessToken, revoked.accessToken, byAdmin.accessToken]) {
        expect(codeOf(await server.gql(ME, {}, token))).toBe("UNAUTHENTICATED");
      }
      expect((await server.gql(ME, {}, second.accessToken)).data!.me.id).toBe(revoked.id);
    }
  });

  // Regression: the permission cache trusted an entry while Redis's version strings were equal, and a
  // missing version read as the same empty value an old entry carried: a removed role came back for 30 s.
  it("re-grants no removed role, on either instance", async () => {
    const user = await a.signUp("regrant");
    const roleId = await a.grant(user.id, ["roles.read"]);
    const admin = await a.loginAdmin();
    // Both instances cache the grant while the store holds no version at all.
    await servers.wipe(port);
    for (const server of [a, b])
      expect((await server.gql(`{ roles { id } }`, {}, user.accessToken)).errors).toBeUndefined();
    await a.gql(
      `mutation($u: UUID!, $r: UUID!) { removeRole(userId: $u, roleId: $r) { id } }`,
      { u: user.id, r: roleId },
      admin.accessToken,
    );
    await servers.wipe(port);
    for (const server of [a, b])
      expect(codeOf(await server.gql(`{ roles { id } }`, {}, user.accessToken))).toBe("FORBIDDEN");
  });

  it("keeps `me` free of statements while nothing changed, and after a wipe reloads once", async () => {
    const user = await a.signUp("cheap");
    await b.gql(ME, {}, user.accessToken);
    const before = b.statements.length;
    for (let i = 0; i < 3; i++) await b.gql(ME, {}, user.accessToken);
    expect(b.statements.length).toBe(before);
    await servers.wipe(port);
    await b.gql(ME, {}, user.accessToken);
    const reloaded = b.statements.length;
    expect(reloaded).toBeGreaterThan(before);
    await b.gql(ME, {}, user.accessToken);
    expect(b.statements.length).toBe(reloaded);
  });

  it("unlocks no locked account", async () => {
    const user = await a.signUp("locked");
    for (let i = 0; i < 3; i++) await a.gql(LOGIN, { e: user.email, p: "wrong password!!" });
    await servers.wipe(port);
    for (const server of [a, b])
      expect(codeOf(await server.gql(LOGIN, { e: user.email, p: PASSWORD }))).toBe("UNAUTHENTICATED");
  });
});
