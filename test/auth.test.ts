import { generateKeyPairSync } from "node:crypto";
import jwt from "jsonwebtoken";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SHARED_CONFLICTS } from "../src/kernel/errors.js";
import { codeOf, PASSWORD, startServer, type TestServer } from "./support/server.js";
import { type ServerSigner, serverSigner } from "./support/tokens.js";

const SIGN_UP = `mutation($input: SignUpInput!) {
  signUp(input: $input) { accessToken refreshToken accessTokenExpiresAt user { id email displayName roles { name } } }
}`;
const LOGIN = `mutation($email: String!, $password: String!) { login(email: $email, password: $password) { accessToken refreshToken } }`;
const REFRESH = `mutation($token: String!) { refreshToken(token: $token) { accessToken refreshToken user { id email } } }`;
const ME = `{ me { id email } }`;

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.close());

describe("signUp", () => {
  it("creates a lower-cased account with the user role and returns working tokens", async () => {
    const result = await server.gql(SIGN_UP, {
      input: { email: "Ada.Lovelace@Example.COM", password: PASSWORD, displayName: "Ada" },
    });
    expect(result.errors).toBeUndefined();
    const payload = result.data!.signUp;
    expect(payload.user).toMatchObject({
      email: "ada.lovelace@example.com",
      displayName: "Ada",
      roles: [{ name: "user" }],
    });
    expect(new Date(payload.accessTokenExpiresAt).getTime()).toBeGreaterThan(Date.now() + 14 * 60_000);
    const me = await server.gql(ME, {}, payload.accessToken);
    expect(me.data!.me).toEqual({ id: payload.user.id, email: "ada.lovelace@example.com" });
  });

  it("rejects a duplicate email, whatever its case, with CONFLICT", async () => {
    const input = { email: "twice@example.com", password: PASSWORD, displayName: "Twice" };
    expect((await server.gql(SIGN_UP, { input })).errors).toBeUndefined();
    const again = await server.gql(SIGN_UP, { input: { ...input, email: "TWICE@example.com" } });
    expect(codeOf(again)).toBe("CONFLICT");
    expect(again.errors![0]!.extensions).toMatchObject({ reason: SHARED_CONFLICTS.UNIQUE, fields: ["email"] });
  });

  it.each([
    ["a malformed email", { email: "not-an-email" }, "email"],
    ["a password under 12 characters", { password: "short-pass" }, "password"],
    ["a password over 128 characters", { password: "x".repeat(129) }, "password"],
    [
      "the email as password",
      { email: "same.as.password@example.com", password: "Same.As.Password@example.com" },
      "password",
    ],
    ["a blank display name", { displayName: "   " }, "displayName"],
    ["one of the most common passwords", { password: "QWERTY123456" }, "password"],
  ])("rejects %s with BAD_USER_INPUT naming the field", async (_label, override, field) => {
    const input = { email: "valid@example.com", password: PASSWORD, displayName: "Valid", ...override };
    const result = await server.gql(SIGN_UP, { input });
    expect(codeOf(result)).toBe("BAD_USER_INPUT");
    expect(result.errors![0]!.extensions!.fields).toEqual(
      expect.arrayContaining([expect.objectContaining({ path: field })]),
    );
    expect(result.data).toBeNull();
  });

  it("explains a bad field in words a person reads (regression: 'must be an address')", async () => {
    const result = await server.gql(SIGN_UP, { input: { email: "nope", password: PASSWORD, displayName: "N" } });
    expect(result.errors![0]!.extensions!.fields).toEqual([{ path: "email", message: "must be an email address" }]);
  });

  it("accepts a 128-character password and does not truncate it", async () => {
    const password = "p".repeat(127) + "1";
    const email = "long.password@example.com";
    expect((await server.gql(SIGN_UP, { input: { email, password, displayName: "Long" } })).errors).toBeUndefined();
    expect(codeOf(await server.gql(LOGIN, { email, password: "p".repeat(127) + "2" }))).toBe("UNAUTHENTICATED");
    expect((await server.gql(LOGIN, { email, password })).data!.login.accessToken).toBeTruthy();
  });
});

describe("login", () => {
  it("signs in with the right password, whatever the email's case", async () => {
    const user = await server.signUp("login");
    const result = await server.gql(LOGIN, { email: user.email.toUpperCase(), password: PASSWORD });
    expect((await server.gql(ME, {}, result.data!.login.accessToken)).data!.me.id).toBe(user.id);
  });

  it("answers a wrong password and an unknown email with the same UNAUTHENTICATED error", async () => {
    const user = await server.signUp("wrong");
    const wrong = await server.gql(LOGIN, { email: user.email, password: "not the right password" });
    const unknown = await server.gql(LOGIN, { email: "nobody@example.com", password: PASSWORD });
    expect(codeOf(wrong)).toBe("UNAUTHENTICATED");
    expect(codeOf(unknown)).toBe("UNAUTHENTICATED");
    expect(wrong.errors![0]!.message).toBe(unknown.errors![0]!.message);
  });

  it("refuses a disabled account, and its existing tokens stop working at once", async () => {
    const user = await server.signUp("disabled");
    const admin = await server.loginAdmin();
    await server.gql(
      `mutation($id: UUID!) { updateUser(id: $id, input: { status: DISABLED }) { id } }`,
      { id: user.id },
      admin.accessToken,
    );
    expect(codeOf(await server.gql(LOGIN, { email: user.email, password: PASSWORD }))).toBe("ACCOUNT_DISABLED");
    expect(codeOf(await server.gql(ME, {}, user.accessToken))).toBe("UNAUTHENTICATED");
    expect(codeOf(await server.gql(REFRESH, { token: user.refreshToken }))).toBe("UNAUTHENTICATED");
  });
});

