/**
 * A frontend on another origin, in a real Chromium (issue 17): Apollo Client 4, bundled with esbuild,
 * in a page served on its own port. The allowed page (KAFKEY_CORS_ORIGINS) signs in and reads `me`; a
 * page on a foreign port of the same host is refused. Both pages and Kafkey share the host name
 * 127.0.0.1, so they are same-site: SameSite cookies would not tell them apart, and what refuses the
 * foreign page must be CORS and Apollo's CSRF prevention alone. Every request off the loopback is aborted.
 */
import { randomBytes } from "node:crypto";
import path from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { KafkeyPageApi, Outcome } from "./browser-pages/apollo-client.js";
import {
  bundle,
  chromiumMissing,
  loopbackContext,
  offLoopbackRequests,
  type PageServer,
  servePages,
  startBrowser,
} from "./support/chromium.js";
import { ADMIN, PASSWORD, startServer, type TestServer } from "./support/server.js";

const missing = chromiumMissing();
const PAGES = path.join(import.meta.dirname, "browser-pages");
/** Makes this run's form-posted emails unique. */
const TAG = randomBytes(4).toString("hex");

let browser: Browser;
let server: TestServer;
let allowed: PageServer;
let foreign: PageServer;
/** The foreign page of forms (forms.html), which posts to Kafkey's URL. */
let forms: PageServer;
let context: BrowserContext;

beforeAll(async () => {
  if (missing) return;
  const files = { "/apollo-client.js": await bundle(path.join(PAGES, "apollo-client.ts")) };
  [browser, allowed, foreign] = await Promise.all([
    startBrowser(),
    servePages(PAGES, { files }),
    servePages(PAGES, { files }),
  ]);
  server = await startServer({ env: { KAFKEY_CORS_ORIGINS: allowed.origin } });
  forms = await servePages(PAGES, { replace: { KAFKEY_URL: server.url, TAG } });
  expect(new URL(allowed.origin).hostname).toBe(new URL(server.url).hostname);
  expect(new URL(foreign.origin).hostname).toBe(new URL(server.url).hostname);
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
  await allowed?.close();
  await foreign?.close();
  await forms?.close();
});
afterEach(async () => {
  expect(offLoopbackRequests(context)).toEqual([]);
  await context?.close();
});

/** The Apollo Client page of `pages`, loaded and ready. */
async function apolloPage(pages: PageServer): Promise<Page> {
  context = await loopbackContext(browser);
  const page = await context.newPage();
  await page.goto(pages.url("/apollo.html"));
  await page.waitForFunction(() => "kafkey" in globalThis);
  return page;
}

/** Calls the page's Apollo Client (apollo-client.ts) with Kafkey's URL first. */
function call(page: Page, name: keyof KafkeyPageApi, ...args: string[]): Promise<Outcome> {
  type Api = Record<string, (...a: string[]) => Promise<Outcome>>;
  return page.evaluate(({ name, args }) => (globalThis as unknown as { kafkey: Api }).kafkey[name]!(...args), {
    name,
    args: [server.url, ...args],
  });
}

/** The GraphQL query inside a form's body, as the browser encoded it. */
function queryOf(form: string, body: string): string {
  if (form === "plain") return (JSON.parse(body) as { query: string }).query;
  if (form === "urlencoded") return new URLSearchParams(body).get("query")!;
  return /name="query"\r\n\r\n([\s\S]*?)\r\n--/.exec(body)![1]!;
}

async function userExists(email: string): Promise<boolean> {
  return (await server.app.db.prisma.user.findUnique({ where: { email } })) !== null;
}

describe.skipIf(missing)("Apollo Client 4 in a page on an allowed origin", () => {
  it("signs in in header mode and reads me with the bearer token", async () => {
    const page = await apolloPage(allowed);
    const login = await call(page, "login", ADMIN.email, ADMIN.password);
    expect(login.error).toBeUndefined();
    const { accessToken, user } = (login.data as { login: { accessToken: string; user: { id: string } } }).login;
    expect(accessToken).toBeTruthy();

    const me = await call(page, "me", accessToken);
    expect(me).toEqual({ data: { me: { __typename: "User", id: user.id, email: ADMIN.email } } });
  });

  it("reads the GraphQL error codes Kafkey answers (the answer reaches the page)", async () => {
    const page = await apolloPage(allowed);
    expect((await call(page, "login", ADMIN.email, "not the password")).error?.codes).toEqual(["UNAUTHENTICATED"]);
    expect((await call(page, "me", "not-a-token")).error?.codes).toEqual(["UNAUTHENTICATED"]);
  });
});

describe.skipIf(missing)("the same page on a foreign origin (same site, another port)", () => {
  it("cannot call Kafkey: the fetch fails in the page, and no mutation runs", async () => {
    const page = await apolloPage(foreign);
    const email = `foreign-apollo-${TAG}@example.com`;
    const refused = await call(page, "signUp", email, PASSWORD);
    // A network error (CORS), not an answer from Kafkey: the page learns nothing.
    expect(refused.data).toBeUndefined();
    expect(refused.error).toEqual({ name: "TypeError", codes: [] });
    expect(await userExists(email)).toBe(false);

    // The preflight is what stopped it: the allowed page's identical call goes through.
    const other = `allowed-apollo-${TAG}@example.com`;
    expect((await call(await apolloPage(allowed), "signUp", other, PASSWORD)).error).toBeUndefined();
    expect(await userExists(other)).toBe(true);
  });

  it.each(["plain", "urlencoded", "multipart"])(
    "does not run a mutation posted by a %s form (no preflight, Apollo's CSRF prevention refuses)",
    async (form) => {
      context = await loopbackContext(browser);
      const page = await context.newPage();
      await page.goto(forms.url("/forms.html"));
      const answered = page.waitForResponse((response) => response.url() === `${server.url}/graphql`);
      await page.locator(`#${form} button`).click();
      const response = await answered;
      expect([400, 415]).toContain(response.status());
      const email = `${form}-${TAG}@example.com`;
      expect(await userExists(email)).toBe(false);

      // The control: the query the browser sent, posted as JSON, does sign up (the form was refused
      // for how it was sent, not for what it asked).
      const replayed = await server.gql(queryOf(form, response.request().postData() ?? ""));
      expect(replayed.errors).toBeUndefined();
      expect(await userExists(email)).toBe(true);
    },
  );
});
