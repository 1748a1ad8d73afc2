import { randomBytes } from "node:crypto";
import pg from "pg";

/** Where the PostgreSQL tests create their databases. */
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";
const REQUIRE_SERVICES = process.env.KAFKEY_TEST_REQUIRE_SERVICES === "1";

let reachable: Promise<boolean> | undefined;

async function probe(): Promise<boolean> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query("SELECT 1");
    return true;
  } catch (error) {
    if (REQUIRE_SERVICES) {
      throw new Error(`KAFKEY_TEST_REQUIRE_SERVICES=1 but PostgreSQL at ${TEST_DATABASE_URL} is unreachable: ${error}`);
    }
    console.warn(`PostgreSQL at ${TEST_DATABASE_URL} is unreachable (${error}); falling back to embedded PGlite.`);
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Whether the real PostgreSQL is there; with KAFKEY_TEST_REQUIRE_SERVICES=1 its absence fails the run. */
export function postgresAvailable(): Promise<boolean> {
  return (reachable ??= probe());
}

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export interface ScratchDatabase {
  url: string;
  drop(): Promise<void>;
}

/** A new, empty PostgreSQL database for one test file, dropped afterwards. */
export async function createScratchDatabase(): Promise<ScratchDatabase> {
  const name = `kafkey_test_${randomBytes(6).toString("hex")}`;
  await admin((c) => c.query(`CREATE DATABASE "${name}"`));
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => admin((c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)).then(() => undefined),
  };
}
