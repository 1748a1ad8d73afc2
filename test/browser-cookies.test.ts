/**
 * Cookie sessions in a real Chromium (issue 17): a single-page app on its own port (cookie-app.ts,
 * Apollo Client 4 in cookie mode) signs up, logs in, survives a reload and two tabs refreshing at once,
 * logs out of both tabs, signs in through the whole OAuth redirect flow against oauth2-mock-server, and
 * opens a subscription with the cookie; the page's script never sees a token. The app and Kafkey share
 * the host name 127.0.0.1 (same site, so SameSite lets the cookies go); a page on another port of the
 * same host, not allowed, gets nothing. Every request off the loopback is refused and counted.
 */
import { randomBytes } from "node:crypto";
import path from "node:path";
import { OAuth2Server } from "oauth2-mock-server";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { CookieApp, Outcome } from "./browser-pages/cookie-app.js";
import {
  bundle,
  chromiumMissing,
  loopbackContext,
  offLoopbackRequests,
  type PageServer,
  servePages,
  startBrowser,
} from "./support/chromium.js";
import { PASSWORD, startServer, type TestServer } from "./support/server.js";
import { until } from "./support/until.js";

const missing = chromiumMissing();
const PAGES = path.join(import.meta.dirname, "browser-pages");
const GOOGLE_CLIENT = "kafkey-google-client";

let browser: Browser;
let server: TestServer;
let google: OAuth2Server;
let app: PageServer;
let foreign: PageServer;
let context: BrowserContext;
/** Who the provider says signs in, in the ID tokens it signs next. */
let googleClaims: Record<string, unknown> = {};

beforeAll(async () => {
  if (missing) return;
  google = new OAuth2Server();
  await google.issuer.keys.generate("RS256");
  await google.start(0, "127.0.0.1");
  // Every token the provider signs (its ID token among them) says who signs in.
  google.service.on("beforeTokenSigning", (token: { payload: Record<string, unknown> }) => {
    Object.assign(token.payload, googleClaims);
  });
  const script = await bundle(path.join(PAGES, "cookie-app.ts"));
  // Kafkey's URL is known once it listens, the app's origin before: the app's port comes first.
  app = await servePages(PAGES, { files: { "/cookie-app.js": script } });
  const issuer = google.issuer.url!;
  [browser, server] = await Promise.all([
    startBrowser(),
    startServer({
      env: {
        KAFKEY_CORS_ORIGINS: app.origin,
        KAFKEY_OAUTH_REDIRECT_ALLOWLIST: app.url("/cookie-app.html"),
        OAUTH_GOOGLE_CLIENT_ID: GOOGLE_CLIENT,
        OAUTH_GOOGLE_CLIENT_SECRET: "google-secret",
        OAUTH_GOOGLE_AUTHORIZE_URL: `${issuer}/authorize`,
        OAUTH_GOOGLE_TOKEN_URL: `${issuer}/token`,
        OAUTH_GOOGLE_JWKS_URL: `${issuer}/jwks`,
        OAUTH_GOOGLE_ISSUER: issuer,
      },
    }),
  ]);
  await app.close();
  // The same origin again, now that Kafkey's URL can be written into the pages.
  app = await servePages(PAGES, {
    port: Number(new URL(app.origin).port),
    files: { "/cookie-app.js": script },
    replace: { KAFKEY_URL: server.url },
  });
  foreign = await servePages(PAGES, { files: { "/cookie-app.js": script }, replace: { KAFKEY_URL: server.url } });
  expect(new URL(app.origin).hostname).toBe(new URL(server.url).hostname);
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
  await google?.stop();
  await app?.close();
  await foreign?.close();
});
afterEach(async () => {
  if (!context) return;
  expect(offLoopbackRequests(context)).toEqual([]);
  await context.close();
});

/** A tab of the app, loaded and ready, in the test's browser context. */
async function tab(pages = app, pathname = "/cookie-app.html"): Promise<Page> {
  const page = await context.newPage();
  await page.goto(pages.url(pathname));
  await page.waitForFunction(() => "app" in globalThis);
  return page;
}

/** Calls the app's `name` in `page` (cookie-app.ts). */
function call(page: Page, name: keyof CookieApp, ...args: string[]): Promise<Outcome> {
  type Api = Record<string, (...a: string[]) => Promise<Outcome>>;
  return page.evaluate(({ name, args }) => (globalThis as unknown as { app: Api }).app[name]!(...args), {
    name,
    args,
  });
}

const newEmail = () => `page-${randomBytes(4).toString("hex")}@example.com`;
const emailOf = (outcome: Outcome) => outcome.data?.me?.email as string | undefined;

async function liveSessions(userId: string): Promise<number> {
  return server.app.db.prisma.session.count({ where: { userId, revokedAt: null } });
}

async function reuseEvents(userId: string): Promise<number> {
  await server.app.auditDispatcher.drain();
  return server.app.db.prisma.auditEvent.count({ where: { action: "security.refresh_reuse", targetId: userId } });
}

async function signedUpTab(): Promise<{ page: Page; email: string; userId: string }> {
  context = await loopbackContext(browser);
  const page = await tab();
  const email = newEmail();
  const signUp = await call(page, "signUp", email, PASSWORD);
  expect(signUp.codes).toBeUndefined();
  return { page, email, userId: signUp.data!.signUp.user.id as string };
}