describe("refreshToken", () => {
  it("rotates: the new pair works, and the old refresh token presented again answers the same successor", async () => {
    const user = await server.signUp("rotate");
    const first = await server.gql(REFRESH, { token: user.refreshToken });
    const next = first.data!.refreshToken;
    expect(next.user.id).toBe(user.id);
    expect(next.refreshToken).not.toBe(user.refreshToken);
    expect((await server.gql(ME, {}, next.accessToken)).data!.me.id).toBe(user.id);
    const after = await server.gql(REFRESH, { token: next.refreshToken });
    expect(after.data!.refreshToken.accessToken).toBeTruthy();
    // Within the grace period (test/refresh-grace.test.ts: after it, and without one, it is reuse).
    const again = await server.gql(REFRESH, { token: next.refreshToken });
    expect(again.data!.refreshToken.refreshToken).toBe(after.data!.refreshToken.refreshToken);
  });

  it("answers concurrent exchanges of one token with the same successor (issue 17: two tabs)", async () => {
    const user = await server.signUp("race");
    const results = await Promise.all([1, 2, 3].map(() => server.gql(REFRESH, { token: user.refreshToken })));
    expect(results.map((r) => codeOf(r))).toEqual([undefined, undefined, undefined]);
    expect(new Set(results.map((r) => r.data!.refreshToken.refreshToken)).size).toBe(1);
  });

  it("rejects an unknown or oversized token", async () => {
    expect(codeOf(await server.gql(REFRESH, { token: "made-up" }))).toBe("UNAUTHENTICATED");
    expect(codeOf(await server.gql(REFRESH, { token: "x".repeat(5000) }))).toBe("UNAUTHENTICATED");
  });

  it("stores only a hash of each refresh token", async () => {
    const user = await server.signUp("hashed");
    const rows = await server.app.db.prisma.refreshToken.findMany({ where: { userId: user.id } });
    expect(rows).toHaveLength(1);
    expect(rows[0]!.tokenHash).not.toContain(user.refreshToken);
    expect(rows[0]!.tokenHash).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe("access tokens", () => {
  let signer: ServerSigner;
  beforeAll(async () => {
    signer = await serverSigner(server);
  });
  const sign = (claims: object, options: jwt.SignOptions = {}) =>
    signer(claims, {
      issuer: "kafkey",
      audience: "kafkey",
      expiresIn: 300,
      jwtid: crypto.randomUUID(),
      ...options,
    });

  it("carries iss, aud, sub, client_id, jti, iat, exp, and alg ES256 with its kid and typ at+jwt", async () => {
    const user = await server.signUp("claims");
    const { header, payload } = jwt.decode(user.accessToken, { complete: true }) as jwt.Jwt & {
      payload: jwt.JwtPayload;
    };
    expect(header).toEqual({ alg: "ES256", typ: "at+jwt", kid: signer.kid });
    expect(payload).toMatchObject({ iss: "kafkey", aud: "kafkey", sub: user.id, client_id: "kafkey" });
    expect(payload.exp! - payload.iat!).toBe(900);
    expect(payload.jti).toMatch(/^[0-9a-f-]{36}$/);
  });

  const sessionOf = (accessToken: string) => (jwt.decode(accessToken) as jwt.JwtPayload).sid as string;

  it("accepts a token it signed itself (the forgery tests below are real)", async () => {
    const user = await server.signUp("forge-control");
    const token = sign({ sid: sessionOf(user.accessToken) }, { subject: user.id });
    expect((await server.gql(ME, {}, token)).data!.me.id).toBe(user.id);
  });

  // Regression: a well-signed token passed whatever its `sid` named; the session must exist, be live
  // and be the token's user's.
  it("rejects a well-signed token whose session does not exist, or is another user's", async () => {
    const user = await server.signUp("no-session");
    const other = await server.signUp("other-session");
    const unknown = sign({ sid: crypto.randomUUID() }, { subject: user.id });
    expect(codeOf(await server.gql(ME, {}, unknown))).toBe("UNAUTHENTICATED");
    const borrowed = sign({ sid: sessionOf(other.accessToken) }, { subject: user.id });
    expect(codeOf(await server.gql(ME, {}, borrowed))).toBe("UNAUTHENTICATED");
  });

  it.each([
    ["no token", () => undefined],
    [
      "a tampered payload",
      (id: string, real: string) => {
        const [h, , s] = real.split(".");
        const payload = Buffer.from(JSON.stringify({ sub: id, admin: true, exp: 9999999999 })).toString("base64url");
        return `${h}.${payload}.${s}`;
      },
    ],
    ["an expired token", (id: string) => sign({ sid: crypto.randomUUID() }, { subject: id, expiresIn: -10 })],
    ["a token without a session id", (id: string) => sign({}, { subject: id })],
    [
      "alg none",
      (id: string) =>
        jwt.sign({ sub: id, sid: crypto.randomUUID(), iss: "kafkey", aud: "kafkey", jti: crypto.randomUUID() }, "", {
          algorithm: "none",
        }),
    ],
    [
      "another key under the server key's kid",
      (id: string) =>
        jwt.sign({ sid: crypto.randomUUID() }, generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey, {
          algorithm: "ES256",
          header: { alg: "ES256", typ: "at+jwt", kid: signer.kid },
          subject: id,
          issuer: "kafkey",
          audience: "kafkey",
          jwtid: crypto.randomUUID(),
          expiresIn: 60,
        }),
    ],
    [
      "an unknown kid",
      (id: string) =>
        sign(
          { sid: crypto.randomUUID() },
          { subject: id, header: { alg: "ES256", typ: "at+jwt", kid: "no-such-key" } },
        ),
    ],
    ["a wrong issuer", (id: string) => sign({ sid: crypto.randomUUID() }, { subject: id, issuer: "someone-else" })],
    ["a wrong audience", (id: string) => sign({ sid: crypto.randomUUID() }, { subject: id, audience: "another-api" })],
    [
      "another token type",
      (id: string) =>
        sign(
          { sid: crypto.randomUUID() },
          {
            header: { alg: "ES256", kid: signer.kid },
            subject: id,
            issuer: "kafkey",
            audience: "kafkey",
            jwtid: crypto.randomUUID(),
            expiresIn: 60,
          },
        ),
    ],
    ["a garbage header", () => "not.a.jwt"],
    [
      "a token not valid yet (future nbf)",
      (id: string) => sign({ sid: crypto.randomUUID() }, { subject: id, notBefore: 600 }),
    ],
  ])("rejects %s with UNAUTHENTICATED", async (_label, forge) => {
    const user = await server.signUp("forged");
    const token = forge(user.id, user.accessToken);
    const result = await server.gql(ME, {}, token);
    expect(codeOf(result)).toBe("UNAUTHENTICATED");
    expect(result.status).toBe(200);
    expect(result.data).toBeNull();
  });

  it("rejects tokens of other kinds presented as access tokens, and RS256 or key-confusion forgeries", async () => {
    const user = await server.signUp("kinds");
    const { generateKeyPairSync } = await import("node:crypto");
    const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const claims = { sub: user.id, sid: crypto.randomUUID(), iss: "kafkey", aud: "kafkey", jti: crypto.randomUUID() };
    const rs256 = jwt.sign(claims, privateKey, {
      algorithm: "RS256",
      header: { alg: "RS256", typ: "at+jwt" },
      expiresIn: 60,
    });
    const publicPem = publicKey.export({ type: "spki", format: "pem" }).toString();
    const confused = jwt.sign(claims, publicPem, {
      algorithm: "HS256",
      header: { alg: "HS256", typ: "at+jwt" },
      expiresIn: 60,
    });
    for (const token of [user.refreshToken, rs256, confused]) {
      expect(codeOf(await server.gql(ME, {}, token))).toBe("UNAUTHENTICATED");
    }
  });

  it("rejects a valid token of a deleted user", async () => {
    const user = await server.signUp("deleted");
    const admin = await server.loginAdmin();
    await server.gql(`mutation($id: UUID!) { deleteUser(id: $id) }`, { id: user.id }, admin.accessToken);
    expect(codeOf(await server.gql(ME, {}, user.accessToken))).toBe("UNAUTHENTICATED");
  });
});

describe("auth logs", () => {
  it("record sign-up and login success and failure without passwords or tokens", async () => {
    const user = await server.signUp("logged");
    await server.gql(LOGIN, { email: user.email, password: "wrong password here" });
    const session = await server.login(user.email, PASSWORD);
    const lines = server.logs.map((l) => JSON.parse(l) as Record<string, unknown>);
    const events = lines.filter((l) => l.userId === user.id || l.email === user.email).map((l) => l.event);
    expect(events).toEqual(expect.arrayContaining(["auth.signup", "auth.login_failed", "auth.login"]));
    const all = server.logs.join("\n");
    for (const secret of [PASSWORD, "wrong password here", user.accessToken, user.refreshToken, session.refreshToken]) {
      expect(all).not.toContain(secret);
    }
  });
});
