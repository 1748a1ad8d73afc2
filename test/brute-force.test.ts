import { keyDigest } from "../src/platform/kv/kv.js";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { codeOf, PASSWORD, readJson, startServer, type TestServer } from "./support/server.js";
import { TEST_REDIS_URL } from "./support/redis.js";

const LOGIN = `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }`;
const accountKey = keyDigest;

describe("account lockout", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ env: { KAFKEY_LOCKOUT_THRESHOLD: "3", KAFKEY_LOCKOUT_SECONDS: "60" } });
  });
  afterAll(() => server.close());

  it("locks an account at the threshold; a locked login looks exactly like a wrong password", async () => {
    const user = await server.signUp("locked");
    const wrong = [];
    for (let i = 0; i < 3; i++) wrong.push(await server.gql(LOGIN, { e: user.email, p: "wrong password!!" }));
    const locked = await server.gql(LOGIN, { e: user.email, p: PASSWORD });
    expect(codeOf(locked)).toBe("UNAUTHENTICATED");
    expect(locked.errors![0]!.message).toBe(wrong[0]!.errors![0]!.message);
    const event = server.logs.map((l) => JSON.parse(l)).find((l) => l.event === "security.account_locked");
    expect(event).toMatchObject({ level: "warn", account: accountKey(user.email), lockSeconds: 60 });
    expect(JSON.stringify(event)).not.toContain(user.email);
  });

  it("unlockUser (users.update) lifts the lock; a plain user may not", async () => {
    const user = await server.signUp("unlock");
    for (let i = 0; i < 3; i++) await server.gql(LOGIN, { e: user.email, p: "wrong password!!" });
    const other = await server.signUp("other");
    const denied = await server.gql(`mutation($id: UUID!) { unlockUser(id: $id) }`, { id: user.id }, other.accessToken);
    expect(codeOf(denied)).toBe("FORBIDDEN");
    const admin = await server.loginAdmin();
    const unlocked = await server.gql(
      `mutation($id: UUID!) { unlockUser(id: $id) }`,
      { id: user.id },
      admin.accessToken,
    );
    expect(unlocked.data!.unlockUser).toBe(true);
    expect((await server.gql(LOGIN, { e: user.email, p: PASSWORD })).data!.login.accessToken).toBeTruthy();
  });

  it("doubles the lock each time the account is locked again within a day", async () => {
    const user = await server.signUp("repeat");
    const account = accountKey(user.email);
    const lockSeconds = () =>
      server.logs
        .map((l) => JSON.parse(l))
        .filter((l) => l.event === "security.account_locked" && l.account === account)
        .map((l) => l.lockSeconds);
    for (let i = 0; i < 3; i++) await server.gql(LOGIN, { e: user.email, p: "wrong password!!" });
    // The first lock ran out, and the count of its window before it.
    await server.app.db.prisma.accountLock.update({ where: { account }, data: { lockedUntil: new Date() } });
    await server.app.kv.delete(`lockout:failures:account:${account}`);
    for (let i = 0; i < 3; i++) await server.gql(LOGIN, { e: user.email, p: "wrong password!!" });
    expect(lockSeconds()).toEqual([60, 120]);
    const lock = await server.app.db.prisma.accountLock.findUniqueOrThrow({ where: { account } });
    expect(lock.lockedUntil.getTime() - Date.now()).toBeGreaterThan(115_000);
  });

  it("counts unknown emails the same way, so locking reveals no account", async () => {
    for (let i = 0; i < 3; i++) await server.gql(LOGIN, { e: "ghost@example.com", p: "wrong password!!" });
    const lock = await server.app.db.prisma.accountLock.findUnique({
      where: { account: accountKey("ghost@example.com") },
    });
    expect(lock?.lockedUntil.getTime()).toBeGreaterThan(Date.now());
  });

  // Regression: failures were counted after the password check, so a burst sent at once got every
  // guess checked (and the right one could win past the threshold) and escalated the lock once per
  // failure (900 s up to 57,600 s in a third of a second).
  it("checks no more guesses than the threshold in a parallel burst, and locks once", async () => {
    const user = await server.signUp("burst");
    const account = accountKey(user.email);
    const burst = await Promise.all(
      Array.from({ length: 20 }, () => server.gql(LOGIN, { e: user.email, p: "wrong password!!" })),
    );
    expect(burst.every((r) => codeOf(r) === "UNAUTHENTICATED")).toBe(true);
    const lines = server.logs.map((l) => JSON.parse(l));
    const checked = lines.filter((l) => l.event === "auth.login_failed" && l.email === user.email);
    expect(checked.length).toBe(3);
    const locks = lines.filter((l) => l.event === "security.account_locked" && l.account === account);
    expect(locks.map((l) => l.lockSeconds)).toEqual([60]);
  });

  it("lets the right password in a parallel burst win only before the threshold's failures", async () => {
    const user = await server.signUp("burst-right");
    const burst = await Promise.all([
      ...Array.from({ length: 9 }, () => server.gql(LOGIN, { e: user.email, p: "wrong password!!" })),
      server.gql(LOGIN, { e: user.email, p: PASSWORD }),
    ]);
    const lines = server.logs.map((l) => JSON.parse(l));
    const mine = lines.filter(
      (l) =>
        (l.event === "auth.login_failed" && l.email === user.email) ||
        (l.event === "auth.login" && l.userId === user.id),
    );
    const success = mine.findIndex((l) => l.event === "auth.login");
    expect(burst.filter((r) => r.data?.login).length).toBe(success === -1 ? 0 : 1);
    // A success clears the count (as one in a sequence does); before it, fewer failures than the threshold.
    if (success !== -1) expect(success).toBeLessThan(3);
    expect(mine.length - (success + 1)).toBeLessThanOrEqual(3);
  });
});

