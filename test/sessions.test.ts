import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { codeOf, PASSWORD, startServer, type SignedIn, type TestServer } from "./support/server.js";

let server: TestServer;
let admin: SignedIn;
beforeAll(async () => {
  server = await startServer();
  admin = await server.loginAdmin();
});
afterAll(() => server.close());

const REFRESH = `mutation($token: String!) { refreshToken(token: $token) { accessToken refreshToken } }`;
const SESSIONS = `{ sessions { id current userAgent ip createdAt lastUsedAt expiresAt } }`;
const ME = `{ me { id } }`;

describe("sessions", () => {
  it("lists the caller's sessions, marking the current one, with device and IP", async () => {
    const user = await server.signUp("devices");
    await server.gql(
      `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }`,
      { e: user.email, p: PASSWORD },
      undefined,
      { "user-agent": "Phone/1.0" },
    );
    const { data } = await server.gql(SESSIONS, {}, user.accessToken);
    expect(data!.sessions).toHaveLength(2);
    expect(data!.sessions.filter((s: { current: boolean }) => s.current)).toHaveLength(1);
    expect(data!.sessions.map((s: { userAgent: string }) => s.userAgent)).toContain("Phone/1.0");
    expect(data!.sessions.every((s: { ip: string }) => s.ip === "127.0.0.1")).toBe(true);
  });

  it("revokeSession ends another device's session: its refresh and access tokens stop working at once", async () => {
    const user = await server.signUp("revoker");
    const phone = await server.login(user.email, PASSWORD);
    const { data } = await server.gql(SESSIONS, {}, user.accessToken);
    const phoneSession = data!.sessions.find((s: { current: boolean }) => !s.current).id;
    const result = await server.gql(
      `mutation($id: UUID!) { revokeSession(id: $id) }`,
      { id: phoneSession },
      user.accessToken,
    );
    expect(result.data!.revokeSession).toBe(true);
    expect(codeOf(await server.gql(ME, {}, phone.accessToken))).toBe("UNAUTHENTICATED");
    expect(codeOf(await server.gql(REFRESH, { token: phone.refreshToken }))).toBe("UNAUTHENTICATED");
    expect((await server.gql(ME, {}, user.accessToken)).data!.me.id).toBe(user.id);
    expect((await server.gql(SESSIONS, {}, user.accessToken)).data!.sessions).toHaveLength(1);
  });

  it("revokeSession answers NOT_FOUND for another user's session", async () => {
    const owner = await server.signUp("owner");
    const intruder = await server.signUp("intruder");
    const { data } = await server.gql(SESSIONS, {}, owner.accessToken);
    const result = await server.gql(
      `mutation($id: UUID!) { revokeSession(id: $id) }`,
      { id: data!.sessions[0].id },
      intruder.accessToken,
    );
    expect(codeOf(result)).toBe("NOT_FOUND");
    expect((await server.gql(ME, {}, owner.accessToken)).data!.me.id).toBe(owner.id);
  });

  it("logout ends the current session only, and revokes the presented access token at once", async () => {
    const user = await server.signUp("logout");
    const other = await server.login(user.email, PASSWORD);
    expect((await server.gql(`mutation { logout }`, {}, user.accessToken)).data!.logout).toBe(true);
    const after = await server.gql(ME, {}, user.accessToken);
    expect(codeOf(after)).toBe("UNAUTHENTICATED");
    expect(after.errors![0]!.message).toMatch(/revoked/);
    expect(codeOf(await server.gql(REFRESH, { token: user.refreshToken }))).toBe("UNAUTHENTICATED");
    expect((await server.gql(ME, {}, other.accessToken)).data!.me.id).toBe(user.id);
  });

  it("logoutAll ends every session of the caller", async () => {
    const user = await server.signUp("everywhere");
    const second = await server.login(user.email, PASSWORD);
    expect((await server.gql(`mutation { logoutAll }`, {}, user.accessToken)).data!.logoutAll).toBe(2);
    for (const session of [user, second]) {
      expect(codeOf(await server.gql(ME, {}, session.accessToken))).toBe("UNAUTHENTICATED");
      expect(codeOf(await server.gql(REFRESH, { token: session.refreshToken }))).toBe("UNAUTHENTICATED");
    }
  });

  it("an admin with users.update ends another user's sessions; users.read sees them", async () => {
    const user = await server.signUp("managed");
    const seen = await server.gql(
      `query($u: UUID!) { userSessions(userId: $u) { id current } }`,
      { u: user.id },
      admin.accessToken,
    );
    expect(seen.data!.userSessions).toEqual([expect.objectContaining({ current: false })]);
    const result = await server.gql(
      `mutation($u: UUID!) { revokeUserSessions(userId: $u) }`,
      { u: user.id },
      admin.accessToken,
    );
    expect(result.data!.revokeUserSessions).toBe(1);
    expect(codeOf(await server.gql(ME, {}, user.accessToken))).toBe("UNAUTHENTICATED");
    const denied = await server.gql(
      `mutation($u: UUID!) { revokeUserSessions(userId: $u) }`,
      { u: admin.id },
      user.accessToken,
    );
    expect(codeOf(denied)).toBe("UNAUTHENTICATED");
  });
});

