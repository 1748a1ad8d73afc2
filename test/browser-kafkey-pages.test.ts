/**
 * The pages Kafkey itself serves to browsers (issue 17), in a real Chromium with every request off the
 * loopback aborted and counted: the offline explorer (development only), the landing page's link to it,
 * and the OAuth failure page.
 */
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { EXPLORER_LINK_CLASS } from "../src/graphql/landing-page.js";
import { EXPLORER_CSP } from "../src/platform/http/explorer.js";
import { ERROR_CODE_ATTRIBUTE } from "../src/platform/http/error-page.js";
import { chromiumMissing, loopbackContext, offLoopbackRequests, startBrowser } from "./support/chromium.js";
import { startServer, type TestServer } from "./support/server.js";

const missing = chromiumMissing();
const FRONTEND = "http://127.0.0.1:1/oauth/done";

let browser: Browser;
let server: TestServer;
let production: TestServer;
let context: BrowserContext;
/** What the page reported: console errors, uncaught exceptions (CSP refusals among them). */
let problems: string[];

beforeAll(async () => {
  if (missing) return;
  [browser, server, production] = await Promise.all([
    startBrowser(),
    startServer({
      env: {
        // A provider that is never reached: the refusals below come before any redirect to it.
        OAUTH_GITHUB_CLIENT_ID: "kafkey-github-client",
        OAUTH_GITHUB_CLIENT_SECRET: "github-secret",
        KAFKEY_OAUTH_REDIRECT_ALLOWLIST: FRONTEND,
      },
    }),
    startServer({ env: { NODE_ENV: "production" } }),
  ]);
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
  await production?.close();
});
afterEach(async () => {
  await context?.close();
});

async function open(url: string): Promise<Page> {
  context = await loopbackContext(browser);
  problems = [];
  const page = await context.newPage();
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(message.text());
  });
  page.on("pageerror", (error) => problems.push(error.message));
  await page.goto(url);
  return page;
}

/** Sets the text of the CodeMirror editor under `selector` (GraphiQL's query or headers editor). */
async function setEditor(page: Page, selector: string, text: string): Promise<void> {
  await page
    .locator(`${selector} .CodeMirror`)
    .first()
    .evaluate(
      (element, value) =>
        (element as unknown as { CodeMirror: { setValue(v: string): void } }).CodeMirror.setValue(value),
      text,
    );
}

