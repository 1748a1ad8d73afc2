import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MFA_CONFLICTS } from "../src/modules/mfa/mfa.errors.js";
import { codeOf, PASSWORD, startServer, type SignedIn, type TestServer } from "./support/server.js";
import { totpCode } from "./support/totp.js";

const LOGIN = `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { mfaRequired mfaToken accessToken refreshToken } }`;
const VERIFY = `mutation($t: String!, $c: String!) { verifyMfa(mfaToken: $t, code: $c) { accessToken user { id totpEnabledAt } } }`;

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.close());

/** Signs up a user and turns TOTP on. @returns the user, the secret and the recovery codes. */
async function withTotp(name: string): Promise<{ user: SignedIn; secret: string; recovery: string[] }> {
  const user = await server.signUp(name);
  const setup = await server.gql(
    `mutation($p: String!) { enableTotp(currentPassword: $p) { secret otpauthUri qrCodeDataUrl } }`,
    { p: PASSWORD },
    user.accessToken,
  );
  const { secret } = setup.data!.enableTotp;
  // A code of the previous step: it is valid (clock drift) and leaves the current one unused.
  const confirmed = await server.gql(
    `mutation($c: String!) { confirmTotp(code: $c) }`,
    { c: totpCode(secret, Date.now() - 30_000) },
    user.accessToken,
  );
  return { user, secret, recovery: confirmed.data!.confirmTotp };
}

describe("enabling TOTP", () => {
  it("gives a secret, an otpauth URI and a QR code; a code from an independent implementation confirms it", async () => {
    const user = await server.signUp("setup");
    const setup = await server.gql(
      `mutation($p: String!) { enableTotp(currentPassword: $p) { secret otpauthUri qrCodeDataUrl } }`,
      { p: PASSWORD },
      user.accessToken,
    );
    const { secret, otpauthUri, qrCodeDataUrl } = setup.data!.enableTotp;
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(otpauthUri).toMatch(/^otpauth:\/\/totp\/Kafkey:.+\?/);
    expect(otpauthUri).toContain(`secret=${secret}`);
    expect(qrCodeDataUrl).toMatch(/^data:image\/png;base64,/);

    const wrong = await server.gql(`mutation { confirmTotp(code: "000000") }`, {}, user.accessToken);
    expect(codeOf(wrong)).toBe("BAD_USER_INPUT");
    const confirmed = await server.gql(
      `mutation($c: String!) { confirmTotp(code: $c) }`,
      { c: totpCode(secret) },
      user.accessToken,
    );
    const codes: string[] = confirmed.data!.confirmTotp;
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    expect((await server.gql(`{ me { totpEnabledAt } }`, {}, user.accessToken)).data!.me.totpEnabledAt).not.toBeNull();
  });

  // Regression: confirmTotp checked codes outside the per-user count: 12 wrong codes, then the right one, was accepted.
  it("counts confirmTotp's codes with every other second-factor attempt of the user", async () => {
    const user = await server.signUp("confirm-guesser");
    const setup = await server.gql(
      `mutation($p: String!) { enableTotp(currentPassword: $p) { secret } }`,
      { p: PASSWORD },
      user.accessToken,
    );
    const { secret } = setup.data!.enableTotp;
    for (let i = 0; i < 12; i++) {
      await server.gql(`mutation($c: String!) { confirmTotp(code: $c) }`, { c: String(400000 + i) }, user.accessToken);
    }
    const right = await server.gql(
      `mutation($c: String!) { confirmTotp(code: $c) }`,
      { c: totpCode(secret) },
      user.accessToken,
    );
    expect(codeOf(right)).toBe("BAD_USER_INPUT");
    expect((await server.gql(`{ me { totpEnabledAt } }`, {}, user.accessToken)).data!.me.totpEnabledAt).toBeNull();
  });

  it("ends the user's other sessions when TOTP is turned on, and keeps the current one", async () => {
    const user = await server.signUp("other-sessions");
    const elsewhere = await server.login(user.email, PASSWORD);
    const { secret } = (
      await server.gql(
        `mutation($p: String!) { enableTotp(currentPassword: $p) { secret } }`,
        { p: PASSWORD },
        user.accessToken,
      )
    ).data!.enableTotp;
    expect(
      (await server.gql(`mutation($c: String!) { confirmTotp(code: $c) }`, { c: totpCode(secret) }, user.accessToken))
        .errors,
    ).toBeUndefined();
    expect(codeOf(await server.gql(`{ me { id } }`, {}, elsewhere.accessToken))).toBe("UNAUTHENTICATED");
    const refresh = await server.gql(`mutation($t: String!) { refreshToken(token: $t) { accessToken } }`, {
      t: elsewhere.refreshToken,
    });
    expect(codeOf(refresh)).toBe("UNAUTHENTICATED");
    expect((await server.gql(`{ me { id } }`, {}, user.accessToken)).data!.me.id).toBe(user.id);
  });

  it("keeps the secret encrypted and the recovery codes hashed", async () => {
    const { user, secret, recovery } = await withTotp("at-rest");
    const row = await server.app.db.prisma.user.findUniqueOrThrow({ where: { id: user.id } });
    expect(row.totpSecret).toMatch(/^v1:/);
    expect(row.totpSecret).not.toContain(secret);
    const stored = JSON.stringify(await server.app.db.prisma.recoveryCode.findMany({ where: { userId: user.id } }));
    for (const code of recovery) expect(stored).not.toContain(code);
  });
});

