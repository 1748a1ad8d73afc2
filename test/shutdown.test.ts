import pg from "pg";
import { describe, expect, it } from "vitest";
import { postgresAvailable } from "./support/databases.js";
import { startServer } from "./support/server.js";

// The write is held up by a row lock taken from outside: that needs PostgreSQL.
const postgres = await postgresAvailable();
if (!postgres) console.warn("Skipping the shutdown test: it needs PostgreSQL, which is unreachable.");

describe.skipIf(!postgres)("shutting down", () => {
  // An operation whose client has gone stops at its next statement (its request's deadline: nothing
  // commits unseen); the shutdown waits for that, so it ends whole, never cut off half-way by the
  // database closing under it.
  it("lets an operation whose client has gone end whole before the database closes", async () => {
    const server = await startServer({ database: "postgres" });
    const sql = new pg.Client({ connectionString: server.databaseUrl });
    await sql.connect();
    try {
      const admin = await server.loginAdmin();
      const user = await server.signUp("leaving");
      // Another session holds the user's row: updateUser will wait for it.
      await sql.query("BEGIN");
      await sql.query(`SELECT 1 FROM "users" WHERE "id" = $1 FOR UPDATE`, [user.id]);
      const client = new AbortController();
      const request = fetch(`${server.url}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${admin.accessToken}` },
        body: JSON.stringify({
          query: `mutation($id: UUID!) { updateUser(id: $id, input: { displayName: "Finished" }) { id } }`,
          variables: { id: user.id },
        }),
        signal: client.signal,
      }).catch(() => "aborted");
      await expect
        .poll(async () => (await sql.query(`SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock'`)).rowCount)
        .toBeGreaterThan(0);
      client.abort();
      expect(await request).toBe("aborted");

      const closed = server.app.close();
      await new Promise((resolve) => setTimeout(resolve, 300));
      await sql.query("COMMIT"); // the operation goes on to its next statement, and the shutdown waited for it
      await closed;

      const row = await sql.query(`SELECT "display_name" FROM "users" WHERE "id" = $1`, [user.id]);
      expect(row.rows[0].display_name).toBe("leaving"); // rolled back whole: its client saw nothing
      const lines = server.logs.map((line) => JSON.parse(line) as { event?: string; message: string });
      expect(lines.some((line) => line.event === "request.abandoned")).toBe(true);
      expect(lines.filter((line) => line.message === "unexpected error")).toEqual([]);
    } finally {
      await sql.end();
      await server.close();
    }
  });
});
