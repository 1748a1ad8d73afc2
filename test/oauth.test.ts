import { OAuth2Server } from "oauth2-mock-server";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { AUTH_CONFLICTS } from "../src/modules/auth/auth.errors.js";
import { OAUTH_CONFLICTS, OAuthErrorCode } from "../src/modules/oauth/oauth.errors.js";
import { ERROR_CODE_ATTRIBUTE } from "../src/platform/http/error-page.js";
import { Browser } from "./support/browser.js";
import { FakeGitHub } from "./support/github.js";
import { codeOf, PASSWORD, readJson, type SignedIn, startServer, type TestServer } from "./support/server.js";
import { MailCatcher } from "./support/smtp.js";
import { totpCode } from "./support/totp.js";

const FRONTEND = "http://app.example.test/oauth/done";
const GOOGLE_CLIENT = "kafkey-google-client";

let google: OAuth2Server;
let github: FakeGitHub;
let server: TestServer;
let mail: MailCatcher;

/** What the "Google" server puts in its next ID tokens; each test says who signs in. */
let googleClaims: Record<string, unknown> = {};
/** A change to the next ID token's claims, for the tests of refused tokens. */
let tamperClaims: ((claims: Record<string, unknown>) => void) | undefined;
/** Every token request the "Google" server received. */
const googleTokenRequests: Record<string, string>[] = [];
/** A change to the next token response, for the test of a forged signature. */
let tamperResponse: ((body: Record<string, unknown>) => void) | undefined;

beforeAll(async () => {
  google = new OAuth2Server();
  await google.issuer.keys.generate("RS256");
  await google.start(0, "127.0.0.1");
  google.service.on("beforeTokenSigning", (token: { payload: Record<string, unknown> }) => {
    Object.assign(token.payload, googleClaims);
    tamperClaims?.(token.payload);
  });
  google.service.on(
    "beforeResponse",
    (response: { body: Record<string, unknown> }, request: { body: Record<string, string> }) => {
      googleTokenRequests.push(request.body);
      tamperResponse?.(response.body);
    },
  );
  github = new FakeGitHub();
  const githubUrl = await github.start();
  mail = new MailCatcher();
  const smtpUrl = await mail.start();
  const issuer = google.issuer.url!;
  server = await startServer({
    env: {
      SMTP_URL: smtpUrl,
      KAFKEY_APP_URL: "https://app.example.com",
      KAFKEY_OAUTH_REDIRECT_ALLOWLIST: `${FRONTEND}, http://other.example.test/done`,
      OAUTH_GOOGLE_CLIENT_ID: GOOGLE_CLIENT,
      OAUTH_GOOGLE_CLIENT_SECRET: "google-secret",
      OAUTH_GOOGLE_AUTHORIZE_URL: `${issuer}/authorize`,
      OAUTH_GOOGLE_TOKEN_URL: `${issuer}/token`,
      OAUTH_GOOGLE_JWKS_URL: `${issuer}/jwks`,
      OAUTH_GOOGLE_ISSUER: issuer,
      OAUTH_GITHUB_CLIENT_ID: "kafkey-github-client",
      OAUTH_GITHUB_CLIENT_SECRET: "github-secret",
      OAUTH_GITHUB_AUTHORIZE_URL: `${githubUrl}/login/oauth/authorize`,
      OAUTH_GITHUB_TOKEN_URL: `${githubUrl}/login/oauth/access_token`,
      OAUTH_GITHUB_API_URL: githubUrl,
    },
  });
});
afterAll(async () => {
  await server.close();
  await google.stop();
  await github.stop();
  await mail.stop();
});
afterEach(() => {
  tamperClaims = undefined;
  tamperResponse = undefined;
});

let people = 0;
/** A new person at the providers, with a verified email. */
function person(name: string) {
  people += 1;
  const email = `${name}-${people}-${Date.now()}@example.com`;
  googleClaims = { sub: `google-${people}-${Date.now()}`, email, email_verified: true, name };
  github.user = {
    id: 1000 + people,
    login: name,
    name,
    emails: [{ email, primary: true, verified: true }],
  };
  return email;
}

const startUrl = (provider: string, redirect = FRONTEND) =>
  `${server.url}/auth/oauth/${provider}/start?redirect_uri=${encodeURIComponent(redirect)}`;

/** Runs a whole sign-in in a fresh browser. @returns the frontend URL it ended at. */
async function signInWith(provider: string, browser = new Browser()): Promise<URL> {
  const end = await browser.visit(startUrl(provider), FRONTEND);
  if ("response" in end)
    throw new Error(`ended at ${end.url} with ${end.response.status}: ${await end.response.text()}`);
  return end.url;
}

