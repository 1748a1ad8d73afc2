import { OAuth2Server } from "oauth2-mock-server";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Browser } from "./support/browser.js";
import { FakeGitHub } from "./support/github.js";
import { codeOf, PASSWORD, readJson, startServer, type TestServer } from "./support/server.js";
import { totpCode } from "./support/totp.js";

const FRONTEND = "http://app.example.test/oauth/done";
const GOOGLE_CLIENT = "kafkey-google-client";

let google: OAuth2Server;
let github: FakeGitHub;
let server: TestServer;

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
  const issuer = google.issuer.url!;
  server = await startServer({
    env: {
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

const EXCHANGE = `mutation($code: String!) {
  exchangeOAuthCode(code: $code) { mfaRequired mfaToken accessToken refreshToken user { id email emailVerifiedAt } }
}`;

async function exchange(code: string) {
  return server.gql(EXCHANGE, { code });
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
    const email = person("secure");
    const user = await server.gql(
      `mutation($input: SignUpInput!) { signUp(input: $input) { accessToken user { id } } }`,
      { input: { email, password: PASSWORD, displayName: "Secure" } },
    );
    const token = user.data!.signUp.accessToken;
    await server.app.db.prisma.user.update({ where: { email }, data: { emailVerifiedAt: new Date() } });
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
    expect((await readJson(response)).errors[0].extensions.code).toBe("BAD_REQUEST");
  });

  it("answers 404 for a provider that is not configured", async () => {
    const response = await new Browser().get(startUrl("facebook"));
    expect(response.status).toBe(404);
    expect((await readJson(response)).errors[0].message).toMatch(/not configured/);
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
    expect((await readJson(elsewhere)).errors[0].extensions.code).toBe("INVALID_STATE");
    const completed = await browser.get(callback);
    expect(new URL(completed.headers.get("location")!).searchParams.get("code")).toBeTruthy();
    // Once used, the state is gone.
    const replayed = await browser.get(callback);
    expect(replayed.status).toBe(400);
    expect((await readJson(replayed)).errors[0].extensions.code).toBe("INVALID_STATE");

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
    expect(end.url.searchParams.get("error")).toBe("ACCESS_DENIED");
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
    expect("url" in end && !("response" in end) ? end.url.searchParams.get("error") : undefined).toBe("PROVIDER_ERROR");
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
    expect(landed.searchParams.get("error")).toBe("INVALID_ID_TOKEN");
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
    expect((await signInWith("google")).searchParams.get("error")).toBe("INVALID_ID_TOKEN");
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
    expect((await signInWith("google")).searchParams.get("error")).toBe("ACCOUNT_EXISTS_UNVERIFIED");
    expect(await server.app.db.prisma.socialAccount.count({ where: { email } })).toBe(0);
  });

  it("does not create an account for an email the provider has not verified", async () => {
    const email = person("unverified-new");
    github.user.emails = [{ email, primary: true, verified: false }];
    expect((await signInWith("github")).searchParams.get("error")).toBe("EMAIL_UNVERIFIED");
    expect(await server.app.db.prisma.user.count({ where: { email } })).toBe(0);
  });

  it("does not join an account by an email the provider has not verified", async () => {
    const email = person("unproven");
    await server.gql(`mutation($input: SignUpInput!) { signUp(input: $input) { accessToken } }`, {
      input: { email, password: PASSWORD, displayName: "Owner" },
    });
    await server.app.db.prisma.user.update({ where: { email }, data: { emailVerifiedAt: new Date() } });
    github.user.emails = [{ email, primary: true, verified: false }];
    expect((await signInWith("github")).searchParams.get("error")).toBe("ACCOUNT_EXISTS_UNVERIFIED");
  });
});

describe("linked accounts", () => {
  it("links a provider to a signed-in user, and unlinks it unless it is the last way to sign in", async () => {
    const user = await server.signUp("linker");
    person("linker-at-github");
    const link = await server.gql(
      `mutation($r: String!) { linkAccount(provider: GITHUB, redirectUri: $r) }`,
      { r: FRONTEND },
      user.accessToken,
    );
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
    const attacker = await server.signUp("attacker");
    const victim = await server.signUp("victim");
    person("victim-at-github");
    const link = await server.gql(
      `mutation($r: String!) { linkAccount(provider: GITHUB, redirectUri: $r) }`,
      { r: FRONTEND },
      attacker.accessToken,
    );
    // The victim's browser runs the attacker's link URL through the victim's own GitHub account.
    const end = await new Browser().visit(link.data!.linkAccount, FRONTEND);
    const confirm = `mutation($c: String!) { confirmLinkAccount(code: $c) { provider } }`;
    const refused = await server.gql(confirm, { c: end.url.searchParams.get("link_code") }, victim.accessToken);
    expect(codeOf(refused)).toBe("FORBIDDEN");
    expect(await server.app.db.prisma.socialAccount.count({ where: { userId: attacker.id } })).toBe(0);
  });

  it("refuses to unlink the only way a social-only user signs in", async () => {
    person("social-only");
    const { accessToken } = (await exchange((await signInWith("google")).searchParams.get("code")!)).data!
      .exchangeOAuthCode;
    const refused = await server.gql(`mutation { unlinkAccount(provider: GOOGLE) }`, {}, accessToken);
    expect(codeOf(refused)).toBe("CONFLICT");
    expect(refused.errors![0]!.extensions!.reason).toBe("LAST_SIGN_IN_METHOD");
  });

  it("refuses to link an identity that belongs to another user", async () => {
    person("taken");
    await exchange((await signInWith("github")).searchParams.get("code")!);
    const other = await server.signUp("other");
    const link = await server.gql(
      `mutation($r: String!) { linkAccount(provider: GITHUB, redirectUri: $r) }`,
      { r: FRONTEND },
      other.accessToken,
    );
    const end = await new Browser().visit(link.data!.linkAccount, FRONTEND);
    const refused = await server.gql(
      `mutation($c: String!) { confirmLinkAccount(code: $c) { provider } }`,
      { c: end.url.searchParams.get("link_code") },
      other.accessToken,
    );
    expect(codeOf(refused)).toBe("CONFLICT");
    expect(refused.errors![0]!.extensions!.reason).toBe("ALREADY_LINKED");
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