// Regression: every admitted attempt counted toward the thresholds, right passwords too: after 50
// sign-ins from one address (an office, a carrier's NAT) nobody there could sign in.
describe("right passwords", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({
      env: {
        KAFKEY_LOCKOUT_THRESHOLD: "3",
        KAFKEY_LOCKOUT_IP_THRESHOLD: "3",
        KAFKEY_REQUIRE_VERIFIED_EMAIL: "true",
      },
    });
  });
  afterAll(() => server.close());

  it("do not count toward the address's lock, however many users sign in from it", async () => {
    const admin = { email: "admin@kafkey.test", password: "admin-password-for-tests" };
    for (let i = 0; i < 5; i++) {
      expect((await server.gql(LOGIN, { e: admin.email, p: admin.password })).data!.login.accessToken).toBeTruthy();
    }
  });

  it("of an account that cannot sign in yet (unverified email) do not count toward its lock", async () => {
    const email = `waiting-${Date.now()}@example.com`;
    await server.gql(`mutation($input: SignUpInput!) { signUp(input: $input) { emailVerificationRequired } }`, {
      input: { email, password: PASSWORD, displayName: "Waiting" },
    });
    for (let i = 0; i < 5; i++)
      expect(codeOf(await server.gql(LOGIN, { e: email, p: PASSWORD }))).toBe("EMAIL_NOT_VERIFIED");
  });
});

describe("account locks outlive the shared store", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ env: { KAFKEY_LOCKOUT_THRESHOLD: "3", KAFKEY_LOCKOUT_SECONDS: "60" } });
  });
  afterAll(() => server.close());

  // Regression: the lock lived only in Redis; a Redis restarted empty (or failed over) unlocked everyone.
  it("keeps an account locked when the store loses every key", async () => {
    const user = await server.signUp("wiped-lock");
    for (let i = 0; i < 3; i++) await server.gql(LOGIN, { e: user.email, p: "wrong password!!" });
    await wipeStore(server);
    expect(codeOf(await server.gql(LOGIN, { e: user.email, p: PASSWORD }))).toBe("UNAUTHENTICATED");
  });
});