describe("login with TOTP on", () => {
  it("needs the second step: no token until verifyMfa accepts a code", async () => {
    const { user, secret } = await withTotp("second-step");
    const first = (await server.gql(LOGIN, { e: user.email, p: PASSWORD })).data!.login;
    expect(first).toMatchObject({ mfaRequired: true, accessToken: null, refreshToken: null });
    expect(first.mfaToken).toBeTruthy();
    const done = await server.gql(VERIFY, { t: first.mfaToken, c: totpCode(secret) });
    expect(done.data!.verifyMfa.user.id).toBe(user.id);
    expect((await server.gql(`{ me { id } }`, {}, done.data!.verifyMfa.accessToken)).data!.me.id).toBe(user.id);
    // The MFA token worked once.
    expect(codeOf(await server.gql(VERIFY, { t: first.mfaToken, c: totpCode(secret) }))).toBe("UNAUTHENTICATED");
  });

  it("refuses a replayed code", async () => {
    const { user, secret } = await withTotp("replay");
    const code = totpCode(secret);
    const a = (await server.gql(LOGIN, { e: user.email, p: PASSWORD })).data!.login.mfaToken;
    expect((await server.gql(VERIFY, { t: a, c: code })).errors).toBeUndefined();
    const b = (await server.gql(LOGIN, { e: user.email, p: PASSWORD })).data!.login.mfaToken;
    expect(codeOf(await server.gql(VERIFY, { t: b, c: code }))).toBe("UNAUTHENTICATED");
  });

  it("accepts ±1 step of clock drift and nothing older", async () => {
    const { user, secret } = await withTotp("drift");
    const token = () => server.gql(LOGIN, { e: user.email, p: PASSWORD }).then((r) => r.data!.login.mfaToken);
    expect(codeOf(await server.gql(VERIFY, { t: await token(), c: totpCode(secret, Date.now() - 95_000) }))).toBe(
      "UNAUTHENTICATED",
    );
    expect(
      (await server.gql(VERIFY, { t: await token(), c: totpCode(secret, Date.now() + 30_000) })).errors,
    ).toBeUndefined();
  });

  it("a recovery code works once", async () => {
    const { user, recovery } = await withTotp("recovery");
    const token = () => server.gql(LOGIN, { e: user.email, p: PASSWORD }).then((r) => r.data!.login.mfaToken);
    expect((await server.gql(VERIFY, { t: await token(), c: recovery[0]!.toUpperCase() })).errors).toBeUndefined();
    expect(codeOf(await server.gql(VERIFY, { t: await token(), c: recovery[0]! }))).toBe("UNAUTHENTICATED");
    expect((await server.gql(VERIFY, { t: await token(), c: recovery[1]! })).errors).toBeUndefined();
  });

  it("a challenge dies after five wrong codes, and wrong codes count toward the lockout", async () => {
    const { user, secret } = await withTotp("guesser");
    const mfaToken = (await server.gql(LOGIN, { e: user.email, p: PASSWORD })).data!.login.mfaToken;
    for (let i = 0; i < 5; i++) await server.gql(VERIFY, { t: mfaToken, c: String(100000 + i) });
    expect(codeOf(await server.gql(VERIFY, { t: mfaToken, c: totpCode(secret) }))).toBe("UNAUTHENTICATED");
    expect(server.logs.some((l) => l.includes("security.account_locked"))).toBe(true);
  });
});

