import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChildServer } from "./support/child-server.js";
import { canStartPostgres, PostgresCluster } from "./support/postgres-cluster.js";
import { ADMIN, codeOf } from "./support/server.js";

const ownCluster = await canStartPostgres();
if (!ownCluster) console.warn("Skipping the PostgreSQL crash test: initdb and pg_ctl are not installed.");

const ME = `{ me { id } }`;
const LOGIN = `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }`;

// A cluster of the test's own, crashed under load the way `pg_ctl stop -m immediate` does; Kafkey runs
// as a child process, so that an unhandled error ends it and not the test.
describe.skipIf(!ownCluster)("a PostgreSQL crash under load", () => {
  let cluster: PostgresCluster;
  let kafkey: ChildServer;
  beforeAll(async () => {
    cluster = await PostgresCluster.create();
    kafkey = await ChildServer.start({
      DATABASE_URL: cluster.url,
      DATABASE_CONNECT_TIMEOUT_MS: "2000",
      // Polled often, so that the dispatcher holds a connection when the crash comes.
      KAFKEY_AUDIT_DISPATCH_INTERVAL_MS: "20",
      REDIS_URL: "",
      // The load signs in with a wrong password all the time: no limit may answer it first.
      KAFKEY_AUTH_RATE_LIMIT_MAX: "100000",
      KAFKEY_HTTP_RATE_LIMIT_MAX: "100000",
      KAFKEY_LOCKOUT_THRESHOLD: "100000",
      KAFKEY_LOCKOUT_IP_THRESHOLD: "100000",
    });
  }, 90_000);
  afterAll(async () => {
    await kafkey?.stop();
    await cluster?.destroy();
  });

  // Regression: a pool client held by withSession (audit dispatcher, health probe) had no 'error'
  // listener; the crash's "Connection terminated unexpectedly" ended 3 of 4 instances for good.
  it("keeps serving: coded errors during the outage, 503 when ready is asked, and all well once it is back", async () => {
    const login = await kafkey.gql<{ login: { accessToken: string } }>(LOGIN, { e: ADMIN.email, p: ADMIN.password });
    const token = login.data!.login.accessToken;
    expect((await kafkey.gql(ME, {}, token)).data!.me.id).toBeTruthy();

    // Load that holds connections all the time: queries, readiness probes (withSession) and sign-ins.
    let loading = true;
    const answers: { code: string | undefined; requestId: unknown; data: boolean }[] = [];
    const load = Array.from({ length: 6 }, async (_, i) => {
      while (loading) {
        if (i === 0) await fetch(`${kafkey.url}/health/ready`).catch(() => undefined);
        try {
          const result = await (i === 1
            ? kafkey.gql(LOGIN, { e: ADMIN.email, p: "a wrong password" })
            : kafkey.gql(ME, {}, token));
          const error = result.errors?.[0];
          answers.push({ code: codeOf(result), requestId: error?.extensions?.requestId, data: !error });
        } catch {
          answers.push({ code: "NO_ANSWER", requestId: undefined, data: false });
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
    });
    try {
      await kafkey.until(async () => answers.length > 20);
      await cluster.crash();

      const before = answers.length;
      await kafkey.until(async () => (await fetch(`${kafkey.url}/health/ready`)).status === 503);
      await kafkey.until(async () => answers.slice(before).filter((a) => !a.data).length >= 10);
      expect(kafkey.alive).toBe(true);
      // Every failed answer of the outage is coded, with the request id to find it in the logs.
      for (const answer of answers.slice(before).filter((a) => !a.data)) {
        expect(["SERVICE_UNAVAILABLE", "INTERNAL_SERVER_ERROR", "UNAUTHENTICATED"]).toContain(answer.code);
        expect(answer.requestId).toBeTruthy();
      }

      await cluster.start();
      await kafkey.until(async () => (await kafkey.gql(ME, {}, token)).data?.me?.id !== undefined);
      await kafkey.until(async () => (await fetch(`${kafkey.url}/health/ready`)).status === 200);
    } finally {
      loading = false;
      await Promise.all(load);
    }
    expect(kafkey.alive).toBe(true);
    expect(kafkey.stderr).not.toContain("Unhandled 'error' event");
    // Every connection has its listener: the process guard (main.ts) had nothing to catch.
    expect(kafkey.logs.filter((line) => line.event === "process.unexpected_error")).toEqual([]);
    // Every connection has its listener: the process guard (main.ts) had nothing to catch.
    expect(kafkey.logs.filter((line) => line.event === "process.unexpected_error")).toEqual([]);
  });
});
