import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { codeOf, startServer, type TestServer } from "./support/server.js";

// Issue 17, "Refresh that survives two tabs, retries and flaky networks". The bug it guards against:
// a refresh token presented again within the grace period claimed its successor and issued yet another
// token (a chain, so the cookie a browser kept could be the one that no longer worked), and concurrent
// exchanges of one token mostly failed.

const REFRESH = `mutation($token: String!) { refreshToken(token: $token) { accessToken refreshToken } }`;
const ME = `{ me { id } }`;
/** Short, so that "after the window" costs a few seconds of waiting. */
const GRACE_SECONDS = 2;

const afterTheWindow = () => new Promise((resolve) => setTimeout(resolve, GRACE_SECONDS * 1000 + 500));

interface Pair {
  accessToken: string;
  refreshToken: string;
}

async function refreshed(server: TestServer, token: string): Promise<Pair> {
  const result = await server.gql<{ refreshToken: Pair }>(REFRESH, { token });
  expect(result.errors).toBeUndefined();
  return result.data!.refreshToken;
}

/** The `security.refresh_reuse` events about `userId` that reached the audit trail. */
async function reuseEvents(userId: string, ...servers: TestServer[]): Promise<number> {
  for (const server of servers) await server.app.auditDispatcher.drain();
  return servers[0]!.app.db.prisma.auditEvent.count({
    where: { action: "security.refresh_reuse", targetId: userId },
  });
}

describe("within the reuse grace period, over two instances", () => {
  let a: TestServer;
  let b: TestServer;
  beforeAll(async () => {
    const env = { KAFKEY_REFRESH_REUSE_GRACE_SECONDS: String(GRACE_SECONDS) };
    a = await startServer({ env });
    b = await startServer({ env, sharing: a });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  it("answers 10 concurrent exchanges of one token with one successor, and reuse after the window ends the session", async () => {
    // Two instances of one deployment need the shared PostgreSQL: PGlite would give each its own data.
    expect(a.database).toBe("postgres");
    const user = await a.signUp("two-tabs");
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        (i % 2 ? a : b).gql<{ refreshToken: Pair }>(REFRESH, { token: user.refreshToken }),
      ),
    );
    expect(results.map((r) => codeOf(r))).toEqual(Array(10).fill(undefined));
    const successors = new Set(results.map((r) => r.data!.refreshToken.refreshToken));
    expect(successors.size).toBe(1);
    const [successor] = [...successors] as [string];
    expect(successor).not.toBe(user.refreshToken);
    expect(successor).toMatch(/^[A-Za-z0-9_-]{43}$/);
    for (const r of results) expect((await a.gql(ME, {}, r.data!.refreshToken.accessToken)).data!.me.id).toBe(user.id);

    const prisma = a.app.db.prisma;
    expect(await prisma.session.count({ where: { userId: user.id } })).toBe(1);
    expect(await prisma.session.count({ where: { userId: user.id, revokedAt: null } })).toBe(1);
    // Not a chain of successors: the first token and the one it was exchanged for.
    expect(await prisma.refreshToken.count({ where: { userId: user.id } })).toBe(2);
    expect(await reuseEvents(user.id, a, b)).toBe(0);
    // Nothing about the tokens reaches the logs.
    expect([...a.logs, ...b.logs].some((l) => l.includes(successor) || l.includes(user.refreshToken))).toBe(false);

    await afterTheWindow();
    const next = await refreshed(b, successor);
    expect((await a.gql(ME, {}, next.accessToken)).data!.me.id).toBe(user.id);

    // The old token after the window is reuse: the session is over, for whoever holds which token.
    expect(codeOf(await a.gql(REFRESH, { token: user.refreshToken }))).toBe("UNAUTHENTICATED");
    expect(codeOf(await b.gql(ME, {}, next.accessToken))).toBe("UNAUTHENTICATED");
    expect(codeOf(await b.gql(REFRESH, { token: next.refreshToken }))).toBe("UNAUTHENTICATED");
    expect(await prisma.session.count({ where: { userId: user.id, revokedAt: null } })).toBe(0);
    expect(await reuseEvents(user.id, a, b)).toBe(1);
  });

  it("follows a chain rotated within the window to its newest token: whichever token a tab kept works", async () => {
    const user = await a.signUp("chain");
    const second = await refreshed(a, user.refreshToken);
    const third = await refreshed(b, second.refreshToken);
    expect(third.refreshToken).not.toBe(second.refreshToken);
    // The first and second token both answer the newest one, on either instance.
    expect((await refreshed(a, user.refreshToken)).refreshToken).toBe(third.refreshToken);
    expect((await refreshed(b, second.refreshToken)).refreshToken).toBe(third.refreshToken);
    expect(await a.app.db.prisma.refreshToken.count({ where: { userId: user.id } })).toBe(3);
    const fourth = await refreshed(a, third.refreshToken);
    expect((await b.gql(ME, {}, fourth.accessToken)).data!.me.id).toBe(user.id);
    expect(await reuseEvents(user.id, a, b)).toBe(0);

    await afterTheWindow();
    expect(codeOf(await b.gql(REFRESH, { token: second.refreshToken }))).toBe("UNAUTHENTICATED");
    expect(codeOf(await a.gql(ME, {}, fourth.accessToken))).toBe("UNAUTHENTICATED");
    expect(codeOf(await a.gql(REFRESH, { token: fourth.refreshToken }))).toBe("UNAUTHENTICATED");
    expect(await reuseEvents(user.id, a, b)).toBe(1);
  });

  it("answers nothing for a token of a session that ended within the window", async () => {
    const user = await a.signUp("ended");
    const next = await refreshed(a, user.refreshToken);
    await b.gql(`mutation { logout }`, {}, next.accessToken);
    expect(codeOf(await a.gql(REFRESH, { token: user.refreshToken }))).toBe("UNAUTHENTICATED");
    expect(codeOf(await b.gql(REFRESH, { token: next.refreshToken }))).toBe("UNAUTHENTICATED");
  });
});