/** The code an OAuth failure page states (a browser gets HTML, not JSON: issue 17). */
async function pageCode(response: Response): Promise<string | undefined> {
  expect(response.headers.get("content-type")).toMatch(/^text\/html/);
  return new RegExp(`${ERROR_CODE_ATTRIBUTE}="([A-Z_]+)"`).exec(await response.text())?.[1];
}

const EXCHANGE = `mutation($code: String!) {
  exchangeOAuthCode(code: $code) { mfaRequired mfaToken accessToken refreshToken user { id email emailVerifiedAt } }
}`;

async function exchange(code: string) {
  return server.gql(EXCHANGE, { code });
}

/** A new password user whose email is verified (links need it). */
async function verifiedUser(name: string): Promise<SignedIn> {
  const user = await server.signUp(name);
  await server.app.db.prisma.user.update({ where: { id: user.id }, data: { emailVerifiedAt: new Date() } });
  return user;
}

const LINK = `mutation($p: OAuthProvider!, $r: String!, $pw: String) {
  linkAccount(provider: $p, redirectUri: $r, currentPassword: $pw)
}`;
const CONFIRM_LINK = `mutation($c: String!, $pw: String) { confirmLinkAccount(code: $c, currentPassword: $pw) { provider } }`;

/**
 * Links the person at `provider` (as person() set them up) to `user`, re-authenticating with the
 * password. @returns the link code's confirmation.
 */
async function linkTo(user: SignedIn, provider: "GITHUB" | "GOOGLE") {
  const link = await server.gql(LINK, { p: provider, r: FRONTEND, pw: PASSWORD }, user.accessToken);
  if (!link.data) throw new Error(`linkAccount failed: ${JSON.stringify(link.errors)}`);
  const end = await new Browser().visit(link.data.linkAccount, FRONTEND);
  return server.gql(CONFIRM_LINK, { c: end.url.searchParams.get("link_code") }, user.accessToken);
}

/** The providers linked to the user, as they see them. */
async function linkedProviders(user: SignedIn): Promise<string[]> {
  const linked = await server.gql(`{ linkedAccounts { provider } }`, {}, user.accessToken);
  return linked.data!.linkedAccounts.map((a: { provider: string }) => a.provider);
}

/** Resets the user's password through the mailed link. @returns the reset mail. */
async function resetByMail(email: string, newPassword: string) {
  const before = mail.messages.length;
  await server.gql(`mutation($e: String!) { requestPasswordReset(email: $e) }`, { e: email });
  await expect.poll(() => mail.messages.slice(before).some((m) => JSON.stringify(m.to).includes(email))).toBe(true);
  const message = await mail.latest(email, /reset your password/i);
  const reset = await server.gql(`mutation($t: String!, $p: String!) { resetPassword(token: $t, newPassword: $p) }`, {
    t: MailCatcher.token(message),
    p: newPassword,
  });
  expect(reset.errors).toBeUndefined();
  return message;
}

