import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PASSWORD, startServer, type TestServer } from "./support/server.js";
import { MailCatcher } from "./support/smtp.js";
import { totpCode } from "./support/totp.js";

let mail: MailCatcher;
let server: TestServer;
beforeAll(async () => {
  mail = new MailCatcher();
  server = await startServer({ database: "postgres", env: { SMTP_URL: await mail.start(), LOG_LEVEL: "debug" } });
});
afterAll(async () => {
  await server.close();
  await mail.stop();
});

/** Everything the audit trail holds, the outbox included, as text. */
async function auditText(): Promise<string> {
  await server.app.auditDispatcher.drain();
  const sql = new pg.Client({ connectionString: server.databaseUrl });
  await sql.connect();
  try {
    const events = await sql.query(`SELECT * FROM "audit_events"`);
    const outbox = await sql.query(`SELECT * FROM "audit_outbox"`);
    expect(events.rows.length).toBeGreaterThan(10);
    return JSON.stringify([events.rows, outbox.rows]);
  } finally {
    await sql.end();
  }
}

describe("logs and the audit trail after a full account life", () => {
  it("contain no password, token, TOTP secret or recovery code", async () => {
    const secrets: string[] = [PASSWORD];
    const keep = <T extends string>(value: T): T => {
      secrets.push(value);
      return value;
    };
    const email = "lifecycle@example.com";
    const signedUp = await server.gql(
      `mutation($input: SignUpInput!) { signUp(input: $input) { accessToken refreshToken } }`,
      { input: { email, password: PASSWORD, displayName: "Life Cycle" } },
    );
    const access = keep(signedUp.data!.signUp.accessToken as string);
    keep(signedUp.data!.signUp.refreshToken as string);
    const verifyToken = keep(MailCatcher.token(await mail.latest(email, /confirm/i)));
    await server.gql(`mutation($t: String!) { verifyEmail(token: $t) }`, { t: verifyToken });

    const setup = await server.gql(
      `mutation($p: String!) { enableTotp(currentPassword: $p) { secret } }`,
      { p: PASSWORD },
      access,
    );
    const secret = keep(setup.data!.enableTotp.secret as string);
    const confirmed = await server.gql(
      `mutation($c: String!) { confirmTotp(code: $c) }`,
      { c: totpCode(secret, Date.now() - 30_000) },
      access,
    );
    const recovery = (confirmed.data!.confirmTotp as string[]).map(keep);

    // Wrong password, then the right one and a wrong and a right second factor.
    await server.gql(`mutation($e: String!) { login(email: $e, password: "wrong-password-typed") { accessToken } }`, {
      e: email,
    });
    keep("wrong-password-typed");
    const login = await server.gql(
      `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { mfaToken } }`,
      {
        e: email,
        p: PASSWORD,
      },
    );
    const mfaToken = keep(login.data!.login.mfaToken as string);
    await server.gql(`mutation($t: String!) { verifyMfa(mfaToken: $t, code: "000000") { accessToken } }`, {
      t: mfaToken,
    });
    const verified = await server.gql(
      `mutation($t: String!, $c: String!) { verifyMfa(mfaToken: $t, code: $c) { accessToken refreshToken } }`,
      {
        t: mfaToken,
        c: recovery[0],
      },
    );
    const second = keep(verified.data!.verifyMfa.accessToken as string);
    const refreshed = await server.gql(
      `mutation($t: String!) { refreshToken(token: $t) { accessToken refreshToken } }`,
      {
        t: keep(verified.data!.verifyMfa.refreshToken as string),
      },
    );
    keep(refreshed.data!.refreshToken.refreshToken as string);

    const disabled = await server.gql(`mutation($c: String!) { disableTotp(code: $c) }`, { c: recovery[1] }, second);
    expect(disabled.errors).toBeUndefined();

    const newPassword = keep("a brand new long password");
    await server.gql(
      `mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) }`,
      { c: PASSWORD, n: newPassword },
      second,
    );
    await server.gql(`mutation($e: String!) { requestPasswordReset(email: $e) }`, { e: email });
    const resetToken = keep(MailCatcher.token(await mail.latest(email, /reset/i)));
    const finalPassword = keep("the final long password");
    const reset = await server.gql(`mutation($t: String!, $p: String!) { resetPassword(token: $t, newPassword: $p) }`, {
      t: resetToken,
      p: finalPassword,
    });
    expect(reset.data!.resetPassword).toBe(true);

    const logs = server.logs.join("\n");
    const trail = await auditText();
    for (const action of ["auth.mfa_enabled", "auth.mfa_disabled", "auth.login_failed", "auth.password_reset"]) {
      expect(trail).toContain(action);
    }
    for (const value of secrets) {
      expect(logs, "a secret reached the logs").not.toContain(value);
      expect(trail, "a secret reached the audit trail").not.toContain(value);
    }
    expect(logs).not.toContain("$argon2");
    expect(trail).not.toContain("$argon2");
  });
});
