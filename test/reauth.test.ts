import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CREDENTIAL_MUTATIONS, NON_CREDENTIAL_MUTATIONS } from "../src/modules/reauth/credential-mutations.js";
import { REAUTH_CONFLICTS } from "../src/modules/reauth/reauth.errors.js";
import { codeOf, PASSWORD, startServer, type TestServer } from "./support/server.js";
import { totpCode } from "./support/totp.js";

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.close());

const STEP_UP = `mutation($p: String, $c: String) { stepUp(currentPassword: $p, mfaCode: $c) }`;
const ENABLE_TOTP = `mutation { enableTotp { secret } }`;

/** Each credential mutation that a proof of the session must precede, called without one. */
const WITHOUT_PROOF: Record<string, string> = {
  linkAccount: `mutation { linkAccount(provider: GITHUB, redirectUri: "http://app.example.test/done") }`,
  confirmLinkAccount: `mutation { confirmLinkAccount(code: "a-link-code") { provider } }`,
  unlinkAccount: `mutation { unlinkAccount(provider: GITHUB) }`,
  enableTotp: ENABLE_TOTP,
  confirmTotp: `mutation { confirmTotp(code: "123456") }`,
  logoutAll: `mutation { logoutAll(removeLinkedAccounts: true) }`,
  createApiKey: `mutation { createApiKey(input: { name: "k", permissions: ["users.read"], expiresAt: "2099-01-01T00:00:00Z" }) { secret } }`,
  revokeApiKey: `mutation { revokeApiKey(id: "00000000-0000-4000-8000-000000000000") }`,
  passkeyRegistrationOptions: `mutation { passkeyRegistrationOptions }`,
  registerPasskey: `mutation { registerPasskey(response: {}) { id } }`,
  removePasskey: `mutation { removePasskey(id: "00000000-0000-4000-8000-000000000000") }`,
};

describe("the list of credential mutations", () => {
  it("decides every mutation of the schema: it changes a credential, or it is declared not to", async () => {
    const result = await server.gql(`{ __schema { mutationType { fields { name } } } }`);
    const names: string[] = result.data!.__schema.mutationType.fields.map((f: { name: string }) => f.name);
    const credential = Object.keys(CREDENTIAL_MUTATIONS);
    const others: readonly string[] = NON_CREDENTIAL_MUTATIONS;
    const undecided = names.filter((name) => !credential.includes(name) && !others.includes(name));
    expect(undecided, "add each to CREDENTIAL_MUTATIONS or NON_CREDENTIAL_MUTATIONS").toEqual([]);
    expect(credential.filter((name) => others.includes(name))).toEqual([]);
    // Nothing listed that the schema does not have (a renamed mutation would escape the rule).
    expect([...credential, ...others].filter((name) => !names.includes(name))).toEqual([]);
  });

  it("has a test call for each mutation that needs a recent proof", () => {
    const recent = Object.entries(CREDENTIAL_MUTATIONS)
      .filter(([, entry]) => entry.proof === "recent")
      .map(([name]) => name);
    expect(Object.keys(WITHOUT_PROOF).sort()).toEqual(recent.sort());
  });
});

