/**
 * Passkeys in a real Chromium (issue 20): a frontend on its own origin (http://localhost:<port>, a
 * secure context, RP id `localhost`) uses @simplewebauthn/browser against Kafkey, with the DevTools
 * protocol's virtual authenticator standing for the user's device. It registers a passkey, signs out,
 * signs in with it without typing an email, uses it as the second factor after a password with TOTP
 * on, and a copy of the credential with a lower signature counter is refused. Nothing here builds CBOR
 * or COSE: the authenticator and the browser do.
 */
import path from "node:path";
import type { Browser, BrowserContext, CDPSession, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Outcome, PasskeyPageApi } from "./browser-pages/passkeys.js";
import {
  bundle,
  chromiumMissing,
  loopbackContext,
  offLoopbackRequests,
  type PageServer,
  servePages,
  startBrowser,
} from "./support/chromium.js";
import { PASSWORD, startServer, type TestServer, type SignedIn } from "./support/server.js";
import { totpCode } from "./support/totp.js";
import { until } from "./support/until.js";

const missing = chromiumMissing();
const PAGES = path.join(import.meta.dirname, "browser-pages");

let browser: Browser;
let server: TestServer;
/** A second instance of the same deployment (database and shared store). */
let other: TestServer;
let pages: PageServer;
/** The pages' origin by host name: localhost is a secure context and a valid RP id; 127.0.0.1 is neither an RP id. */
let origin: string;
let context: BrowserContext | undefined;

/** The virtual authenticator of the issue: a platform authenticator with resident keys and verification. */
const AUTHENTICATOR = {
  protocol: "ctap2",
  transport: "internal",
  hasResidentKey: true,
  hasUserVerification: true,
  isUserVerified: true,
  automaticPresenceSimulation: true,
} as const;

beforeAll(async () => {
  if (missing) return;
  const files = { "/passkeys.js": await bundle(path.join(PAGES, "passkeys.ts")) };
  [browser, pages] = await Promise.all([startBrowser(), servePages(PAGES, { files })]);
  origin = pages.origin.replace("127.0.0.1", "localhost");
  const env = { KAFKEY_CORS_ORIGINS: origin, KAFKEY_WEBAUTHN_RP_ID: "localhost" };
  server = await startServer({ env });
  other = await startServer({ sharing: server, env });
});
afterAll(async () => {
  await browser?.close();
  await other?.close();
  await server?.close();
  await pages?.close();
});
afterEach(async () => {
  if (!context) return;
  expect(offLoopbackRequests(context)).toEqual([]);
  await context.close();
  context = undefined;
});

interface Device {
  page: Page;
  cdp: CDPSession;
  authenticatorId: string;
}

/** The passkeys page on its own origin, with a virtual authenticator attached. */
async function openDevice(): Promise<Device> {
  context = await loopbackContext(browser);
  const page = await context.newPage();
  await page.goto(`${origin}/passkeys.html`);
  await page.waitForFunction(() => "passkeys" in globalThis);
  const cdp = await context.newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", { options: AUTHENTICATOR });
  return { page, cdp, authenticatorId };
}

/** Calls the page's api (passkeys.ts) with Kafkey's URL first. */
function call(page: Page, name: keyof PasskeyPageApi, ...args: string[]): Promise<Outcome & { replayed?: Outcome }> {
  type Api = Record<string, (...a: string[]) => Promise<Outcome>>;
  return page.evaluate(({ name, args }) => (globalThis as unknown as { passkeys: Api }).passkeys[name]!(...args), {
    name,
    args: [server.url, ...args],
  });
}

/** A new user with a passkey registered from the page. */
async function userWithPasskey(device: Device, name = "passkey-user"): Promise<SignedIn> {
  const user = await server.signUp(name);
  const registered = await call(device.page, "register", user.accessToken, PASSWORD, "Laptop");
  expect(registered.codes).toEqual([]);
  expect(registered.data!.registerPasskey).toMatchObject({ name: "Laptop", transports: ["internal"] });
  return user;
}

/** Waits until the user's inbox holds a notification of each of `kinds` (audit delivery is asynchronous). */
async function untilNotified(accessToken: string, kinds: string[]): Promise<void> {
  let seen: string[] = [];
  await until(
    () => kinds.every((kind) => seen.includes(kind)),
    async () => {
      const { data } = await server.gql(`{ notifications(first: 50) { edges { node { kind } } } }`, {}, accessToken);
      seen = (data?.notifications.edges ?? []).map((e: { node: { kind: string } }) => e.node.kind);
    },
  );
}

