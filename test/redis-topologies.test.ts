import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { codeOf, startServer, type TestServer } from "./support/server.js";
import { canStartRedis, RedisServers } from "./support/redis-topologies.js";

const ownServers = await canStartRedis();
if (!ownServers)
  console.warn("Skipping the Sentinel and Cluster deployments: redis-server and redis-cli are not installed.");

const hostPorts = (list: { host: string; port: number }[]) => list.map(({ host, port }) => `${host}:${port}`).join(",");

describe.skipIf(!ownServers).each([
  ["a Redis Cluster", async (servers: RedisServers) => ({ REDIS_CLUSTER_NODES: hostPorts(await servers.cluster()) })],
  [
    "Redis through Sentinel",
    async (servers: RedisServers) => ({
      REDIS_SENTINELS: hostPorts(await servers.sentinel("kafkey")),
      REDIS_SENTINEL_MASTER: "kafkey",
    }),
  ],
])("two instances sharing %s", (_name, topology) => {
  const servers = new RedisServers();
  let a: TestServer;
  let b: TestServer;
  beforeAll(async () => {
    const env = { REDIS_URL: "", ...(await topology(servers)) };
    a = await startServer({ env });
    b = await startServer({ env, sharing: a });
  }, 60_000);
  afterAll(async () => {
    await b?.close();
    await a?.close();
    await servers.stop();
  });

  it("honour a sign-out and a permission change made on the other at once", async () => {
    const user = await a.signUp("topology");
    expect((await b.gql(`{ me { id } }`, {}, user.accessToken)).data!.me.id).toBe(user.id);
    expect(codeOf(await b.gql(`{ roles { id } }`, {}, user.accessToken))).toBe("FORBIDDEN");
    await a.grant(user.id, ["roles.read"]);
    expect((await b.gql(`{ roles { id } }`, {}, user.accessToken)).errors).toBeUndefined();
    await a.gql(`mutation { logout }`, {}, user.accessToken);
    expect(codeOf(await b.gql(`{ me { id } }`, {}, user.accessToken))).toBe("UNAUTHENTICATED");
  });
});
