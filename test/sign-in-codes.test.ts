import { randomBytes } from "node:crypto";
import type { ParsedMail } from "mailparser";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { codeOf, PASSWORD, startServer, type TestServer } from "./support/server.js";
import { MailCatcher } from "./support/smtp.js";
import { totpCode } from "./support/totp.js";

const SIGN_UP = `mutation($input: SignUpInput!) { signUp(input: $input) { accessToken user { id emailVerifiedAt } } }`;
const LOGIN = `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken mfaRequired } }`;
const VERIFY_EMAIL = `mutation($t: String!) { verifyEmail(token: $t) }`;
const REQUEST = `mutation($e: String!) { requestSignInCode(email: $e) }`;
const PAYLOAD = `mfaRequired mfaToken accessToken refreshToken user { id email emailVerifiedAt }`;
const WITH_CODE = `mutation($e: String!, $c: String!) { signInWithCode(email: $e, code: $c) { ${PAYLOAD} } }`;
const WITH_LINK = `mutation($t: String!) { signInWithLink(token: $t) { ${PAYLOAD} } }`;
const ME = `{ me { id emailVerifiedAt } }`;
/** The threshold the server locks accounts at: above a code's 5 wrong tries, so the two can be told apart. */
const LOCKOUT_THRESHOLD = 8;

let mail: MailCatcher;
let server: TestServer;
/** A second instance of the same deployment: the per-address limit counts over both. */
let second: TestServer;
/** The same deployment where mailed codes count as two factors. */
let twoFactor: TestServer;
/** A deployment that left email sign-in at its default (off). */
let off: TestServer;

beforeAll(async () => {
  mail = new MailCatcher();
  const smtpUrl = await mail.start();
  const env = {
    SMTP_URL: smtpUrl,
    KAFKEY_APP_URL: "https://app.example.com/",
    KAFKEY_EMAIL_SIGN_IN: "true",
    KAFKEY_LOCKOUT_THRESHOLD: String(LOCKOUT_THRESHOLD),
  };
  server = await startServer({ env });
  second = await startServer({ sharing: server, env });
  twoFactor = await startServer({
    sharing: server,
    env: { ...env, KAFKEY_EMAIL_SIGN_IN_COUNTS_AS_SECOND_FACTOR: "true" },
  });
  off = await startServer({ env: { SMTP_URL: smtpUrl } });
});
afterAll(async () => {
  await off?.close();
  await twoFactor?.close();
  await second?.close();
  await server?.close();
  await mail?.stop();
});

const uniqueEmail = (name: string) => `${name}-${randomBytes(4).toString("hex")}@example.com`;

async function signUp(email: string): Promise<{ id: string; accessToken: string }> {
  const result = await server.gql(SIGN_UP, { input: { email, password: PASSWORD, displayName: "Mailed" } });
  expect(result.errors).toBeUndefined();
  return { id: result.data!.signUp.user.id, accessToken: result.data!.signUp.accessToken };
}

/** Signs up and follows the verification mail: an account whose address was proven before. */
async function verifiedAccount(email: string): Promise<{ id: string }> {
  const user = await signUp(email);
  const token = MailCatcher.token(await mail.latest(email, /confirm your email/i));
  expect((await server.gql(VERIFY_EMAIL, { t: token })).data!.verifyEmail).toBe(true);
  return user;
}

const codeMails = (email: string) =>
  mail.messages.filter((m) => JSON.stringify(m.to).includes(email) && /sign-in code/i.test(m.subject ?? ""));

/** Asks for a code and waits for mail number `nth` (1-based) of the address to arrive. */
async function requestCode(email: string, nth = codeMails(email).length + 1, on = server): Promise<ParsedMail> {
  expect((await on.gql(REQUEST, { e: email })).data!.requestSignInCode).toBe(true);
  await expect.poll(() => codeMails(email).length).toBeGreaterThanOrEqual(nth);
  return codeMails(email)[nth - 1]!;
}

function codeIn(message: ParsedMail): string {
  const match = message.text?.match(/sign-in code is (\d{6})\./);
  if (!match) throw new Error(`no code in: ${message.text}`);
  return match[1]!;
}

const wrong = (code: string) => String((Number(code) + 1) % 1_000_000).padStart(6, "0");