describe("managing TOTP", () => {
  it("regenerates recovery codes (old ones void) and turns TOTP off with a code", async () => {
    const { user, secret, recovery } = await withTotp("manage");
    const fresh = await server.gql(
      `mutation($c: String!) { regenerateRecoveryCodes(code: $c) }`,
      { c: totpCode(secret) },
      user.accessToken,
    );
    expect(fresh.data!.regenerateRecoveryCodes).toHaveLength(10);
    const old = await server.gql(
      `mutation($c: String!) { disableTotp(code: $c) }`,
      { c: recovery[2]! },
      user.accessToken,
    );
    expect(codeOf(old)).toBe("BAD_USER_INPUT");
    const off = await server.gql(
      `mutation($c: String!) { disableTotp(code: $c) }`,
      { c: fresh.data!.regenerateRecoveryCodes[0] },
      user.accessToken,
    );
    expect(off.data!.disableTotp).toBe(true);
    const login = await server.gql(LOGIN, { e: user.email, p: PASSWORD });
    expect(login.data!.login).toMatchObject({ mfaRequired: false, mfaToken: null });
    expect(login.data!.login.accessToken).toBeTruthy();
  });

  it("refuses to enable twice, and every TOTP mutation needs a signed-in user", async () => {
    const { user } = await withTotp("twice");
    const again = await server.gql(
      `mutation($p: String!) { enableTotp(currentPassword: $p) { secret } }`,
      { p: PASSWORD },
      user.accessToken,
    );
    expect(codeOf(again)).toBe("CONFLICT");
    expect(again.errors![0]!.extensions!.reason).toBe(MFA_CONFLICTS.TOTP_ENABLED);
    expect(
      codeOf(await server.gql(`mutation($p: String!) { enableTotp(currentPassword: $p) { secret } }`, { p: PASSWORD })),
    ).toBe("UNAUTHENTICATED");
  });

  // Regression: an access token alone could enrol the thief's authenticator and lock the owner out.
  it("needs the password to start enrolling", async () => {
    const user = await server.signUp("stolen-token");
    const result = await server.gql(
      `mutation($p: String!) { enableTotp(currentPassword: $p) { secret } }`,
      { p: "not the password!" },
      user.accessToken,
    );
    expect(codeOf(result)).toBe("BAD_USER_INPUT");
    expect((await server.gql(`{ me { totpEnabledAt } }`, {}, user.accessToken)).data!.me.totpEnabledAt).toBeNull();
  });

  // Regression: disableTotp and regenerateRecoveryCodes let a token holder guess codes without limit.
  it("stops accepting second-factor attempts after ten in a window, even the right code", async () => {
    const { user, secret } = await withTotp("brute");
    for (let i = 0; i < 10; i++) {
      await server.gql(`mutation($c: String!) { disableTotp(code: $c) }`, { c: String(200000 + i) }, user.accessToken);
    }
    const right = await server.gql(
      `mutation($c: String!) { disableTotp(code: $c) }`,
      { c: totpCode(secret) },
      user.accessToken,
    );
    expect(codeOf(right)).toBe("BAD_USER_INPUT");
    expect(server.logs.some((l) => l.includes("security.mfa_throttled"))).toBe(true);
  });
});
