import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KeyValueStore } from "../src/platform/kv/kv.js";
import { MemoryStore } from "../src/platform/kv/memory.js";
import { RedisStore } from "../src/platform/kv/redis.js";
import { redisAvailable, TEST_REDIS_URL, uniquePrefix } from "./support/redis.js";
import { canStartRedis, RedisServers } from "./support/redis-topologies.js";

const withRedis = await redisAvailable();
if (!withRedis) console.warn("Skipping the Redis store's tests: Redis is unreachable.");
const ownServers = await canStartRedis();
if (!ownServers) console.warn("Skipping the Sentinel and Cluster tests: redis-server and redis-cli are not installed.");

const NODE = { kind: "node", url: TEST_REDIS_URL } as const;
// Servers of this file's own: a master behind a Sentinel, and a three-node Cluster.
const servers = new RedisServers();
afterAll(() => servers.stop());

const stores: [string, () => Promise<KeyValueStore>, boolean][] = [
  ["the in-process store", async () => new MemoryStore(), true],
  ["the Redis store", async () => new RedisStore({ topology: NODE, prefix: uniquePrefix() }), withRedis],
  [
    "the Redis store through Sentinel",
    async () =>
      new RedisStore({
        topology: { kind: "sentinel", sentinels: await servers.sentinel("kafkey-test"), master: "kafkey-test" },
        prefix: uniquePrefix(),
      }),
    ownServers,
  ],
  [
    "the Redis store on a Cluster",
    async () =>
      new RedisStore({ topology: { kind: "cluster", nodes: await servers.cluster() }, prefix: uniquePrefix() }),
    ownServers,
  ],
];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.each(stores)("%s", (_name, open, available) => {
  let kv: KeyValueStore;
  beforeAll(async () => {
    if (available) kv = await open();
  }, 30_000);
  afterAll(() => kv?.close());

  it.skipIf(!available)("sets, gets and deletes values, and forgets them when they expire", async () => {
    await kv.set("a", "1");
    await kv.set("b", "2", 50);
    expect(await kv.getMany(["a", "b", "missing"])).toEqual(["1", "2", null]);
    expect(await kv.ttl("a")).toBeNull();
    expect(await kv.ttl("b")).toBeGreaterThan(0);
    await sleep(80);
    expect(await kv.get("b")).toBeNull();
    await kv.delete("a");
    expect(await kv.get("a")).toBeNull();
  });

  it.skipIf(!available)("sets only when absent, and a value can be taken only once", async () => {
    expect(await kv.setIfAbsent("once", "first", 10_000)).toBe(true);
    expect(await kv.setIfAbsent("once", "second", 10_000)).toBe(false);
    const taken = await Promise.all([kv.take("once"), kv.take("once"), kv.take("once")]);
    expect(taken.filter((v) => v !== null)).toEqual(["first"]);
  });

  it.skipIf(!available)("counts atomically, the first increment starting the window", async () => {
    const counts = await Promise.all(Array.from({ length: 20 }, () => kv.increment("counter", 200)));
    expect(counts.map((c) => c.count).sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(counts.every((c) => c.ttlMs > 0 && c.ttlMs <= 200)).toBe(true);
    await sleep(250);
    expect((await kv.increment("counter", 200)).count).toBe(1);
  });

  it.skipIf(!available)("adds more than one at a time when asked", async () => {
    expect((await kv.increment("points", 10_000, 40)).count).toBe(40);
    const next = await kv.increment("points", 10_000, 2);
    expect(next.count).toBe(42);
    expect(next.ttlMs).toBeGreaterThan(9000);
  });

  it.skipIf(!available)("delivers published messages to subscribers until they unsubscribe", async () => {
    const received: string[] = [];
    const stop = await kv.subscribe("news", (m) => received.push(m));
    await kv.publish("news", "hello");
    await sleep(50);
    await stop();
    await kv.publish("news", "ignored");
    await sleep(50);
    expect(received).toEqual(["hello"]);
  });
});

describe.skipIf(!withRedis)("two Redis stores with one prefix", () => {
  it("share their keys and their channels, as two instances of Kafkey do", async () => {
    const prefix = uniquePrefix();
    const [a, b] = [new RedisStore({ topology: NODE, prefix }), new RedisStore({ topology: NODE, prefix })];
    const other = new RedisStore({ topology: NODE, prefix: uniquePrefix() });
    try {
      await a.set("shared", "yes");
      expect(await b.get("shared")).toBe("yes");
      expect(await other.get("shared")).toBeNull();
      const received: string[] = [];
      await b.subscribe("bus", (m) => received.push(m));
      await a.publish("bus", "from a");
      await sleep(100);
      expect(received).toEqual(["from a"]);
    } finally {
      await Promise.all([a.close(), b.close(), other.close()]);
    }
  });
});