describe("refresh token reuse", () => {
  // Without a grace period, so that a replay is reuse at once (test/refresh-grace.test.ts: after one).
  let strict: TestServer;
  beforeAll(async () => {
    strict = await startServer({ env: { KAFKEY_REFRESH_REUSE_GRACE_SECONDS: "0" } });
  });
  afterAll(() => strict?.close());

  it("revokes the whole session: the thief's and the legitimate holder's next refresh both fail", async () => {
    const user = await strict.signUp("stolen");
    const legit = (await strict.gql(REFRESH, { token: user.refreshToken })).data!.refreshToken;
    // The attacker replays the stolen, already rotated token.
    expect(codeOf(await strict.gql(REFRESH, { token: user.refreshToken }))).toBe("UNAUTHENTICATED");
    expect(codeOf(await strict.gql(REFRESH, { token: legit.refreshToken }))).toBe("UNAUTHENTICATED");
    expect(codeOf(await strict.gql(ME, {}, legit.accessToken))).toBe("UNAUTHENTICATED");
    const event = strict.logs
      .map((l) => JSON.parse(l))
      .find((l) => l.event === "security.refresh_reuse" && l.userId === user.id);
    expect(event).toMatchObject({ level: "warn" });
  });
});

describe("with a reuse grace period", () => {
  let graceful: TestServer;
  beforeAll(async () => {
    graceful = await startServer({ env: { KAFKEY_REFRESH_REUSE_GRACE_SECONDS: "30" } });
  });
  afterAll(() => graceful.close());

  it("a client's retry with the token just rotated gets the same successor", async () => {
    const user = await graceful.signUp("retry");
    const first = (await graceful.gql(REFRESH, { token: user.refreshToken })).data!.refreshToken;
    const retry = await graceful.gql(REFRESH, { token: user.refreshToken });
    expect(retry.errors).toBeUndefined();
    expect(retry.data!.refreshToken.refreshToken).toBe(first.refreshToken);
    expect(graceful.logs.some((l) => l.includes("security.refresh_reuse"))).toBe(false);
    // The session goes on from the retry's token.
    const next = await graceful.gql(REFRESH, { token: retry.data!.refreshToken.refreshToken });
    expect(next.errors).toBeUndefined();
    expect((await graceful.gql(ME, {}, next.data!.refreshToken.accessToken)).data!.me.id).toBe(user.id);
  });

  it("answers an older token rotated twice within the window with the newest one", async () => {
    const user = await graceful.signUp("older");
    const second = (await graceful.gql(REFRESH, { token: user.refreshToken })).data!.refreshToken;
    const third = (await graceful.gql(REFRESH, { token: second.refreshToken })).data!.refreshToken;
    const older = await graceful.gql(REFRESH, { token: user.refreshToken });
    expect(older.data!.refreshToken.refreshToken).toBe(third.refreshToken);
    expect((await graceful.gql(REFRESH, { token: third.refreshToken })).errors).toBeUndefined();
  });
});

describe("changePassword", () => {
  const CHANGE = `mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) }`;

  it("needs the current password and the policy, then ends every other session", async () => {
    const user = await server.signUp("changer");
    const other = await server.login(user.email, PASSWORD);
    const wrong = await server.gql(CHANGE, { c: "not my password", n: "a brand new password" }, user.accessToken);
    expect(codeOf(wrong)).toBe("BAD_USER_INPUT");
    expect(wrong.errors![0]!.extensions!.fields).toEqual([expect.objectContaining({ path: "currentPassword" })]);
    const weak = await server.gql(CHANGE, { c: PASSWORD, n: "short" }, user.accessToken);
    expect(weak.errors![0]!.extensions!.fields).toEqual([expect.objectContaining({ path: "newPassword" })]);

    expect(
      (await server.gql(CHANGE, { c: PASSWORD, n: "a brand new password" }, user.accessToken)).data!.changePassword,
    ).toBe(true);
    expect((await server.gql(ME, {}, user.accessToken)).data!.me.id).toBe(user.id);
    expect(codeOf(await server.gql(ME, {}, other.accessToken))).toBe("UNAUTHENTICATED");
    expect(codeOf(await server.gql(REFRESH, { token: other.refreshToken }))).toBe("UNAUTHENTICATED");
    await expect(server.login(user.email, PASSWORD)).rejects.toThrow();
    expect((await server.login(user.email, "a brand new password")).id).toBe(user.id);
  });
});
