import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { Redis } from "ioredis";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../src/app.js";
import { loadConfig } from "../src/config.js";
import { createScratchDatabase, postgresAvailable, type ScratchDatabase } from "./support/databases.js";
import { canStartRedis, RedisServers } from "./support/redis-topologies.js";
import { testEnv } from "./support/server.js";
import { until } from "./support/until.js";

const services = (await postgresAvailable()) && (await canStartRedis());
if (!services) console.warn("Skipping the failed start-up test: it needs PostgreSQL and redis-server.");

/** A port something else already listens on. */
async function takenPort(): Promise<{ port: number; release(): Promise<void> }> {
  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
  const { port } = blocker.address() as net.AddressInfo;
  return { port, release: () => new Promise((resolve) => blocker.close(() => resolve())) };
}

// Regression: the start-up failure path closed 3 of the 12 parts shutdown closes; a start that failed
// late left the error reporter, the mailer, the metrics, the listening connection and more open.
describe.skipIf(!services)("a start-up that fails late (its port already taken)", () => {
  const redisServers = new RedisServers();
  let scratch: ScratchDatabase;
  let redisUrl: string;
  let inspector: Redis;
  let admin: pg.Client;
  beforeAll(async () => {
    scratch = await createScratchDatabase();
    redisUrl = (await redisServers.node()).url;
    inspector = new Redis(redisUrl);
    admin = new pg.Client({ connectionString: scratch.url });
    await admin.connect();
  }, 60_000);
  afterAll(async () => {
    await admin?.end();
    inspector?.disconnect();
    await redisServers.stop();
    await scratch?.drop();
  });

  const kafkeyConnections = async () =>
    Number(
      (
        await admin.query(
          `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'kafkey%'`,
        )
      ).rows[0].count,
    );
  const redisClients = async () =>
    String(await inspector.call("CLIENT", "LIST"))
      .trim()
      .split("\n").length;

  it("leaves no database connection and no Redis client open", async () => {
    const [connectionsBefore, clientsBefore] = [await kafkeyConnections(), await redisClients()];
    const blocked = await takenPort();
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "kafkey-lifecycle-"));
    try {
      const config = loadConfig({
        ...testEnv(dataDir),
        PORT: String(blocked.port),
        DATABASE_URL: scratch.url,
        REDIS_URL: redisUrl,
        LOG_LEVEL: "silent",
      });
      const app = await createApp(config);
      // Open while it starts: the pool, its revocation listener, the Redis clients of store and events.
      expect(await kafkeyConnections()).toBeGreaterThan(connectionsBefore);
      expect(await redisClients()).toBeGreaterThan(clientsBefore);
      await expect(app.listen()).rejects.toMatchObject({ code: "EADDRINUSE" });

      let [connections, clients] = [-1, -1];
      await until(
        () => connections === connectionsBefore && clients === clientsBefore,
        async () => {
          [connections, clients] = [await kafkeyConnections(), await redisClients()];
        },
      ).catch(() => undefined);
      expect({ connections, clients }).toEqual({ connections: connectionsBefore, clients: clientsBefore });
    } finally {
      await blocked.release();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
