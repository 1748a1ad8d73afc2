import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MailCatcher } from "./support/smtp.js";
import { codeOf, PASSWORD, startServer, type TestServer } from "./support/server.js";

const SIGN_UP = `mutation($input: SignUpInput!) { signUp(input: $input) { accessToken } }`;
const LOGIN = `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }`;
const ME = `{ me { id } }`;
const NEW_PASSWORD = "an entirely new password";

/**
 * Makes the database refuse one kind of write on `table`, as a crash or a lost connection at that step
 * would: the step after the first commit of a multi-step change fails.
 */
async function failing(server: TestServer, table: string, operation: "INSERT" | "UPDATE", run: () => Promise<void>) {
  const client = new pg.Client({ connectionString: server.databaseUrl });
  await client.connect();
  const name = `fail_${table}_${operation.toLowerCase()}`;
  try {
    await client.query(`CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'injected failure'; END $$`);
    await client.query(
      `CREATE TRIGGER ${name} BEFORE ${operation} ON "${table}" FOR EACH ROW EXECUTE FUNCTION ${name}()`,
    );
    await run();
  } finally {
    await client.query(`DROP TRIGGER IF EXISTS ${name} ON "${table}"`);
    await client.query(`DROP FUNCTION IF EXISTS ${name}()`);
    await client.end();
  }
}

describe("a change made of several writes commits whole or not at all", () => {
  const mail = new MailCatcher();
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ database: "postgres", env: { SMTP_URL: await mail.start() } });
    if (server.database !== "postgres") throw new Error("these tests inject failures into PostgreSQL");
  });
  afterAll(async () => {
    await server?.close();
    await mail.stop();
  });

  // Regression: the account committed before its session was started; when that failed the client saw
  // an error, and its retry got CONFLICT for an account it was never given.
  it("a sign-up whose session cannot start creates no account: the retry succeeds", async () => {
    const input = { email: `atomic-${Date.now()}@example.com`, password: PASSWORD, displayName: "Atomic" };
    await failing(server, "sessions", "INSERT", async () => {
      expect(codeOf(await server.gql(SIGN_UP, { input }))).toBe("INTERNAL_SERVER_ERROR");
    });
    const retry = await server.gql(SIGN_UP, { input });
    expect(retry.errors).toBeUndefined();
    expect(retry.data!.signUp.accessToken).toBeTruthy();
  });

  // Regression: the new password committed first and the old sessions were ended in a second step; a
  // failure between them left the other sessions running under the new password.
  it("a password change whose sessions cannot end keeps the old password, and changes nothing", async () => {
    const user = await server.signUp("change");
    const other = await server.login(user.email, PASSWORD);
    const CHANGE = `mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) }`;
    await failing(server, "sessions", "UPDATE", async () => {
      const result = await server.gql(CHANGE, { c: PASSWORD, n: NEW_PASSWORD }, user.accessToken);
      expect(codeOf(result)).toBe("INTERNAL_SERVER_ERROR");
    });
    expect(codeOf(await server.gql(LOGIN, { e: user.email, p: NEW_PASSWORD }))).toBe("UNAUTHENTICATED");
    expect((await server.gql(LOGIN, { e: user.email, p: PASSWORD })).data!.login.accessToken).toBeTruthy();
    expect((await server.gql(ME, {}, other.accessToken)).data!.me.id).toBe(user.id);
  });

  it("a password reset whose sessions cannot end sets no password and leaves its link usable", async () => {
    const user = await server.signUp("reset");
    await server.gql(`mutation($e: String!) { requestPasswordReset(email: $e) }`, { e: user.email });
    const token = MailCatcher.token(await mail.latest(user.email, /reset your password/i));
    const RESET = `mutation($t: String!, $n: String!) { resetPassword(token: $t, newPassword: $n) }`;
    await failing(server, "sessions", "UPDATE", async () => {
      expect(codeOf(await server.gql(RESET, { t: token, n: NEW_PASSWORD }))).toBe("INTERNAL_SERVER_ERROR");
    });
    expect(codeOf(await server.gql(LOGIN, { e: user.email, p: NEW_PASSWORD }))).toBe("UNAUTHENTICATED");
    expect((await server.gql(ME, {}, user.accessToken)).data!.me.id).toBe(user.id);
    // Nothing was used up: the same link works once the database does.
    expect((await server.gql(RESET, { t: token, n: NEW_PASSWORD })).errors).toBeUndefined();
    expect(codeOf(await server.gql(ME, {}, user.accessToken))).toBe("UNAUTHENTICATED");
  });
});