describe.skipIf(missing)("passkeys in a browser", () => {
  it("registers a passkey, signs out, and signs in with it without typing an email", async () => {
    const device = await openDevice();
    const user = await userWithPasskey(device);
    const { credentials } = await device.cdp.send("WebAuthn.getCredentials", {
      authenticatorId: device.authenticatorId,
    });
    // A discoverable credential for RP id localhost, bound to the account.
    expect(credentials).toHaveLength(1);
    expect(credentials[0]).toMatchObject({ rpId: "localhost", isResidentCredential: true });

    expect((await call(device.page, "signOut", user.accessToken)).data).toEqual({ logout: true });
    const signedIn = await call(device.page, "signIn");
    expect(signedIn.codes).toEqual([]);
    const payload = signedIn.data!.loginWithPasskey as { accessToken: string; user: { id: string } };
    expect(payload).toMatchObject({ mfaRequired: false, user: { id: user.id, email: user.email } });
    const me = await server.gql(`{ me { id } passkeys { name lastUsedAt } }`, {}, payload.accessToken);
    expect(me.data!.me.id).toBe(user.id);
    expect(me.data!.passkeys).toEqual([{ name: "Laptop", lastUsedAt: expect.any(String) }]);

    // The user is told: the passkey added, and the sign-in with it.
    await untilNotified(payload.accessToken, ["auth.passkey_registered", "auth.passkey_login"]);
  });

  it("completes on another instance a ceremony one began, and takes each answer once", async () => {
    const device = await openDevice();
    const user = await userWithPasskey(device, "instances");
    const signedIn = await call(device.page, "signIn", other.url, "replay");
    expect(signedIn.codes).toEqual([]);
    expect(signedIn.data!.loginWithPasskey).toMatchObject({ user: { id: user.id } });
    // The challenge was used: the same answer again proves nothing.
    expect(signedIn.replayed).toEqual({ data: null, codes: ["UNAUTHENTICATED"] });
  });

  it("refuses to register the same authenticator twice (the user's passkeys are excluded)", async () => {
    const device = await openDevice();
    const user = await userWithPasskey(device, "twice");
    const again = await call(device.page, "register", user.accessToken, PASSWORD, "Again");
    expect(again.browserError).toBe("InvalidStateError");
  });

  it("uses a passkey as the second factor after a password, with TOTP on", async () => {
    const device = await openDevice();
    const user = await userWithPasskey(device, "second-factor");
    const setup = await server.gql(
      `mutation($p: String) { enableTotp(currentPassword: $p) { secret } }`,
      { p: PASSWORD },
      user.accessToken,
    );
    const secret = setup.data!.enableTotp.secret as string;
    const confirmed = await server.gql(
      `mutation($c: String!) { confirmTotp(code: $c) }`,
      { c: totpCode(secret) },
      user.accessToken,
    );
    expect(confirmed.errors).toBeUndefined();

    // A password alone asks for the second factor; the passkey answers it.
    const after = await call(device.page, "passwordThenPasskey", user.email, PASSWORD);
    expect(after.codes).toEqual([]);
    expect(after.data!.verifyMfa).toMatchObject({ mfaRequired: false, user: { id: user.id } });

    // A passkey sign-in is two factors by itself: no TOTP challenge after it.
    const direct = await call(device.page, "signIn");
    expect(direct.codes).toEqual([]);
    expect(direct.data!.loginWithPasskey).toMatchObject({ mfaRequired: false, accessToken: expect.any(String) });
  });

  it("refuses a copy of the credential whose signature counter went back, and tells the user", async () => {
    const device = await openDevice();
    const user = await userWithPasskey(device, "cloned");
    // Two sign-ins move the stored counter on.
    for (let i = 0; i < 2; i++) expect((await call(device.page, "signIn")).codes).toEqual([]);
    const { credentials } = await device.cdp.send("WebAuthn.getCredentials", {
      authenticatorId: device.authenticatorId,
    });
    const original = credentials[0]!;
    expect(original.signCount).toBeGreaterThan(1);

    // The same key in another authenticator, its counter behind: what a copied key looks like.
    await device.cdp.send("WebAuthn.removeVirtualAuthenticator", { authenticatorId: device.authenticatorId });
    const { authenticatorId: copy } = await device.cdp.send("WebAuthn.addVirtualAuthenticator", {
      options: AUTHENTICATOR,
    });
    await device.cdp.send("WebAuthn.addCredential", {
      authenticatorId: copy,
      credential: { ...original, signCount: 0 },
    });
    const refused = await call(device.page, "signIn");
    expect(refused.codes).toEqual(["UNAUTHENTICATED"]);

    await untilNotified(user.accessToken, ["security.passkey_cloned"]);
  });
});
