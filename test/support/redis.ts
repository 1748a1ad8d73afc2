import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";

/** The Redis the tests use; each test server gets its own key prefix in it. */
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
const REQUIRE_SERVICES = process.env.KAFKEY_TEST_REQUIRE_SERVICES === "1";

let reachable: Promise<boolean> | undefined;

async function probe(): Promise<boolean> {
  const client = new Redis(TEST_REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 3000 });
  client.on("error", () => undefined);
  try {
    await client.connect();
    await client.ping();
    return true;
  } catch (error) {
    if (REQUIRE_SERVICES) {
      throw new Error(`KAFKEY_TEST_REQUIRE_SERVICES=1 but Redis at ${TEST_REDIS_URL} is unreachable: ${error}`);
    }
    console.warn(`Redis at ${TEST_REDIS_URL} is unreachable (${error}); using the in-process store instead.`);
    return false;
  } finally {
    client.disconnect();
  }
}

/** Whether the real Redis is there; with KAFKEY_TEST_REQUIRE_SERVICES=1 its absence fails the run. */
export function redisAvailable(): Promise<boolean> {
  return (reachable ??= probe());
}

/** A key prefix no other test uses. */
export function uniquePrefix(): string {
  return `kafkey-test:${randomBytes(6).toString("hex")}:`;
}