describe.skipIf(missing)("the offline explorer (development)", () => {
  it("renders GraphiQL from Kafkey alone and runs a query, with no request leaving the loopback", async () => {
    const page = await open(`${server.url}/explorer`);
    await page.locator(".graphiql-container").waitFor({ state: "visible" });
    await page.locator(".graphiql-query-editor .CodeMirror").waitFor({ state: "visible" });

    await page.locator(".graphiql-execute-button").click();
    await expect
      .poll(() => page.locator(".graphiql-response").innerText(), { timeout: 10_000 })
      .toContain('"__typename": "Query"');

    expect(offLoopbackRequests(context)).toEqual([]);
    // Its CSP allows only 'self': a script or style it needed from elsewhere would be refused here.
    expect(problems).toEqual([]);
  });

  it("runs a subscription over graphql-ws with the Authorization typed in its headers editor", async () => {
    const admin = await server.loginAdmin();
    const page = await open(`${server.url}/explorer`);
    await page.locator(".graphiql-query-editor .CodeMirror").waitFor({ state: "visible" });
    await setEditor(page, ".graphiql-query-editor", "subscription Live { auditEvents { action } }");
    // Without the header, Kafkey refuses the connection (4401), and the page says so.
    await page.locator(".graphiql-execute-button").click();
    await expect.poll(() => page.locator(".graphiql-response").innerText(), { timeout: 10_000 }).toContain("4401");
    await setEditor(
      page,
      ".graphiql-editor-tool .graphiql-editor:not(.hidden)",
      JSON.stringify({ Authorization: `Bearer ${admin.accessToken}` }),
    );
    const opened = page.waitForEvent(
      "websocket",
      (socket) => socket.url() === `${server.url.replace("http", "ws")}/graphql`,
    );
    await page.locator(".graphiql-execute-button").click();
    await opened;

    // Sent until the event arrives: the subscription may start after the first one.
    await expect
      .poll(
        async () => {
          await server.signUp("live");
          await server.app.auditDispatcher.drain();
          return page.locator(".graphiql-response").innerText();
        },
        { timeout: 10_000 },
      )
      .toContain('"action": "user.created"');
    void (await page.locator(".graphiql-response").innerText());
    expect(offLoopbackRequests(context)).toEqual([]);
    expect(problems).toEqual([]);
  });

  it("serves its page and assets under a CSP of 'self' only, and no file outside its list", async () => {
    const page = await fetch(`${server.url}/explorer`);
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);
    expect(page.headers.get("content-security-policy")).toBe(EXPLORER_CSP);
    expect(await page.text()).not.toMatch(/https?:\/\//);
    const script = await fetch(`${server.url}/explorer/assets/graphiql.min.js`);
    expect(script.headers.get("content-type")).toMatch(/^text\/javascript/);
    expect(script.headers.get("x-content-type-options")).toBe("nosniff");
    for (const probe of ["package.json", "..%2Fpackage.json", "%2E%2E%2F%2E%2E%2Fpackage.json"]) {
      expect((await fetch(`${server.url}/explorer/assets/${probe}`)).status).toBe(404);
    }
  });

  it("is linked from the landing page, whose Sandbox (Apollo's CDN) is what tries to go off the loopback", async () => {
    const page = await open(`${server.url}/graphql`);
    const link = page.locator(`.${EXPLORER_LINK_CLASS} a`);
    await link.waitFor({ state: "visible" });
    expect(offLoopbackRequests(context).length).toBeGreaterThan(0);
    await link.click();
    await page.waitForURL(`${server.url}/explorer`);
    await page.locator(".graphiql-container").waitFor({ state: "visible" });
  });

  it("is not served in production, nor linked", async () => {
    expect((await fetch(`${production.url}/explorer`)).status).toBe(404);
    expect((await fetch(`${production.url}/explorer/assets/graphiql.min.js`)).status).toBe(404);
    const landing = await fetch(`${production.url}/graphql`, { headers: { accept: "text/html" } });
    expect(await landing.text()).not.toContain(EXPLORER_LINK_CLASS);
  });
});

describe.skipIf(missing)("the OAuth failure page", () => {
  it("shows a browser the code of a refused redirect_uri as an HTML page", async () => {
    const start = `${server.url}/auth/oauth/github/start?redirect_uri=${encodeURIComponent("https://evil.example/x")}`;
    const page = await open(start);
    const code = page.locator(`[${ERROR_CODE_ATTRIBUTE}]`);
    await code.waitFor({ state: "visible" });
    expect(await code.getAttribute(ERROR_CODE_ATTRIBUTE)).toBe("BAD_REQUEST");
    expect(await code.innerText()).toBe("BAD_REQUEST");
    expect(page.url()).toBe(start);
    expect(offLoopbackRequests(context)).toEqual([]);
  });

  it("shows a bad state's code, and the provider's name only as text", async () => {
    const page = await open(`${server.url}/auth/oauth/github/callback?code=x&state=not-a-state`);
    expect(await page.locator(`[${ERROR_CODE_ATTRIBUTE}]`).getAttribute(ERROR_CODE_ATTRIBUTE)).toBe("INVALID_STATE");

    const injected = await open(`${server.url}/auth/oauth/${encodeURIComponent("<img src=x onerror=alert(1)>")}/start`);
    expect(await injected.locator(`[${ERROR_CODE_ATTRIBUTE}]`).getAttribute(ERROR_CODE_ATTRIBUTE)).toBe("NOT_FOUND");
    expect(await injected.locator("img").count()).toBe(0);
    expect(await injected.locator("#error-message").innerText()).toContain("<img src=x onerror=alert(1)>");
  });
});
