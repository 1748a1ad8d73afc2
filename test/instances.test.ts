import { Redis } from "ioredis";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { codeOf, PASSWORD, startServer, type TestServer } from "./support/server.js";
import { redisAvailable, TEST_REDIS_URL } from "./support/redis.js";
import { totpCode } from "./support/totp.js";

// Two server processes' worth of Kafkey: separate apps on separate ports, one database, one Redis prefix.
const shared = await redisAvailable();
if (!shared) console.warn("Skipping the two-instance tests: they need Redis, which is unreachable.");

describe.skipIf(!shared)("two instances sharing PostgreSQL and Redis", () => {
  let a: TestServer;
  let b: TestServer;
  beforeAll(async () => {
    const env = { KAFKEY_AUTH_RATE_LIMIT_MAX: "4" };
    a = await startServer({ env });
    b = await startServer({ env, sharing: a });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });
  // The helpers sign in and sign up too: each test starts with fresh rate-limit counters.
  beforeEach(() => resetRateLimits(a));

  it("run on different ports against the same data", async () => {
    expect(a.url).not.toBe(b.url);
    const user = await a.signUp("both");
    expect((await b.gql(`{ me { id } }`, {}, user.accessToken)).data!.me.id).toBe(user.id);
  });

  it("honour a logout on A at B on the very next request", async () => {
    const user = await a.signUp("logout");
    expect((await b.gql(`{ me { id } }`, {}, user.accessToken)).data!.me.id).toBe(user.id);
    await a.gql(`mutation { logout }`, {}, user.accessToken);
    expect(codeOf(await b.gql(`{ me { id } }`, {}, user.accessToken))).toBe("UNAUTHENTICATED");
  });

  it("apply a permission change made on A at B on the next request, although B had cached the old ones", async () => {
    const user = await a.signUp("promoted");
    expect(codeOf(await b.gql(`{ roles { id } }`, {}, user.accessToken))).toBe("FORBIDDEN");
    const roleId = await a.grant(user.id, ["roles.read"]);
    expect((await b.gql(`{ roles { id } }`, {}, user.accessToken)).errors).toBeUndefined();
    const admin = await a.loginAdmin();
    await a.gql(
      `mutation($u: UUID!, $r: UUID!) { removeRole(userId: $u, roleId: $r) { id } }`,
      { u: user.id, r: roleId },
      admin.accessToken,
    );
    expect(codeOf(await b.gql(`{ roles { id } }`, {}, user.accessToken))).toBe("FORBIDDEN");
  });

  it("show every change to a user's own record made on A in B's `me` on the next request", async () => {
    const ME = `{ me { email displayName emailVerifiedAt totpEnabledAt updatedAt } }`;
    const user = await a.signUp("profile");
    const me = async () => (await b.gql(ME, {}, user.accessToken)).data!.me;
    let seen = await me(); // B caches the record with the user's grants
    const changed = async (what: Partial<Record<string, unknown>>) => {
      const now = await me();
      expect(now).toMatchObject(what);
      expect(now.updatedAt).not.toBe(seen.updatedAt);
      seen = now;
    };

    await a.gql(`mutation { updateMe(input: { displayName: "Renamed" }) { id } }`, {}, user.accessToken);
    await changed({ displayName: "Renamed" });

    const setup = await a.gql(
      `mutation($p: String!) { enableTotp(currentPassword: $p) { secret } }`,
      { p: PASSWORD },
      user.accessToken,
    );
    await changed({ totpEnabledAt: null }); // a pending secret changes the row, not what it shows
    const code = totpCode(setup.data!.enableTotp.secret);
    expect(
      (await a.gql(`mutation($c: String!) { confirmTotp(code: $c) }`, { c: code }, user.accessToken)).errors,
    ).toBeUndefined();
    await changed({ totpEnabledAt: expect.any(String) });

    await a.gql(
      `mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) }`,
      { c: PASSWORD, n: "another perfectly long password" },
      user.accessToken,
    );
    await changed({ displayName: "Renamed" });

    const admin = await a.loginAdmin();
    await a.gql(
      `mutation($id: UUID!) { updateUser(id: $id, input: { email: "profile.moved@example.com" }) { id } }`,
      { id: user.id },
      admin.accessToken,
    );
    await changed({ email: "profile.moved@example.com", emailVerifiedAt: null });
  });

  it("count rate-limited attempts made on A and on B together", async () => {
    const login = `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }`;
    const user = await a.signUp("limited");
    const results = [];
    for (const server of [a, b, a, b, a]) results.push(codeOf(await server.gql(login, { e: user.email, p: PASSWORD })));
    // signUp above did not count: it is another field. Four logins pass, the fifth is refused.
    expect(results).toEqual([undefined, undefined, undefined, undefined, "RATE_LIMITED"]);
  });

  it("share the account lockout", async () => {
    const user = await a.signUp("lockout");
    const admin = await a.loginAdmin();
    const login = `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }`;
    // Five failures spread over both instances reach the threshold of 5.
    for (let i = 0; i < 5; i++) {
      await resetRateLimits(a);
      await (i % 2 ? b : a).gql(login, { e: user.email, p: "wrong password!!" });
    }
    await resetRateLimits(a);
    expect(codeOf(await b.gql(login, { e: user.email, p: PASSWORD }))).toBe("UNAUTHENTICATED");
    await b.gql(`mutation($id: UUID!) { unlockUser(id: $id) }`, { id: user.id }, admin.accessToken);
    expect(codeOf(await a.gql(login, { e: user.email, p: PASSWORD }))).toBeUndefined();
  });
});

/** Deletes the rate-limit counters of this deployment's key prefix. */
async function resetRateLimits(server: TestServer): Promise<void> {
  const redis = new Redis(TEST_REDIS_URL);
  try {
    const keys = await redis.keys(`${server.redisPrefix}ratelimit:*`);
    if (keys.length > 0) await redis.del(...keys);
  } finally {
    redis.disconnect();
  }
}
