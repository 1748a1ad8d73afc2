import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { codeOf, PASSWORD, startServer, type TestServer } from "./support/server.js";
import { MailCatcher } from "./support/smtp.js";

const SIGN_UP = `mutation($input: SignUpInput!) {
  signUp(input: $input) { emailVerificationRequired accessToken refreshToken user { id emailVerifiedAt } }
}`;
const LOGIN = `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken refreshToken } }`;
const VERIFY = `mutation($t: String!) { verifyEmail(token: $t) }`;
const REQUEST_RESET = `mutation($e: String!) { requestPasswordReset(email: $e) }`;
const RESET = `mutation($t: String!, $p: String!) { resetPassword(token: $t, newPassword: $p) }`;

let mail: MailCatcher;
let server: TestServer;
/** A second instance of the same deployment that does not require verified emails (as before it was turned on). */
let lenient: TestServer;
beforeAll(async () => {
  mail = new MailCatcher();
  const smtpUrl = await mail.start();
  server = await startServer({
    env: {
      SMTP_URL: smtpUrl,
      MAIL_FROM: "Kafkey Test <no-reply@kafkey.test>",
      KAFKEY_APP_URL: "https://app.example.com/",
      KAFKEY_REQUIRE_VERIFIED_EMAIL: "true",
    },
  });
  lenient = await startServer({
    sharing: server,
    env: { SMTP_URL: smtpUrl, KAFKEY_APP_URL: "https://app.example.com/" },
  });
});
afterAll(async () => {
  await lenient.close();
  await server.close();
  await mail.stop();
});

async function signUp(email: string, on = server) {
  const result = await on.gql(SIGN_UP, { input: { email, password: PASSWORD, displayName: "Mailed" } });
  return result.data!.signUp;
}

describe("email verification", () => {
  it("sign-up mails a link; verifying it lets the account log in, once", async () => {
    const email = "verify.me@example.com";
    const { user } = await signUp(email);
    expect(user.emailVerifiedAt).toBeNull();
    const message = await mail.latest(email, /confirm your email/i);
    expect(message.from?.text).toContain("no-reply@kafkey.test");
    expect(message.text).toContain("https://app.example.com/verify-email?token=");
    expect(message.html).toContain("https://app.example.com/verify-email?token=");

    expect(codeOf(await server.gql(LOGIN, { e: email, p: PASSWORD }))).toBe("EMAIL_NOT_VERIFIED");
    const token = MailCatcher.token(message);
    expect((await server.gql(VERIFY, { t: token })).data!.verifyEmail).toBe(true);
    const { accessToken } = (await server.gql(LOGIN, { e: email, p: PASSWORD })).data!.login;
    expect((await server.gql(`{ me { emailVerifiedAt } }`, {}, accessToken)).data!.me.emailVerifiedAt).toBeTruthy();

    const again = await server.gql(VERIFY, { t: token });
    expect(codeOf(again)).toBe("BAD_USER_INPUT");
    expect(again.errors![0]!.extensions!.fields).toEqual([expect.objectContaining({ path: "token" })]);
  });

  it("a resent link replaces the previous one", async () => {
    const email = "resend@example.com";
    // A session started before verified emails were required.
    const { accessToken } = await signUp(email, lenient);
    const first = MailCatcher.token(await mail.latest(email, /confirm/i));
    expect(
      (await server.gql(`mutation { resendVerificationEmail }`, {}, accessToken)).data!.resendVerificationEmail,
    ).toBe(true);
    await expect.poll(() => mail.messages.filter((m) => JSON.stringify(m.to).includes(email)).length).toBe(2);
    const second = MailCatcher.token(await mail.latest(email, /confirm/i));
    expect(second).not.toBe(first);
    expect(codeOf(await server.gql(VERIFY, { t: first }))).toBe("BAD_USER_INPUT");
    expect((await server.gql(VERIFY, { t: second })).data!.verifyEmail).toBe(true);
  });

  it("stores only hashes of mailed tokens", async () => {
    const email = "hashed.mail@example.com";
    const { user } = await signUp(email);
    const token = MailCatcher.token(await mail.latest(email, /confirm/i));
    const rows = await server.app.db.prisma.oneTimeToken.findMany({ where: { userId: user.id } });
    expect(rows).toHaveLength(1);
    expect(JSON.stringify(rows)).not.toContain(token);
  });
});