describe("recent re-authentication", () => {
  // Regression: an access token alone (15 minutes, stolen) could add a permanent way in.
  it.each(Object.entries(WITHOUT_PROOF))("refuses %s with a fresh sign-in alone", async (_name, mutation) => {
    const user = await server.signUp("fresh");
    // Signing in is not a proof: neither the sign-up's session nor a new login's.
    const login = await server.login(user.email, PASSWORD);
    for (const token of [user.accessToken, login.accessToken]) {
      const refused = await server.gql(mutation, {}, token);
      expect(codeOf(refused)).toBe("REAUTHENTICATION_REQUIRED");
      expect(refused.status).toBe(200);
      expect(refused.errors![0]!.extensions!.methods).toEqual(["password"]);
    }
  });

  it("takes the password in the call, or a step-up of the same session, and not another session's", async () => {
    const user = await server.signUp("stepper");
    const other = await server.login(user.email, PASSWORD);
    const stepUp = await server.gql(STEP_UP, { p: PASSWORD }, user.accessToken);
    const until = new Date(stepUp.data!.stepUp).getTime();
    expect(until).toBeGreaterThan(Date.now() + 4 * 60_000);
    expect(until).toBeLessThanOrEqual(Date.now() + 5 * 60_000);

    expect(codeOf(await server.gql(ENABLE_TOTP, {}, other.accessToken))).toBe("REAUTHENTICATION_REQUIRED");
    expect((await server.gql(ENABLE_TOTP, {}, user.accessToken)).data!.enableTotp.secret).toBeTruthy();
    const inline = await server.gql(
      `mutation($p: String!) { enableTotp(currentPassword: $p) { secret } }`,
      { p: PASSWORD },
      other.accessToken,
    );
    expect(inline.data!.enableTotp.secret).toBeTruthy();
  });

  it("refuses a wrong password, counting it toward the lockout, and a step-up with nothing", async () => {
    const user = await server.signUp("wrong-step");
    const wrong = await server.gql(STEP_UP, { p: "not the password!" }, user.accessToken);
    expect(codeOf(wrong)).toBe("BAD_USER_INPUT");
    expect(wrong.errors![0]!.extensions!.fields).toEqual([expect.objectContaining({ path: "currentPassword" })]);
    expect(server.logs.some((l) => l.includes("auth.reauth_failed"))).toBe(true);
    expect(codeOf(await server.gql(STEP_UP, {}, user.accessToken))).toBe("BAD_USER_INPUT");
    expect(codeOf(await server.gql(ENABLE_TOTP, {}, user.accessToken))).toBe("REAUTHENTICATION_REQUIRED");
    expect(codeOf(await server.gql(STEP_UP, { p: PASSWORD }))).toBe("UNAUTHENTICATED");
  });

  it("mails no re-authentication code to an account that has a password: it steps up with that", async () => {
    const user = await server.signUp("mail-code");
    const refused = await server.gql(`mutation { requestReauthenticationCode }`, {}, user.accessToken);
    expect(codeOf(refused)).toBe("CONFLICT");
    expect(refused.errors![0]!.extensions!.reason).toBe(REAUTH_CONFLICTS.USE_PASSWORD_OR_SECOND_FACTOR);
  });

  it("takes a second-factor code, through the counted check", async () => {
    const user = await server.signUp("step-totp");
    const secret = (
      await server.gql(
        `mutation($p: String!) { enableTotp(currentPassword: $p) { secret } }`,
        { p: PASSWORD },
        user.accessToken,
      )
    ).data!.enableTotp.secret;
    await server.gql(
      `mutation($c: String!) { confirmTotp(code: $c) }`,
      { c: totpCode(secret, Date.now() - 30_000) },
      user.accessToken,
    );
    const login = await server.gql(
      `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { mfaToken } }`,
      { e: user.email, p: PASSWORD },
    );
    const fresh = await server.gql(
      `mutation($t: String!, $c: String!) { verifyMfa(mfaToken: $t, code: $c) { accessToken } }`,
      { t: login.data!.login.mfaToken, c: totpCode(secret) },
    );
    const token = fresh.data!.verifyMfa.accessToken;
    const refused = await server.gql(`mutation { unlinkAccount(provider: GITHUB) }`, {}, token);
    expect(refused.errors![0]!.extensions!.methods).toEqual(["password", "totp"]);
    for (let i = 0; i < 10; i++) await server.gql(STEP_UP, { c: String(300000 + i) }, token);
    // Over the limit, the right code is refused too.
    expect(codeOf(await server.gql(STEP_UP, { c: totpCode(secret, Date.now() + 30_000) }, token))).toBe(
      "BAD_USER_INPUT",
    );
  });
});
