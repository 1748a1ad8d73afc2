import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { codeOf, PASSWORD, startServer, type TestServer } from "./support/server.js";

const LOGIN = `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }`;

/**
 * Holds the lock a login's first statement needs (its account's lock row is read first) for `ms`:
 * a database that answers slowly, as under a long migration or a lock held by a stuck transaction.
 */
async function stall(server: TestServer, ms: number): Promise<{ released: Promise<void> }> {
  const client = new pg.Client({ connectionString: server.databaseUrl });
  await client.connect();
  await client.query("BEGIN");
  await client.query(`LOCK TABLE "account_locks" IN ACCESS EXCLUSIVE MODE`);
  const released = new Promise<void>((resolve) => setTimeout(resolve, ms)).then(async () => {
    await client.query("COMMIT");
    await client.end();
  });
  return { released };
}

const sessionsOf = async (server: TestServer, userId: string) =>
  server.app.db.prisma.session.count({ where: { userId } });

// Regression: a request had no deadline of its own; a login held up for two minutes finished on the
// server long after its client had given up, creating a session nobody ever saw.
describe("a request's own deadline", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ database: "postgres", env: { KAFKEY_REQUEST_TIMEOUT_MS: "1000" } });
    if (server.database !== "postgres") throw new Error("these tests hold a PostgreSQL lock");
  });
  afterAll(() => server?.close());

  it("stops a login held up past it: SERVICE_UNAVAILABLE, and no session is made", async () => {
    const user = await server.signUp("late");
    const before = await sessionsOf(server, user.id);
    const { released } = await stall(server, 2_000);
    const result = await server.gql(LOGIN, { e: user.email, p: PASSWORD });
    await released;
    expect(codeOf(result)).toBe("SERVICE_UNAVAILABLE");
    expect(await sessionsOf(server, user.id)).toBe(before);
    // Nothing was left broken: the next login, on time, works.
    expect((await server.gql(LOGIN, { e: user.email, p: PASSWORD })).data!.login.accessToken).toBeTruthy();
  });

  it("stops a login whose client has gone, before its deadline", async () => {
    const patient = await startServer({ sharing: server, env: { KAFKEY_REQUEST_TIMEOUT_MS: "60000" } });
    try {
      const user = await patient.signUp("gone");
      const before = await sessionsOf(patient, user.id);
      const { released } = await stall(patient, 1_500);
      const abort = new AbortController();
      const sent = fetch(`${patient.url}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ query: LOGIN, variables: { e: user.email, p: PASSWORD } }),
        signal: abort.signal,
      }).catch(() => "gave up");
      setTimeout(() => abort.abort(), 300);
      expect(await sent).toBe("gave up");
      await released;
      // The login had all it needed once the lock went: had it gone on, its session would be there by now.
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(await sessionsOf(patient, user.id)).toBe(before);
      const stopped = patient.logs.map((l) => JSON.parse(l)).find((l) => l.event === "request.abandoned");
      expect(stopped?.reason).toBe("the client went before its answer");
    } finally {
      await patient.close();
    }
  });
});