describe("password reset", () => {
  it("answers true for an unknown email and sends nothing", async () => {
    const before = mail.messages.length;
    expect((await server.gql(REQUEST_RESET, { e: "nobody.here@example.com" })).data!.requestPasswordReset).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(mail.messages.length).toBe(before);
  });

  it("mails a link; the reset ends every session, the new password works and the old one does not", async () => {
    const email = "forgetful@example.com";
    await signUp(email);
    await server.gql(VERIFY, { t: MailCatcher.token(await mail.latest(email, /confirm/i)) });
    const { accessToken, refreshToken } = (await server.gql(LOGIN, { e: email, p: PASSWORD })).data!.login;
    const session = await server.gql(LOGIN, { e: email, p: PASSWORD });

    expect((await server.gql(REQUEST_RESET, { e: "Forgetful@Example.com" })).data!.requestPasswordReset).toBe(true);
    const message = await mail.latest(email, /reset your password/i);
    expect(message.text).toContain("https://app.example.com/reset-password?token=");
    const token = MailCatcher.token(message);

    const weak = await server.gql(RESET, { t: token, p: "short" });
    expect(weak.errors![0]!.extensions!.fields).toEqual([expect.objectContaining({ path: "newPassword" })]);
    // A refused password did not use the token up.
    expect((await server.gql(RESET, { t: token, p: "my brand new passphrase" })).data!.resetPassword).toBe(true);

    for (const access of [accessToken, session.data!.login.accessToken]) {
      expect(codeOf(await server.gql(`{ me { id } }`, {}, access))).toBe("UNAUTHENTICATED");
    }
    expect(
      codeOf(
        await server.gql(`mutation($t: String!) { refreshToken(token: $t) { accessToken } }`, { t: refreshToken }),
      ),
    ).toBe("UNAUTHENTICATED");
    expect(codeOf(await server.gql(LOGIN, { e: email, p: PASSWORD }))).toBe("UNAUTHENTICATED");
    expect((await server.gql(LOGIN, { e: email, p: "my brand new passphrase" })).data!.login.accessToken).toBeTruthy();
    expect(codeOf(await server.gql(RESET, { t: token, p: "yet another passphrase" }))).toBe("BAD_USER_INPUT");
  });

  // Regression: a reset link mailed before a password change still set a password after it.
  it("is void once the password is changed", async () => {
    const email = "changed.since@example.com";
    await signUp(email);
    await server.gql(VERIFY, { t: MailCatcher.token(await mail.latest(email, /confirm/i)) });
    await server.gql(REQUEST_RESET, { e: email });
    const token = MailCatcher.token(await mail.latest(email, /reset your password/i));
    const { accessToken } = (await server.gql(LOGIN, { e: email, p: PASSWORD })).data!.login;
    const changed = await server.gql(
      `mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) }`,
      { c: PASSWORD, n: "my brand new passphrase" },
      accessToken,
    );
    expect(changed.data!.changePassword).toBe(true);
    expect(codeOf(await server.gql(RESET, { t: token, p: "a takeover passphrase" }))).toBe("BAD_USER_INPUT");
    expect((await server.gql(LOGIN, { e: email, p: "my brand new passphrase" })).data!.login.accessToken).toBeTruthy();
  });

  // Regression: a reset link mailed before an admin disabled the account still worked once it was enabled again.
  it("is void once the account is disabled, even after it is enabled again", async () => {
    const email = "disabled.reset@example.com";
    const userId = (await signUp(email)).user.id as string;
    await server.gql(REQUEST_RESET, { e: email });
    const token = MailCatcher.token(await mail.latest(email, /reset your password/i));
    const admin = await server.loginAdmin();
    const UPDATE = `mutation($id: UUID!, $s: UserStatus!) { updateUser(id: $id, input: { status: $s }) { status } }`;
    expect((await server.gql(UPDATE, { id: userId, s: "DISABLED" }, admin.accessToken)).errors).toBeUndefined();
    expect((await server.gql(UPDATE, { id: userId, s: "ACTIVE" }, admin.accessToken)).errors).toBeUndefined();
    expect(codeOf(await server.gql(RESET, { t: token, p: "my brand new passphrase" }))).toBe("BAD_USER_INPUT");
  });
});