/** Deletes every key of the server's store (its own prefix in Redis): what a Redis restarted empty shows. */
async function wipeStore(server: TestServer): Promise<void> {
  if (!server.redisPrefix) {
    await server.app.kv.close(); // the in-process store: close() empties it
    return;
  }
  const { Redis } = await import("ioredis");
  const redis = new Redis(TEST_REDIS_URL);
  const keys = await redis.keys(`${server.redisPrefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
}

describe("per-field rate limits", () => {
  // Each test counts from zero: a server of its own.
  let server: TestServer;
  beforeEach(async () => {
    server = await startServer({ env: { KAFKEY_AUTH_RATE_LIMIT_MAX: "10", KAFKEY_LOCKOUT_THRESHOLD: "5" } });
  });
  afterEach(() => server.close());

  const aliasedLogins = (count: number, password: (i: number) => string) =>
    `mutation($e: String!) { ${Array.from({ length: count }, (_, i) => `a${i}: login(email: $e, password: "${password(i)}") { accessToken }`).join(" ")} }`;

  it("a 50-alias brute force is refused whole, before any attempt runs", async () => {
    const user = await server.signUp("aliased");
    const result = await server.gql(
      aliasedLogins(50, (i) => `guess number ${i}!`),
      { e: user.email },
      undefined,
      { accept: "application/graphql-response+json" },
    );
    expect(result.status).toBe(400);
    expect(codeOf(result)).toBe("GRAPHQL_VALIDATION_FAILED");
    expect(server.logs.some((l) => l.includes("auth.login_failed"))).toBe(false);
  });

  it("under the alias limit, execution stops at the first refused login", async () => {
    const user = await server.signUp("stopped");
    const result = await server.gql(
      aliasedLogins(15, (i) => `guess number ${i}!`),
      { e: user.email },
    );
    expect(result.data).toBeNull();
    expect(result.errors).toEqual([
      expect.objectContaining({ path: ["a0"], extensions: expect.objectContaining({ code: "UNAUTHENTICATED" }) }),
    ]);
  });

  it("counts every alias: the eleventh login of one request is RATE_LIMITED", async () => {
    const user = await server.signUp("counted");
    const result = await server.gql(
      aliasedLogins(12, () => PASSWORD),
      { e: user.email },
    );
    expect(result.errors).toHaveLength(1);
    expect(result.errors![0]).toMatchObject({ path: ["a10"], extensions: { code: "RATE_LIMITED" } });
    // The ten before it ran: 200, with how long to wait.
    expect(result.status).toBe(200);
    expect(result.headers.get("retry-after")).toBe(String(result.errors![0]!.extensions!.retryAfter));
    // The ten before it ran, and each started a session.
    expect(await server.app.db.prisma.session.count({ where: { userId: user.id } })).toBe(11);
  });

  it("refuses repeated attempts past the limit with retryAfter, the account locking at the threshold", async () => {
    const user = await server.signUp("hammered");
    const codes = [];
    let limited;
    for (let i = 0; i < 12; i++) {
      const result = await server.gql(
        aliasedLogins(1, () => "wrong password!!"),
        { e: user.email },
      );
      codes.push(codeOf(result));
      if (codeOf(result) === "RATE_LIMITED") limited = result;
    }
    expect(codes.slice(0, 10)).toEqual(Array(10).fill("UNAUTHENTICATED"));
    expect(codes.slice(10)).toEqual(["RATE_LIMITED", "RATE_LIMITED"]);
    expect(limited!.errors![0]!.extensions!.retryAfter).toBeGreaterThan(0);
    expect(limited!.errors![0]!.extensions!.retryAfter).toBeLessThanOrEqual(60);
    const lock = await server.app.db.prisma.accountLock.findUnique({ where: { account: accountKey(user.email) } });
    expect(lock?.lockedUntil.getTime()).toBeGreaterThan(Date.now());
  });
});

describe("the signUp limit", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ env: { KAFKEY_AUTH_RATE_LIMIT_MAX: "10" } });
  });
  afterAll(() => server.close());

  it("counts each aliased signUp", async () => {
    const aliases = Array.from(
      { length: 12 },
      (_, i) =>
        `s${i}: signUp(input: { email: "many${i}@example.com", password: "${PASSWORD}", displayName: "M" }) { accessToken }`,
    );
    const result = await server.gql(`mutation { ${aliases.join("\n")} }`);
    expect(result.errors).toEqual([
      expect.objectContaining({ path: ["s10"], extensions: expect.objectContaining({ code: "RATE_LIMITED" }) }),
    ]);
    expect(await server.app.db.prisma.user.count({ where: { email: { startsWith: "many" } } })).toBe(10);
  });
});

describe("the per-IP HTTP limit", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ env: { KAFKEY_HTTP_RATE_LIMIT_MAX: "5" } });
  });
  afterAll(() => server.close());

  it("answers 429 RATE_LIMITED with retryAfter past the limit, and leaves health probes alone", async () => {
    const statuses = [];
    for (let i = 0; i < 6; i++) statuses.push((await server.gql(`{ __typename }`)).status);
    expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
    const refused = await fetch(`${server.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: "{ __typename }" }),
    });
    expect(refused.status).toBe(429);
    const body = await readJson(refused);
    expect(body.errors[0].extensions).toMatchObject({ code: "RATE_LIMITED" });
    expect(body.errors[0].extensions.retryAfter).toBeGreaterThan(0);
    expect((await fetch(`${server.url}/health/live`)).status).toBe(200);
  });
});
