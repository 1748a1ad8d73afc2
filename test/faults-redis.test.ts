import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChildServer } from "./support/child-server.js";
import { createScratchDatabase, postgresAvailable, type ScratchDatabase } from "./support/databases.js";
import { canStartRedis, RedisServers } from "./support/redis-topologies.js";
import { ADMIN, codeOf, PASSWORD } from "./support/server.js";

const ownServers = await canStartRedis();
if (!ownServers) console.warn("Skipping the Redis outage tests: redis-server and redis-cli are not installed.");

const ME = `{ me { id } }`;
const LOGIN = `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }`;
const SIGN_UP = `mutation($input: SignUpInput!) { signUp(input: $input) { accessToken } }`;
/** Far beyond the ~1 s a call to a dead Redis may take: a request still unanswered by then hangs. */
const NO_HANG_MS = 8_000;

// Kafkey as a child process on a Redis of the test's own, which is then killed and started again.
describe.skipIf(!ownServers)("a Redis outage", () => {
  const servers = new RedisServers();
  let port: number;
  let scratch: ScratchDatabase | undefined;
  let kafkey: ChildServer;
  beforeAll(async () => {
    const redis = await servers.node();
    port = redis.port;
    scratch = (await postgresAvailable()) ? await createScratchDatabase() : undefined;
    kafkey = await ChildServer.start({
      REDIS_URL: redis.url,
      DATABASE_URL: scratch?.url ?? "",
      KAFKEY_AUTH_RATE_LIMIT_MAX: "1000",
      KAFKEY_LOCKOUT_IP_THRESHOLD: "1000",
    });
  }, 90_000);
  afterAll(async () => {
    await kafkey?.stop();
    await servers.stop();
    await scratch?.drop();
  });

  // Regression: ioredis queued every command while Redis was away (offline queue, no commandTimeout):
  // requests hung for the whole outage, and its errors were stack traces on stderr, not log lines.
  it("answers every request while Redis is down, refuses sign-in, and recovers once it is back", async () => {
    const admin = await kafkey.gql<{ login: { accessToken: string } }>(LOGIN, { e: ADMIN.email, p: ADMIN.password });
    const token = admin.data!.login.accessToken;
    const adminId = (await kafkey.gql(ME, {}, token)).data!.me.id;

    await servers.crash(port);
    for (let i = 0; i < 5; i++) {
      // Sign-in counters fail closed: without them a password could be guessed without limit.
      const login = await kafkey.gql(LOGIN, { e: ADMIN.email, p: ADMIN.password }, undefined, NO_HANG_MS);
      expect(codeOf(login)).toBe("SERVICE_UNAVAILABLE");
      expect(login.errors![0]!.extensions!.requestId).toBeTruthy();
      const signUp = await kafkey.gql(
        SIGN_UP,
        { input: { email: `down-${i}@example.com`, password: PASSWORD, displayName: "down" } },
        undefined,
        NO_HANG_MS,
      );
      expect(codeOf(signUp)).toBe("SERVICE_UNAVAILABLE");
      // Degraded, not refused: the database decides revocation and grants.
      expect((await kafkey.gql(ME, {}, token, NO_HANG_MS)).data!.me.id).toBe(adminId);
      expect((await kafkey.gql(`{ roles { id } }`, {}, token, NO_HANG_MS)).errors).toBeUndefined();
    }
    const ready = await fetch(`${kafkey.url}/health/ready`, { signal: AbortSignal.timeout(NO_HANG_MS) });
    expect(ready.status).toBe(503);
    expect(kafkey.alive).toBe(true);
    // The outage is a structured line and a metric, not ioredis's stack traces on stderr.
    expect(kafkey.stderr).not.toContain("Unhandled error event");
    expect(kafkey.logs.some((line) => line.event === "kv.circuit_open")).toBe(true);
    const metrics = await (await fetch(`${kafkey.url}/metrics`, { signal: AbortSignal.timeout(NO_HANG_MS) })).text();
    expect(metrics).toMatch(/^kafkey_kv_available(\{[^}]*\})? 0$/m);

    await servers.restart(port);
    await kafkey.until(async () => (await kafkey.gql(LOGIN, { e: ADMIN.email, p: ADMIN.password })).data != null);
    await kafkey.until(async () => (await fetch(`${kafkey.url}/health/ready`)).status === 200);
    expect((await kafkey.gql(ME, {}, token)).data!.me.id).toBe(adminId);
    expect(kafkey.logs.some((line) => line.event === "kv.circuit_closed")).toBe(true);
  });
});