describe("with verified email required", () => {
  it("the configured admin can log in, and an unverified sign-up cannot refresh its way around the rule", async () => {
    expect((await server.loginAdmin()).accessToken).toBeTruthy();
    // A session started before verified emails were required does not outlive the requirement.
    const { refreshToken } = await signUp("unverified.refresh@example.com", lenient);
    expect(refreshToken).toBeTruthy();
    const refreshed = await server.gql(`mutation($t: String!) { refreshToken(token: $t) { accessToken } }`, {
      t: refreshToken,
    });
    expect(codeOf(refreshed)).toBe("EMAIL_NOT_VERIFIED");
  });

  // Regression: sign-up started a session for an address nobody had proven, to link identities and
  // enrol factors with while its owner could not even sign in.
  it("signUp starts no session until the email is verified", async () => {
    const result = await server.gql(SIGN_UP, {
      input: { email: "no.session@example.com", password: PASSWORD, displayName: "Waiting" },
    });
    expect(result.errors).toBeUndefined();
    expect(result.data!.signUp).toMatchObject({
      emailVerificationRequired: true,
      accessToken: null,
      refreshToken: null,
    });
    const { id } = await server.app.db.prisma.user.findUniqueOrThrow({ where: { email: "no.session@example.com" } });
    expect(await server.app.db.prisma.session.count({ where: { userId: id } })).toBe(0);
  });
});

describe("an email change", () => {
  // Regression: links mailed to the old address kept working after an admin moved the account.
  it("voids the links mailed to the old address", async () => {
    const email = "moving@example.com";
    const { user } = await signUp(email);
    await server.gql(VERIFY, { t: MailCatcher.token(await mail.latest(email, /confirm/i)) });
    await server.gql(REQUEST_RESET, { e: email });
    const token = MailCatcher.token(await mail.latest(email, /reset your password/i));
    const admin = await server.loginAdmin();
    await server.gql(
      `mutation($id: UUID!) { updateUser(id: $id, input: { email: "moved.away@example.com" }) { id } }`,
      { id: user.id },
      admin.accessToken,
    );
    expect(codeOf(await server.gql(RESET, { t: token, p: "a takeover passphrase" }))).toBe("BAD_USER_INPUT");
  });
});

describe("without SMTP_URL", () => {
  let dev: TestServer;
  beforeAll(async () => {
    dev = await startServer({ database: "pglite" });
  });
  afterAll(() => dev.close());

  it("writes mail to .eml files in the data dir's outbox and logs the file, not the link", async () => {
    const result = await dev.gql(SIGN_UP, {
      input: { email: "outbox@example.com", password: PASSWORD, displayName: "Out" },
    });
    expect(result.errors).toBeUndefined();
    const line = dev.logs.map((l) => JSON.parse(l)).find((l) => l.message === "mail written to the development outbox");
    expect(line.to).toBe("outbox@example.com");
    const eml = fs.readFileSync(line.file, "utf8");
    expect(path.dirname(line.file)).toMatch(/outbox$/);
    expect(eml).toMatch(/verify-email\?token=/);
    expect(dev.logs.join("\n")).not.toMatch(/token=/);
  });
});