describe("email sign-in codes", () => {
  it("is off by default: every mutation answers FORBIDDEN, reason EMAIL_SIGN_IN_OFF", async () => {
    for (const [query, variables] of [
      [REQUEST, { e: "someone@example.com" }],
      [WITH_CODE, { e: "someone@example.com", c: "123456" }],
      [WITH_LINK, { t: "x".repeat(43) }],
    ] as const) {
      const result = await off.gql(query, variables);
      expect(codeOf(result)).toBe("FORBIDDEN");
      expect(result.errors![0]!.extensions!.reason).toBe("EMAIL_SIGN_IN_OFF");
    }
  });

  it("the code signs in and verifies the address; on an unverified account, what was set before goes", async () => {
    const email = uniqueEmail("code");
    const { id, accessToken: signUpSession } = await signUp(email);
    const message = await requestCode(email);
    expect(message.subject).toBe("Your sign-in code");
    expect(message.text).toContain("https://app.example.com/sign-in/email?token=");
    expect(message.html).toContain("https://app.example.com/sign-in/email?token=");

    const result = await server.gql(WITH_CODE, { e: ` ${email.toUpperCase()} `, c: codeIn(message) });
    expect(result.errors).toBeUndefined();
    const signedIn = result.data!.signInWithCode;
    expect(signedIn.mfaRequired).toBe(false);
    expect(signedIn.user.id).toBe(id);
    expect(signedIn.user.emailVerifiedAt).toBeTruthy();
    expect((await server.gql(ME, {}, signedIn.accessToken)).data!.me).toMatchObject({ id });
    // The password and the session made before the address was proven (maybe by a squatter) are gone.
    expect(codeOf(await server.gql(ME, {}, signUpSession))).toBe("UNAUTHENTICATED");
    expect(codeOf(await server.gql(LOGIN, { e: email, p: PASSWORD }))).toBe("UNAUTHENTICATED");
  });

  it("the link signs in and verifies the address; a verified account keeps its password", async () => {
    const email = uniqueEmail("link");
    const { id } = await verifiedAccount(email);
    const message = await requestCode(email);
    const result = await server.gql(WITH_LINK, { t: MailCatcher.token(message) });
    expect(result.errors).toBeUndefined();
    expect(result.data!.signInWithLink.user).toMatchObject({ id, email });
    expect((await server.gql(ME, {}, result.data!.signInWithLink.accessToken)).data!.me.emailVerifiedAt).toBeTruthy();
    expect((await server.gql(LOGIN, { e: email, p: PASSWORD })).data!.login.accessToken).toBeTruthy();
  });

  it("an unverified account is verified by its link too", async () => {
    const email = uniqueEmail("link-unverified");
    await signUp(email);
    const result = await server.gql(WITH_LINK, { t: MailCatcher.token(await requestCode(email)) });
    expect(result.data!.signInWithLink.user.emailVerifiedAt).toBeTruthy();
  });

  it("refuses reuse: the code and the link of one mail work once, together", async () => {
    const email = uniqueEmail("reuse");
    await verifiedAccount(email);
    const first = await requestCode(email);
    expect((await server.gql(WITH_CODE, { e: email, c: codeIn(first) })).data!.signInWithCode.accessToken).toBeTruthy();
    expect(codeOf(await server.gql(WITH_CODE, { e: email, c: codeIn(first) }))).toBe("UNAUTHENTICATED");
    expect(codeOf(await server.gql(WITH_LINK, { t: MailCatcher.token(first) }))).toBe("UNAUTHENTICATED");

    const next = await requestCode(email);
    expect((await server.gql(WITH_LINK, { t: MailCatcher.token(next) })).data!.signInWithLink.accessToken).toBeTruthy();
    expect(codeOf(await server.gql(WITH_LINK, { t: MailCatcher.token(next) }))).toBe("UNAUTHENTICATED");
    expect(codeOf(await server.gql(WITH_CODE, { e: email, c: codeIn(next) }))).toBe("UNAUTHENTICATED");
  });

  it("a new request voids the previous code and link", async () => {
    const email = uniqueEmail("renewed");
    await verifiedAccount(email);
    const old = await requestCode(email);
    const fresh = await requestCode(email);
    expect(codeOf(await server.gql(WITH_CODE, { e: email, c: codeIn(old) }))).toBe("UNAUTHENTICATED");
    expect(codeOf(await server.gql(WITH_LINK, { t: MailCatcher.token(old) }))).toBe("UNAUTHENTICATED");
    expect((await server.gql(WITH_CODE, { e: email, c: codeIn(fresh) })).data!.signInWithCode.accessToken).toBeTruthy();
  });

  it("gives one session to two concurrent uses of the right code, and of the right link", async () => {
    const email = uniqueEmail("race");
    await verifiedAccount(email);
    const byCode = await requestCode(email);
    const codeTries = await Promise.all([
      server.gql(WITH_CODE, { e: email, c: codeIn(byCode) }),
      second.gql(WITH_CODE, { e: email, c: codeIn(byCode) }),
    ]);
    expect(codeTries.filter((r) => r.data?.signInWithCode?.accessToken).length).toBe(1);
    expect(codeTries.map(codeOf).filter(Boolean)).toEqual(["UNAUTHENTICATED"]);

    const byLink = await requestCode(email);
    const linkTries = await Promise.all([
      server.gql(WITH_LINK, { t: MailCatcher.token(byLink) }),
      second.gql(WITH_LINK, { t: MailCatcher.token(byLink) }),
    ]);
    expect(linkTries.filter((r) => r.data?.signInWithLink?.accessToken).length).toBe(1);
    expect(linkTries.map(codeOf).filter(Boolean)).toEqual(["UNAUTHENTICATED"]);
  });

  it("kills a code after 5 wrong tries; a new code works", async () => {
    const email = uniqueEmail("wrong");
    await verifiedAccount(email);
    const message = await requestCode(email);
    const code = codeIn(message);
    for (let i = 0; i < 5; i++) {
      expect(codeOf(await server.gql(WITH_CODE, { e: email, c: wrong(code) }))).toBe("UNAUTHENTICATED");
    }
    expect(codeOf(await server.gql(WITH_CODE, { e: email, c: code }))).toBe("UNAUTHENTICATED");
    expect(codeOf(await server.gql(WITH_LINK, { t: MailCatcher.token(message) }))).toBe("UNAUTHENTICATED");
    const next = await requestCode(email);
    expect((await server.gql(WITH_CODE, { e: email, c: codeIn(next) })).data!.signInWithCode.accessToken).toBeTruthy();
  });

  it("counts wrong codes toward the account's lockout, which then refuses the right code and the password", async () => {
    const email = uniqueEmail("locked");
    await verifiedAccount(email);
    for (let i = 0; i < LOCKOUT_THRESHOLD; i++) {
      // Not even a code's shape: wrong whatever was mailed, and counted all the same.
      expect(codeOf(await server.gql(WITH_CODE, { e: email, c: "12345a" }))).toBe("UNAUTHENTICATED");
    }
    const message = await requestCode(email);
    expect(codeOf(await server.gql(WITH_CODE, { e: email, c: codeIn(message) }))).toBe("UNAUTHENTICATED");
    expect(codeOf(await server.gql(LOGIN, { e: email, p: PASSWORD }))).toBe("UNAUTHENTICATED");
    expect(server.logs.some((line) => line.includes("security.account_locked"))).toBe(true);
    // The link's token cannot be guessed: the mailbox's owner still gets in while the account is locked.
    expect(
      (await server.gql(WITH_LINK, { t: MailCatcher.token(message) })).data!.signInWithLink.accessToken,
    ).toBeTruthy();
  });

  it("answers true for an unknown address, a service account and a disabled user, and mails none of them", async () => {
    const unknown = uniqueEmail("nobody");
    const serviceEmail = uniqueEmail("service");
    await server.app.db.prisma.user.create({ data: { email: serviceEmail, displayName: "Robot", kind: "service" } });
    const disabledEmail = uniqueEmail("disabled");
    const disabled = await verifiedAccount(disabledEmail);
    const admin = await server.loginAdmin();
    const update = await server.gql(
      `mutation($id: UUID!) { updateUser(id: $id, input: { status: DISABLED }) { id } }`,
      { id: disabled.id },
      admin.accessToken,
    );
    expect(update.errors).toBeUndefined();
    for (const email of [unknown, serviceEmail, disabledEmail]) {
      expect((await server.gql(REQUEST, { e: email })).data!.requestSignInCode).toBe(true);
    }
    // A known address asked for after them: once its mail is here, theirs would have been too.
    const known = uniqueEmail("known");
    await verifiedAccount(known);
    await requestCode(known);
    for (const email of [unknown, serviceEmail, disabledEmail]) expect(codeMails(email)).toHaveLength(0);
    expect(codeOf(await server.gql(WITH_CODE, { e: unknown, c: "123456" }))).toBe("UNAUTHENTICATED");
  });

  it("refuses the code and the link of a user disabled after they were mailed", async () => {
    const email = uniqueEmail("disabled-later");
    const { id } = await verifiedAccount(email);
    const message = await requestCode(email);
    const admin = await server.loginAdmin();
    const update = await server.gql(
      `mutation($id: UUID!) { updateUser(id: $id, input: { status: DISABLED }) { id } }`,
      { id },
      admin.accessToken,
    );
    expect(update.errors).toBeUndefined();
    expect(codeOf(await server.gql(WITH_CODE, { e: email, c: codeIn(message) }))).toBe("UNAUTHENTICATED");
    expect(codeOf(await server.gql(WITH_LINK, { t: MailCatcher.token(message) }))).toBe("UNAUTHENTICATED");
  });

  it("mails an address at most 3 times per 15 minutes, counted over every instance; past it answers true", async () => {
    const email = uniqueEmail("bombed");
    await verifiedAccount(email);
    await requestCode(email, 1, server);
    await requestCode(email, 2, second);
    const third = await requestCode(email, 3, server);
    expect((await second.gql(REQUEST, { e: email })).data!.requestSignInCode).toBe(true);
    expect(second.logs.some((line) => line.includes("auth.sign_in_code_limited"))).toBe(true);
    expect(second.logs.join("\n")).not.toContain(email);
    // The refused request sent nothing and voided nothing: the third mail's code still works.
    expect((await server.gql(WITH_CODE, { e: email, c: codeIn(third) })).data!.signInWithCode.accessToken).toBeTruthy();
    expect(codeMails(email)).toHaveLength(3);
  });

  it("asks for the second factor after a code when TOTP is on, unless the deployment counts the code as one", async () => {
    const email = uniqueEmail("totp");
    await verifiedAccount(email);
    const { accessToken } = (await server.gql(LOGIN, { e: email, p: PASSWORD })).data!.login;
    const setup = await server.gql(
      `mutation($p: String!) { enableTotp(currentPassword: $p) { secret } }`,
      { p: PASSWORD },
      accessToken,
    );
    const { secret } = setup.data!.enableTotp;
    const confirmed = await server.gql(
      `mutation($c: String!) { confirmTotp(code: $c) }`,
      { c: totpCode(secret, Date.now() - 30_000) },
      accessToken,
    );
    expect(confirmed.errors).toBeUndefined();

    const challenged = (await server.gql(WITH_CODE, { e: email, c: codeIn(await requestCode(email)) })).data!
      .signInWithCode;
    expect(challenged).toMatchObject({ mfaRequired: true, accessToken: null });
    const verified = await server.gql(
      `mutation($t: String!, $c: String!) { verifyMfa(mfaToken: $t, code: $c) { accessToken } }`,
      { t: challenged.mfaToken, c: totpCode(secret) },
    );
    expect(verified.data!.verifyMfa.accessToken).toBeTruthy();

    const counted = (await twoFactor.gql(WITH_CODE, { e: email, c: codeIn(await requestCode(email)) })).data!
      .signInWithCode;
    expect(counted.mfaRequired).toBe(false);
    expect(counted.accessToken).toBeTruthy();
  });

  it("stores the code and the link token only as hashes", async () => {
    const email = uniqueEmail("hashed");
    const { id } = await verifiedAccount(email);
    const message = await requestCode(email);
    const rows = await server.app.db.prisma.signInCode.findMany({ where: { userId: id } });
    expect(rows).toHaveLength(1);
    expect(JSON.stringify(rows)).not.toContain(codeIn(message));
    expect(JSON.stringify(rows)).not.toContain(MailCatcher.token(message));
  });
});