describe("social sign-in", () => {
  it("signs a new user up with Google, then the same person in with GitHub: one user, two identities", async () => {
    const email = person("ada");
    const landed = await signInWith("google");
    expect(landed.origin + landed.pathname).toBe(FRONTEND);
    const code = landed.searchParams.get("code")!;
    expect(code).toBeTruthy();
    // The frontend sees no token in any URL, only the one-time code.
    expect(landed.toString()).not.toMatch(/token/i);

    const signedIn = await exchange(code);
    expect(signedIn.errors).toBeUndefined();
    const payload = signedIn.data!.exchangeOAuthCode;
    expect(payload.user.email).toBe(email);
    expect(payload.user.emailVerifiedAt).not.toBeNull();
    const me = await server.gql(`{ me { id roles { name } } }`, {}, payload.accessToken);
    expect(me.data!.me).toEqual({ id: payload.user.id, roles: [{ name: "user" }] });

    const viaGitHub = await exchange((await signInWith("github")).searchParams.get("code")!);
    expect(viaGitHub.data!.exchangeOAuthCode.user.id).toBe(payload.user.id);
    const linked = await server.gql(`{ linkedAccounts { provider email emailVerified } }`, {}, payload.accessToken);
    expect(linked.data!.linkedAccounts).toEqual([
      { provider: "GOOGLE", email, emailVerified: true },
      { provider: "GITHUB", email, emailVerified: true },
    ]);

    // Both token endpoints got a PKCE verifier (the servers check it against the challenge).
    expect(googleTokenRequests.at(-1)!.code_verifier).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(github.tokenRequests.at(-1)!.code_verifier).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it("signs the same identity in again, and keeps the user when the email changes at the provider", async () => {
    person("grace");
    const first = (await exchange((await signInWith("google")).searchParams.get("code")!)).data!.exchangeOAuthCode;
    googleClaims.email = `renamed-${Date.now()}@example.com`;
    const again = (await exchange((await signInWith("google")).searchParams.get("code")!)).data!.exchangeOAuthCode;
    expect(again.user.id).toBe(first.user.id);
  });

  it("answers mfaRequired for an account with two-factor authentication", async () => {
    person("secure");
    const user = await verifiedUser("secure");
    expect((await linkTo(user, "GOOGLE")).errors).toBeUndefined();
    const token = user.accessToken;
    const setup = await server.gql(
      `mutation($p: String!) { enableTotp(currentPassword: $p) { secret } }`,
      { p: PASSWORD },
      token,
    );
    await server.gql(
      `mutation($c: String!) { confirmTotp(code: $c) }`,
      { c: totpCode(setup.data!.enableTotp.secret, Date.now() - 30_000) },
      token,
    );

    const result = (await exchange((await signInWith("google")).searchParams.get("code")!)).data!.exchangeOAuthCode;
    expect(result).toMatchObject({ mfaRequired: true, accessToken: null });
    expect(result.mfaToken).toBeTruthy();
  });

  it("lists the providers that are configured", async () => {
    expect((await server.gql(`{ oauthProviders }`)).data!.oauthProviders).toEqual(["GOOGLE", "GITHUB"]);
  });
});

describe("refused sign-ins", () => {
  it("refuses a redirect_uri outside the allow-list, without redirecting", async () => {
    const response = await new Browser().get(startUrl("google", "https://evil.example/steal"));
    expect(response.status).toBe(400);
    expect(response.headers.get("location")).toBeNull();
    expect(await pageCode(response)).toBe("BAD_REQUEST");
  });

  it("answers a browser with an HTML page, escaped, and a client asking for JSON with the GraphQL shape", async () => {
    const provider = encodeURIComponent("<script>x</script>");
    const url = `${server.url}/auth/oauth/${provider}/start?redirect_uri=${encodeURIComponent(FRONTEND)}`;
    const page = await fetch(url, { headers: { accept: "text/html,application/xhtml+xml,*/*;q=0.8" } });
    expect(page.status).toBe(404);
    expect(page.headers.get("content-security-policy")).toContain("default-src 'none'");
    const html = await page.text();
    expect(html).toContain(`${ERROR_CODE_ATTRIBUTE}="NOT_FOUND"`);
    expect(html).not.toContain("<script>");
    expect(html).toContain("&lt;script&gt;");

    const json = await fetch(url, { headers: { accept: "application/json" } });
    expect(json.status).toBe(404);
    expect(json.headers.get("content-type")).toMatch(/^application\/json/);
    expect((await readJson(json)).errors[0].extensions.code).toBe("NOT_FOUND");
  });

  it("answers 404 for a provider that is not configured", async () => {
    const response = await new Browser().get(startUrl("facebook"));
    expect(response.status).toBe(404);
    expect(await pageCode(response)).toBe("NOT_FOUND");
  });

  it("refuses a callback in another browser, a replayed one, and an unknown state", async () => {
    person("replay");
    const browser = new Browser();
    const toProvider = await browser.get(startUrl("google"));
    const atProvider = await browser.get(toProvider.headers.get("location")!);
    const callback = atProvider.headers.get("location")!;
    expect(callback).toContain("/auth/oauth/google/callback");

    // Another browser (the victim of a login CSRF) cannot complete this flow, nor spoil it.
    const elsewhere = await new Browser().get(callback);
    expect(elsewhere.status).toBe(400);
    expect(await pageCode(elsewhere)).toBe("INVALID_STATE");
    const completed = await browser.get(callback);
    expect(new URL(completed.headers.get("location")!).searchParams.get("code")).toBeTruthy();
    // Once used, the state is gone.
    const replayed = await browser.get(callback);
    expect(replayed.status).toBe(400);
    expect(await pageCode(replayed)).toBe("INVALID_STATE");

    const unknown = await browser.get(`${server.url}/auth/oauth/google/callback?code=x&state=not-a-state`);
    expect(unknown.status).toBe(400);
    const repeated = await browser.get(`${server.url}/auth/oauth/google/callback?code=x&state=a&state=b`);
    expect(repeated.status).toBe(400);
  });

  it("keeps two flows of one browser apart, and hands the frontend's state back", async () => {
    person("two-tabs");
    const browser = new Browser();
    const first = await browser.get(`${startUrl("google")}&state=tab-1`);
    await browser.get(`${startUrl("google")}&state=tab-2`);
    const end = await browser.visit(first.headers.get("location")!, FRONTEND);
    expect("response" in end).toBe(false);
    expect(end.url.searchParams.get("state")).toBe("tab-1");
    expect(end.url.searchParams.get("code")).toBeTruthy();
  });

  it("tells the frontend when the user refused at the provider", async () => {
    const browser = new Browser();
    const toProvider = await browser.get(startUrl("google"));
    const state = new URL(toProvider.headers.get("location")!).searchParams.get("state")!;
    const end = await browser.visit(
      `${server.url}/auth/oauth/google/callback?error=access_denied&state=${encodeURIComponent(state)}`,
      FRONTEND,
    );
    expect(end.url.searchParams.get("error")).toBe(OAuthErrorCode.ACCESS_DENIED);
  });

  it("refuses a code issued for another flow (its PKCE verifier does not match)", async () => {
    person("injected");
    const victim = new Browser();
    const victimStart = await victim.get(startUrl("github"));
    const victimState = new URL(victimStart.headers.get("location")!).searchParams.get("state")!;
    // The attacker's own flow yields a code bound to the attacker's PKCE challenge.
    const attacker = new Browser();
    const attackerStart = await attacker.get(startUrl("github"));
    const attackerCallback = new URL(
      (await attacker.get(attackerStart.headers.get("location")!)).headers.get("location")!,
    );
    const injected = `${server.url}/auth/oauth/github/callback?code=${attackerCallback.searchParams.get("code")}&state=${victimState}`;
    const end = await victim.visit(injected, FRONTEND);
    expect("url" in end && !("response" in end) ? end.url.searchParams.get("error") : undefined).toBe(
      OAuthErrorCode.PROVIDER_ERROR,
    );
  });

  it.each([
    ["a wrong audience", (c: Record<string, unknown>) => void (c.aud = "someone-else")],
    ["a wrong issuer", (c: Record<string, unknown>) => void (c.iss = "https://evil.example")],
    ["a wrong nonce", (c: Record<string, unknown>) => void (c.nonce = "replayed-nonce")],
    ["an expired token", (c: Record<string, unknown>) => void (c.exp = Math.floor(Date.now() / 1000) - 3600)],
  ])("refuses an ID token with %s", async (_name, tamper) => {
    person("tampered");
    tamperClaims = (claims) => {
      if (claims.aud === GOOGLE_CLIENT || claims.nonce) tamper(claims);
    };
    const landed = await signInWith("google");
    expect(landed.searchParams.get("error")).toBe(OAuthErrorCode.INVALID_ID_TOKEN);
    expect(landed.searchParams.get("code")).toBeNull();
  });

  it("refuses an ID token whose signature does not match its content", async () => {
    person("forged");
    tamperResponse = (body) => {
      const [header, payload, signature] = String(body.id_token).split(".");
      const claims = JSON.parse(Buffer.from(payload!, "base64url").toString()) as Record<string, unknown>;
      claims.email = "admin@kafkey.test";
      body.id_token = [header, Buffer.from(JSON.stringify(claims)).toString("base64url"), signature].join(".");
    };
    expect((await signInWith("google")).searchParams.get("error")).toBe(OAuthErrorCode.INVALID_ID_TOKEN);
  });

  it("exchanges a sign-in code once", async () => {
    person("once");
    const code = (await signInWith("google")).searchParams.get("code")!;
    expect((await exchange(code)).errors).toBeUndefined();
    expect(codeOf(await exchange(code))).toBe("UNAUTHENTICATED");
  });

  it("does not join an existing account whose email is not verified", async () => {
    const email = person("squatted");
    // Someone signed up with this address and never proved it is theirs.
    await server.gql(`mutation($input: SignUpInput!) { signUp(input: $input) { accessToken } }`, {
      input: { email, password: PASSWORD, displayName: "Squatter" },
    });
    expect((await signInWith("google")).searchParams.get("error")).toBe(OAuthErrorCode.ACCOUNT_EXISTS_UNVERIFIED);
    expect(await server.app.db.prisma.socialAccount.count({ where: { email } })).toBe(0);
  });

  // Regression: a squatter signed up with the owner's address and a password; the owner clicked the
  // verification mail; the owner's Google sign-in then joined the squatter's account by email, and the
  // squatter's password and sessions went on working in it.
  it("does not join an account that has a password, even a verified one: its owner links from it", async () => {
    const email = person("clicked");
    await server.gql(`mutation($input: SignUpInput!) { signUp(input: $input) { user { id } } }`, {
      input: { email, password: PASSWORD, displayName: "Squatter" },
    });
    await server.app.db.prisma.user.update({ where: { email }, data: { emailVerifiedAt: new Date() } }); // the click
    expect((await signInWith("google")).searchParams.get("error")).toBe(OAuthErrorCode.ACCOUNT_EXISTS);
    expect(await server.app.db.prisma.socialAccount.count({ where: { email } })).toBe(0);
  });

  it("does not create an account for an email the provider has not verified", async () => {
    const email = person("unverified-new");
    github.user.emails = [{ email, primary: true, verified: false }];
    expect((await signInWith("github")).searchParams.get("error")).toBe(OAuthErrorCode.EMAIL_UNVERIFIED);
    expect(await server.app.db.prisma.user.count({ where: { email } })).toBe(0);
  });

  it("does not join an account by an email the provider has not verified", async () => {
    const email = person("unproven");
    await server.gql(`mutation($input: SignUpInput!) { signUp(input: $input) { accessToken } }`, {
      input: { email, password: PASSWORD, displayName: "Owner" },
    });
    await server.app.db.prisma.user.update({ where: { email }, data: { emailVerifiedAt: new Date() } });
    github.user.emails = [{ email, primary: true, verified: false }];
    expect((await signInWith("github")).searchParams.get("error")).toBe(OAuthErrorCode.ACCOUNT_EXISTS_UNVERIFIED);
  });
});

describe("linked accounts", () => {
  it("links a provider to a signed-in user, and unlinks it unless it is the last way to sign in", async () => {
    const user = await verifiedUser("linker");
    person("linker-at-github");
    const link = await server.gql(LINK, { p: "GITHUB", r: FRONTEND, pw: PASSWORD }, user.accessToken);
    const end = await new Browser().visit(link.data!.linkAccount, FRONTEND);
    expect("response" in end).toBe(false);
    const linkCode = end.url.searchParams.get("link_code")!;
    expect(linkCode).toBeTruthy();
    const confirmed = await server.gql(
      `mutation($c: String!) { confirmLinkAccount(code: $c) { provider emailVerified } }`,
      { c: linkCode },
      user.accessToken,
    );
    expect(confirmed.data!.confirmLinkAccount).toEqual({ provider: "GITHUB", emailVerified: true });
    const linked = await server.gql(`{ linkedAccounts { provider } }`, {}, user.accessToken);
    expect(linked.data!.linkedAccounts).toEqual([{ provider: "GITHUB" }]);
    // Signing in with that GitHub identity now reaches this user.
    const viaGitHub = await exchange((await signInWith("github")).searchParams.get("code")!);
    expect(viaGitHub.data!.exchangeOAuthCode.user.id).toBe(user.id);

    const unlink = `mutation { unlinkAccount(provider: GITHUB) }`;
    expect((await server.gql(unlink, {}, user.accessToken)).data!.unlinkAccount).toBe(true);
    expect(codeOf(await server.gql(unlink, {}, user.accessToken))).toBe("NOT_FOUND");
  });

  it("links nothing when a link URL is completed by someone else (link CSRF)", async () => {
    const attacker = await verifiedUser("attacker");
    const victim = await verifiedUser("victim");
    person("victim-at-github");
    const link = await server.gql(LINK, { p: "GITHUB", r: FRONTEND, pw: PASSWORD }, attacker.accessToken);
    // The victim's browser runs the attacker's link URL through the victim's own GitHub account.
    const end = await new Browser().visit(link.data!.linkAccount, FRONTEND);
    const refused = await server.gql(
      CONFIRM_LINK,
      { c: end.url.searchParams.get("link_code"), pw: PASSWORD },
      victim.accessToken,
    );
    expect(codeOf(refused)).toBe("FORBIDDEN");
    expect(await server.app.db.prisma.socialAccount.count({ where: { userId: attacker.id } })).toBe(0);
  });

  it("refuses to unlink the only way a social-only user signs in", async () => {
    person("social-only");
    const { accessToken, user } = (await exchange((await signInWith("google")).searchParams.get("code")!)).data!
      .exchangeOAuthCode;
    // No password, no second factor: it re-authenticates with a code mailed to its address.
    await server.gql(`mutation { requestReauthenticationCode }`, {}, accessToken);
    const code = MailCatcher.token(await mail.latest(user.email, /confirm it is you/i));
    const stepUp = await server.gql(`mutation($c: String!) { stepUp(emailCode: $c) }`, { c: code }, accessToken);
    expect(stepUp.errors).toBeUndefined();
    const refused = await server.gql(`mutation { unlinkAccount(provider: GOOGLE) }`, {}, accessToken);
    expect(codeOf(refused)).toBe("CONFLICT");
    expect(refused.errors![0]!.extensions!.reason).toBe(AUTH_CONFLICTS.LAST_SIGN_IN_METHOD);
  });

  it("refuses to link an identity that belongs to another user", async () => {
    person("taken");
    await exchange((await signInWith("github")).searchParams.get("code")!);
    const other = await verifiedUser("other");
    const refused = await linkTo(other, "GITHUB");
    expect(codeOf(refused)).toBe("CONFLICT");
    expect(refused.errors![0]!.extensions!.reason).toBe(OAUTH_CONFLICTS.ALREADY_LINKED);
  });

  it("records links, unlinks and social sign-ins in the audit trail", async () => {
    await server.app.auditDispatcher.drain();
    const actions = (await server.app.db.prisma.auditEvent.findMany({ select: { action: true } })).map((e) => e.action);
    for (const action of [
      "auth.social_login",
      "user.social_linked",
      "user.social_unlinked",
      "auth.social_login_failed",
    ]) {
      expect(actions).toContain(action);
    }
    // An account made by a social sign-in says so.
    const created = await server.app.db.prisma.auditEvent.findMany({ where: { action: "user.created" } });
    expect(created.map((e) => e.changes)).toContainEqual(
      expect.arrayContaining([{ field: "signInProvider", before: null, after: "google" }]),
    );
  });
});

const NEW_PASSWORD = "another perfectly long password";
const LOGIN = `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { mfaRequired mfaToken accessToken } }`;
const VERIFY_MFA = `mutation($t: String!, $c: String!) { verifyMfa(mfaToken: $t, code: $c) { accessToken user { id } } }`;

/** Turns TOTP on for `user` (re-authenticating with the password). @returns the secret. */
async function turnTotpOn(user: SignedIn): Promise<string> {
  const setup = await server.gql(
    `mutation($p: String!) { enableTotp(currentPassword: $p) { secret } }`,
    { p: PASSWORD },
    user.accessToken,
  );
  const secret = setup.data!.enableTotp.secret;
  const on = await server.gql(
    `mutation($c: String!) { confirmTotp(code: $c) }`,
    { c: totpCode(secret, Date.now() - 30_000) },
    user.accessToken,
  );
  expect(on.errors).toBeUndefined();
  return secret;
}

/** Where signing in with the person at `provider` (as person() set them up) lands: a user id or an error. */
async function signInLands(provider: string): Promise<{ userId?: string; error?: string | null }> {
  const landed = await signInWith(provider);
  const code = landed.searchParams.get("code");
  if (!code) return { error: landed.searchParams.get("error") };
  const result = await exchange(code);
  return { userId: result.data?.exchangeOAuthCode.user?.id, error: codeOf(result) };
}

describe("account pre-hijacking", () => {
  // Regression: someone who signed up with another person's address linked their own Google identity
  // and, once the owner had taken the account back by a password reset, signed in to it through Google.
  it("keeps a squatter out of the account its owner recovered by a password reset", async () => {
    const victimEmail = `hijack-victim-${Date.now()}@example.com`;
    person("squatter-at-google");
    const squatter = await server.gql(
      `mutation($input: SignUpInput!) { signUp(input: $input) { accessToken user { id } } }`,
      { input: { email: victimEmail, password: PASSWORD, displayName: "Not the owner" } },
    );
    const squatterToken = squatter.data!.signUp.accessToken;
    const PLAIN_LINK = `mutation($r: String!) { linkAccount(provider: GOOGLE, redirectUri: $r) }`;
    expect(codeOf(await server.gql(PLAIN_LINK, { r: FRONTEND }, squatterToken))).toBe("REAUTHENTICATION_REQUIRED");
    // Re-authenticated, still: the address is nobody's proven one yet, no provider identity may be linked to it.
    const link = await server.gql(LINK, { p: "GOOGLE", r: FRONTEND, pw: PASSWORD }, squatterToken);
    expect(codeOf(link)).toBe("CONFLICT");
    expect(link.errors![0]!.extensions!.reason).toBe(AUTH_CONFLICTS.EMAIL_NOT_VERIFIED);

    // The owner cannot sign up, takes the account back through their mailbox, and signs in.
    const owner = await server.gql(`mutation($input: SignUpInput!) { signUp(input: $input) { accessToken } }`, {
      input: { email: victimEmail, password: PASSWORD, displayName: "Owner" },
    });
    expect(codeOf(owner)).toBe("CONFLICT");
    await resetByMail(victimEmail, NEW_PASSWORD);
    const signedIn = await server.login(victimEmail, NEW_PASSWORD);
    expect(await linkedProviders(signedIn)).toEqual([]);

    // The squatter's Google identity reaches some other account, never the owner's.
    const viaGoogle = await signInLands("google");
    expect(viaGoogle.userId).toBeDefined();
    expect(viaGoogle.userId).not.toBe(signedIn.id);
    expect(codeOf(await server.gql(`{ me { id } }`, {}, squatterToken))).toBe("UNAUTHENTICATED");
  });

  it("removes every linked identity at a password reset, says so in the mail and the security events, and keeps a verified account's second factor", async () => {
    const user = await verifiedUser("reset-linked");
    person("reset-linked-at-github");
    expect((await linkTo(user, "GITHUB")).errors).toBeUndefined();
    const secret = await turnTotpOn(user);

    const resetMail = await resetByMail(user.email, NEW_PASSWORD);
    expect(resetMail.text).toMatch(/unlinks every linked sign-in account/);
    // A reset proves the mailbox, not the second factor: it is still asked for.
    const login = (await server.gql(LOGIN, { e: user.email, p: NEW_PASSWORD })).data!.login;
    expect(login).toMatchObject({ mfaRequired: true, accessToken: null });
    const done = await server.gql(VERIFY_MFA, { t: login.mfaToken, c: totpCode(secret) });
    const token = done.data!.verifyMfa.accessToken;
    expect(await linkedProviders({ ...user, accessToken: token })).toEqual([]);
    expect((await signInLands("github")).userId).not.toBe(user.id);

    await server.app.auditDispatcher.drain();
    await expect
      .poll(async () => {
        const inbox = await server.gql(`{ notifications(first: 50) { edges { node { kind } } } }`, {}, token);
        return inbox.data!.notifications.edges.map((e: { node: { kind: string } }) => e.node.kind);
      })
      .toEqual(expect.arrayContaining(["auth.password_reset", "user.social_unlinked"]));
  });

  it("removes the second factor an account set up before its email was verified, at a reset", async () => {
    const user = await server.signUp("unverified-totp");
    await turnTotpOn(user);
    await resetByMail(user.email, NEW_PASSWORD);
    const login = (await server.gql(LOGIN, { e: user.email, p: NEW_PASSWORD })).data!.login;
    expect(login.mfaRequired).toBe(false);
    expect(login.accessToken).toBeTruthy();
  });

  it("removes the passkeys an account registered before its email was verified, at a reset", async () => {
    const user = await server.signUp("unverified-passkey");
    // As a registration leaves it: a squatter's passkey, registered before the owner proved the address.
    const { prisma } = server.app.db;
    await prisma.passkey.create({
      data: {
        userId: user.id,
        credentialId: `squatter-${user.id}`,
        publicKey: new Uint8Array(77),
        counter: 0n,
        transports: ["internal"],
        deviceType: "multiDevice",
        backedUp: true,
        name: "Squatter's phone",
      },
    });
    await resetByMail(user.email, NEW_PASSWORD);
    expect(await prisma.passkey.count({ where: { userId: user.id } })).toBe(0);
  });

  it("voids link flows, link codes and MFA challenges pending at a password reset", async () => {
    const user = await verifiedUser("pending-at-reset");
    person("pending-at-github");
    const started = await server.gql(LINK, { p: "GITHUB", r: FRONTEND, pw: PASSWORD }, user.accessToken);
    const proved = await server.gql(LINK, { p: "GITHUB", r: FRONTEND }, user.accessToken);
    const linkCode = (await new Browser().visit(proved.data!.linkAccount, FRONTEND)).url.searchParams.get("link_code");
    expect(linkCode).toBeTruthy();
    const secret = await turnTotpOn(user);
    const challenge = (await server.gql(LOGIN, { e: user.email, p: PASSWORD })).data!.login.mfaToken;

    await resetByMail(user.email, NEW_PASSWORD);
    const again = (await server.gql(LOGIN, { e: user.email, p: NEW_PASSWORD })).data!.login.mfaToken;
    const token = (await server.gql(VERIFY_MFA, { t: again, c: totpCode(secret) })).data!.verifyMfa.accessToken;

    expect((await new Browser().get(started.data!.linkAccount)).status).toBe(400);
    const confirm = await server.gql(CONFIRM_LINK, { c: linkCode, pw: NEW_PASSWORD }, token);
    expect(codeOf(confirm)).toBe("BAD_USER_INPUT");
    expect(codeOf(await server.gql(VERIFY_MFA, { t: challenge, c: totpCode(secret, Date.now() + 30_000) }))).toBe(
      "UNAUTHENTICATED",
    );
    expect(await linkedProviders({ ...user, accessToken: token })).toEqual([]);
  });

  // Regression: the one-time code of a social sign-in made just before a reset still opened a session
  // after the reset had removed the identity and ended every session.
  it("voids a social sign-in code issued before a password reset", async () => {
    person("code-before-reset");
    const user = await verifiedUser("code-before-reset");
    expect((await linkTo(user, "GOOGLE")).errors).toBeUndefined();
    const code = (await signInWith("google")).searchParams.get("code")!;
    expect(code).toBeTruthy();
    await resetByMail(user.email, NEW_PASSWORD);
    expect(codeOf(await exchange(code))).toBe("UNAUTHENTICATED");
  });

  it("signs in through a linked identity only to an account whose email is verified, or one made with it", async () => {
    const admin = await server.loginAdmin();
    const changeEmail = (id: string) =>
      server.gql(
        `mutation($id: UUID!, $e: String!) { updateUser(id: $id, input: { email: $e }) { emailVerifiedAt } }`,
        { id, e: `changed-${Date.now()}-${Math.random()}@example.com` },
        admin.accessToken,
      );
    const user = await verifiedUser("address-changed");
    person("address-changed-at-github");
    expect((await linkTo(user, "GITHUB")).errors).toBeUndefined();
    expect((await signInLands("github")).userId).toBe(user.id);
    // A new address is unproven: the identity linked to the account does not open it until it is.
    expect((await changeEmail(user.id)).data!.updateUser.emailVerifiedAt).toBeNull();
    expect(await signInLands("github")).toEqual({ error: OAuthErrorCode.ACCOUNT_EMAIL_UNVERIFIED });

    // An account made by signing in with Google keeps signing in with it.
    person("made-with-google");
    const made = await signInLands("google");
    await changeEmail(made.userId!);
    expect((await signInLands("google")).userId).toBe(made.userId);
  });
});

describe("stolen access tokens and linked identities", () => {
  // Regression: the victim's access token alone attached the thief's identity, which outlived
  // changePassword and logoutAll.
  it("refuses to link with an access token alone", async () => {
    const victim = await verifiedUser("token-victim");
    person("thief-at-github");
    const refused = await server.gql(
      `mutation($r: String!) { linkAccount(provider: GITHUB, redirectUri: $r) }`,
      { r: FRONTEND },
      victim.accessToken,
    );
    expect(codeOf(refused)).toBe("REAUTHENTICATION_REQUIRED");
    expect(refused.errors![0]!.extensions!.methods).toEqual(["password"]);
    const guessed = await server.gql(LINK, { p: "GITHUB", r: FRONTEND, pw: "not the password!" }, victim.accessToken);
    expect(codeOf(guessed)).toBe("BAD_USER_INPUT");
    // The proof is checked again at the confirmation: a link code alone does not do either.
    const stepUp = await server.gql(
      `mutation($p: String!) { stepUp(currentPassword: $p) }`,
      { p: PASSWORD },
      victim.accessToken,
    );
    const url = (await server.gql(LINK, { p: "GITHUB", r: FRONTEND }, victim.accessToken)).data!.linkAccount;
    expect(new Date(stepUp.data!.stepUp).getTime()).toBeGreaterThan(Date.now());
    const other = await server.login(victim.email, PASSWORD);
    const code = (await new Browser().visit(url, FRONTEND)).url.searchParams.get("link_code");
    expect(codeOf(await server.gql(CONFIRM_LINK, { c: code }, other.accessToken))).toBe("REAUTHENTICATION_REQUIRED");
  });

  it("unlinks every identity at logoutAll or a password change when asked, and not by default", async () => {
    const user = await verifiedUser("panic");
    person("panic-at-github");
    expect((await linkTo(user, "GITHUB")).errors).toBeUndefined();
    expect(await server.gql(`mutation { logoutAll }`, {}, user.accessToken)).toMatchObject({ data: { logoutAll: 1 } });
    const again = await server.login(user.email, PASSWORD);
    expect(await linkedProviders(again)).toEqual(["GITHUB"]);

    const LOGOUT_ALL = `mutation($pw: String) { logoutAll(removeLinkedAccounts: true, currentPassword: $pw) }`;
    expect(codeOf(await server.gql(LOGOUT_ALL, {}, again.accessToken))).toBe("REAUTHENTICATION_REQUIRED");
    expect((await server.gql(LOGOUT_ALL, { pw: PASSWORD }, again.accessToken)).data!.logoutAll).toBe(1);
    const third = await server.login(user.email, PASSWORD);
    expect(await linkedProviders(third)).toEqual([]);
    expect((await mail.latest(user.email, /method was unlinked/)).text).toContain("GitHub");

    person("panic-at-google");
    expect((await linkTo(third, "GOOGLE")).errors).toBeUndefined();
    const changed = await server.gql(
      `mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n, removeLinkedAccounts: true) }`,
      { c: PASSWORD, n: NEW_PASSWORD },
      third.accessToken,
    );
    expect(changed.data!.changePassword).toBe(true);
    expect(await linkedProviders(third)).toEqual([]);
  });

  it("mails the user of each link and unlink", async () => {
    const user = await verifiedUser("told");
    person("told-at-github");
    expect((await linkTo(user, "GITHUB")).errors).toBeUndefined();
    expect((await mail.latest(user.email, /method was linked/)).text).toContain("Your GitHub account was linked");
    expect(
      (await server.gql(`mutation { unlinkAccount(provider: GITHUB) }`, {}, user.accessToken)).errors,
    ).toBeUndefined();
    expect((await mail.latest(user.email, /method was unlinked/)).text).toContain("Your GitHub account was unlinked");
  });
});