describe.skipIf(missing)("a single-page app in cookie mode", () => {
  it("signs up and logs in without its script ever holding a token", async () => {
    const { page, email } = await signedUpTab();
    expect(emailOf(await call(page, "me"))).toBe(email);
    const login = await call(page, "login", email, PASSWORD);
    expect(login.data!.login).toMatchObject({ accessToken: null, refreshToken: null, user: { email } });
    expect(login.data!.login.accessTokenExpiresAt).toEqual(expect.any(String));
    // The cookies are HttpOnly: the page's script cannot read them.
    expect(await page.evaluate(() => (globalThis as unknown as { app: CookieApp }).app.cookies())).toBe("");
    const cookies = await context.cookies(server.url);
    expect(cookies.map((c) => c.name).sort()).toEqual(["kafkey-access", "kafkey-refresh"]);
    expect(cookies.every((c) => c.httpOnly && c.sameSite === "Strict")).toBe(true);
  });

  it("stays signed in across a reload, refreshing from the cookie once the access cookie is gone", async () => {
    const { page, email, userId } = await signedUpTab();
    await page.reload();
    await page.waitForFunction(() => "app" in globalThis);
    expect(emailOf(await call(page, "boot"))).toBe(email);
    // The access token expired: the browser dropped its cookie, the refresh cookie remains.
    const refreshBefore = (await context.cookies(server.url)).find((c) => c.name === "kafkey-refresh")!.value;
    await context.clearCookies({ name: "kafkey-access" });
    await page.reload();
    await page.waitForFunction(() => "app" in globalThis);
    expect(emailOf(await call(page, "boot"))).toBe(email);
    const refreshAfter = (await context.cookies(server.url)).find((c) => c.name === "kafkey-refresh")!.value;
    expect(refreshAfter).not.toBe(refreshBefore);
    expect(await liveSessions(userId)).toBe(1);
  });

  it("keeps both tabs signed in when they refresh at once: one session, no reuse", async () => {
    const { page: first, email, userId } = await signedUpTab();
    const second = await tab();
    const [a, b] = await Promise.all([call(first, "refresh"), call(second, "refresh")]);
    expect(a.codes).toBeUndefined();
    expect(b.codes).toBeUndefined();
    expect(emailOf(await call(first, "me"))).toBe(email);
    expect(emailOf(await call(second, "me"))).toBe(email);
    // Whichever answer's cookie the browser kept works: the next refresh goes through.
    expect((await call(second, "refresh")).codes).toBeUndefined();
    expect(await liveSessions(userId)).toBe(1);
    expect(await reuseEvents(userId)).toBe(0);
  });

  it("logs out of both tabs at once", async () => {
    const { page: first, userId } = await signedUpTab();
    const second = await tab();
    expect((await call(first, "logout")).data).toEqual({ logout: true });
    expect(await context.cookies(server.url)).toEqual([]);
    expect((await call(second, "boot")).codes).toEqual(["UNAUTHENTICATED"]);
    expect(await liveSessions(userId)).toBe(0);
  });

  it("opens a securityEvents subscription with the cookie alone", async () => {
    const { page, email } = await signedUpTab();
    await page.evaluate(() => (globalThis as unknown as { app: CookieApp }).app.listen());
    const heard = () => page.evaluate(() => (globalThis as unknown as { app: CookieApp }).app.heard());
    let actions: string[] = [];
    // Each sign-in is a security event; keep signing in until the subscription hears one.
    await until(
      () => actions.length > 0,
      async () => {
        await server.login(email, PASSWORD);
        actions = await heard();
      },
    );
    expect(actions[0]).toBe("auth.login");
    expect(await page.evaluate(() => (globalThis as unknown as { app: CookieApp }).app.closed())).toBeUndefined();
  });
});

describe.skipIf(missing)("the same app on a foreign origin (same site, another port)", () => {
  it("gets nothing with the browser's cookies: no answer over HTTP, no WebSocket", async () => {
    const { email } = await signedUpTab();
    const page = await tab(foreign);
    // A network error (CORS): the page learns nothing, though the browser holds the cookies.
    expect((await call(page, "me")).codes).toEqual(["TypeError"]);
    expect((await call(page, "refresh")).codes).toEqual(["TypeError"]);
    await page.evaluate(() => (globalThis as unknown as { app: CookieApp }).app.listen());
    await page.waitForFunction(() => (globalThis as unknown as { app: CookieApp }).app.closed() !== undefined);
    await server.login(email, PASSWORD);
    expect(await page.evaluate(() => (globalThis as unknown as { app: CookieApp }).app.heard())).toEqual([]);
    // The app's own tab is still signed in: nothing the foreign page did touched the session.
    expect(emailOf(await call(await tab(), "me"))).toBe(email);
  });
});

describe.skipIf(missing)("social sign-in in cookie mode", () => {
  it("goes through the provider and back to the app, whose return page calls exchangeOAuthCode", async () => {
    const email = newEmail();
    googleClaims = { sub: `google-${email}`, email, email_verified: true, name: "Page" };
    context = await loopbackContext(browser);
    const page = await context.newPage();
    const start = `${server.url}/auth/oauth/google/start?redirect_uri=${encodeURIComponent(app.url("/cookie-app.html"))}`;
    await page.goto(start);
    await page.waitForURL((url) => url.origin === app.origin && url.searchParams.has("code"));
    await page.waitForFunction(() => "signedIn" in globalThis);
    const signedIn = await page.evaluate(() => (globalThis as unknown as { signedIn: Promise<Outcome> }).signedIn);
    expect(emailOf(signedIn)).toBe(email);
    expect((await context.cookies(server.url)).map((c) => c.name).sort()).toEqual(["kafkey-access", "kafkey-refresh"]);
    // A reload of the app finds the session in the cookies.
    expect(emailOf(await call(await tab(), "boot"))).toBe(email);
  });
});