describe("with no grace period (KAFKEY_REFRESH_REUSE_GRACE_SECONDS=0)", () => {
  let strict: TestServer;
  beforeAll(async () => {
    strict = await startServer({ env: { KAFKEY_REFRESH_REUSE_GRACE_SECONDS: "0" } });
  });
  afterAll(() => strict?.close());

  it("treats every second presentation as reuse, at once", async () => {
    const user = await strict.signUp("strict");
    const next = await refreshed(strict, user.refreshToken);
    expect(codeOf(await strict.gql(REFRESH, { token: user.refreshToken }))).toBe("UNAUTHENTICATED");
    expect(codeOf(await strict.gql(REFRESH, { token: next.refreshToken }))).toBe("UNAUTHENTICATED");
    expect(codeOf(await strict.gql(ME, {}, next.accessToken))).toBe("UNAUTHENTICATED");
    expect(await reuseEvents(user.id, strict)).toBe(1);
  });

  it("lets one of concurrent exchanges succeed, and the others end the session", async () => {
    const user = await strict.signUp("strict-race");
    const results = await Promise.all([1, 2, 3].map(() => strict.gql(REFRESH, { token: user.refreshToken })));
    expect(results.filter((r) => r.data?.refreshToken).length).toBe(1);
    expect(results.filter((r) => codeOf(r) === "UNAUTHENTICATED").length).toBe(2);
    expect(await strict.app.db.prisma.session.count({ where: { userId: user.id, revokedAt: null } })).toBe(0);
  });
});

describe("on embedded PGlite, with the default grace period", () => {
  let embedded: TestServer;
  beforeAll(async () => {
    embedded = await startServer({ database: "pglite" });
  });
  afterAll(() => embedded?.close());

  it("answers concurrent exchanges of one token with one successor", async () => {
    expect(embedded.database).toBe("pglite");
    const user = await embedded.signUp("embedded-tabs");
    const results = await Promise.all([1, 2, 3, 4].map(() => embedded.gql(REFRESH, { token: user.refreshToken })));
    expect(results.map((r) => codeOf(r))).toEqual(Array(4).fill(undefined));
    expect(new Set(results.map((r) => r.data!.refreshToken.refreshToken)).size).toBe(1);
    expect(await embedded.app.db.prisma.refreshToken.count({ where: { userId: user.id } })).toBe(2);
  });
});
