/**
 * Cookie sessions (issue 17): with `x-kafkey-auth-mode: cookie` the browser holds its tokens in HttpOnly
 * cookies and the page never sees one; a cookie authenticates only a request a page of a trusted
 * origin sent (CSRF), over HTTP and on the WebSocket handshake. Real HTTP and WebSocket against a real
 * server; the browser's part is played by hand here (test/browser-*.test.ts does it in Chromium).
 */
import { createClient } from "graphql-ws";
import { WebSocket } from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { codeOf, type GraphQLResponse, PASSWORD, startServer, type TestServer } from "./support/server.js";
import { until } from "./support/until.js";

const APP = "http://localhost:5173";
const FOREIGN = "http://localhost:6666";
const LOGIN = `mutation($email: String!, $password: String!) {
  login(email: $email, password: $password) {
    accessToken refreshToken accessTokenExpiresAt refreshTokenExpiresAt user { email }
  }
}`;
const ME = `{ me { email } }`;
const COOKIE_MODE = { "x-kafkey-auth-mode": "cookie" };

let server: TestServer;
let secure: TestServer;

beforeAll(async () => {
  server = await startServer({ env: { KAFKEY_CORS_ORIGINS: APP } });
  secure = await startServer({
    env: { KAFKEY_CORS_ORIGINS: "https://app.example.test", KAFKEY_PUBLIC_URL: "https://id.example.test" },
  });
});

afterAll(async () => {
  await server?.close();
  await secure?.close();
});

interface SetCookie {
  name: string;
  value: string;
  attributes: Map<string, string>;
}

function setCookies(headers: Headers): Map<string, SetCookie> {
  const cookies = new Map<string, SetCookie>();
  for (const line of headers.getSetCookie()) {
    const [pair, ...rest] = line.split(";");
    const [name, ...value] = pair!.split("=");
    const attributes = new Map(
      rest.map((part) => {
        const [key, ...v] = part.trim().split("=");
        return [key!.toLowerCase(), v.join("=")] as [string, string];
      }),
    );
    cookies.set(name!.trim(), { name: name!.trim(), value: value.join("="), attributes });
  }
  return cookies;
}

/** A browser's cookie jar for Kafkey, and the page origin its requests come from. */
class Jar {
  readonly cookies = new Map<string, string>();

  constructor(
    private readonly target: TestServer,
    public origin: string | undefined = APP,
  ) {}

  header(): Record<string, string> {
    const cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join("; ");
    return {
      ...(cookie ? { cookie } : {}),
      ...(this.origin ? { origin: this.origin } : {}),
    };
  }

  async gql(query: string, variables?: Record<string, unknown>, headers: Record<string, string> = {}) {
    const result = await this.target.gql(query, variables, undefined, { ...this.header(), ...headers });
    this.keep(result);
    return result;
  }

  keep(result: { headers: Headers }): void {
    for (const cookie of setCookies(result.headers).values()) {
      if (cookie.attributes.get("max-age") === "0" || cookie.value === "") this.cookies.delete(cookie.name);
      else this.cookies.set(cookie.name, cookie.value);
    }
  }

  async login(email: string) {
    return this.gql(LOGIN, { email, password: PASSWORD }, COOKIE_MODE);
  }
}

async function signedInJar(target = server, origin = APP) {
  const user = await target.signUp("cookie");
  const jar = new Jar(target, origin);
  const login = await jar.login(user.email);
  expect(login.errors).toBeUndefined();
  return { user, jar, login };
}

const emailOf = (result: GraphQLResponse) => result.data?.me?.email as string | undefined;

describe("cookie mode", () => {
  it("sets HttpOnly, SameSite=Strict cookies and leaves the tokens out of the answer", async () => {
    const { user, login } = await signedInJar();
    const answer = login.data!.login;
    expect(answer.accessToken).toBeNull();
    expect(answer.refreshToken).toBeNull();
    expect(answer.user.email).toBe(user.email);
    const cookies = setCookies(login.headers);
    const access = cookies.get("kafkey-access")!;
    const refresh = cookies.get("kafkey-refresh")!;
    for (const cookie of [access, refresh]) {
      expect(cookie.value.length).toBeGreaterThan(20);
      expect(cookie.attributes.has("httponly")).toBe(true);
      expect(cookie.attributes.get("samesite")).toBe("Strict");
      expect(cookie.attributes.get("path")).toBe("/");
      // Plain-HTTP loopback development: a Secure cookie would not be kept.
      expect(cookie.attributes.has("secure")).toBe(false);
    }
    // The access cookie lives as long as its token, the refresh cookie as long as the session.
    const seconds = (at: string) => Math.round((Date.parse(at) - Date.now()) / 1000);
    expect(Number(access.attributes.get("max-age"))).toBeCloseTo(seconds(answer.accessTokenExpiresAt), -1);
    expect(Number(refresh.attributes.get("max-age"))).toBeCloseTo(seconds(answer.refreshTokenExpiresAt), -1);
    expect(login.headers.get("cache-control")).toBe("no-store");
  });

  it("are Secure and __Host- prefixed when the public URL is https, whatever the request's scheme", async () => {
    const { login } = await signedInJar(secure, "https://app.example.test");
    const cookies = setCookies(login.headers);
    expect([...cookies.keys()].sort()).toEqual(["__Host-kafkey-access", "__Host-kafkey-refresh"]);
    for (const cookie of cookies.values()) {
      expect(cookie.attributes.has("secure")).toBe(true);
      expect(cookie.attributes.has("domain")).toBe(false);
    }
  });

  it("signUp in cookie mode signs the new account in with cookies", async () => {
    const jar = new Jar(server);
    const email = `cookie-signup-${Date.now()}@example.com`;
    const result = await jar.gql(
      `mutation($input: SignUpInput!) { signUp(input: $input) { accessToken refreshToken user { email } } }`,
      { input: { email, password: PASSWORD, displayName: "Cookie" } },
      COOKIE_MODE,
    );
    expect(result.data!.signUp).toEqual({ accessToken: null, refreshToken: null, user: { email } });
    expect(emailOf(await jar.gql(ME))).toBe(email);
  });

  it("without the header, tokens come in the answer and no cookie is set (header mode, as before)", async () => {
    const user = await server.signUp("header");
    const result = await server.gql(LOGIN, { email: user.email, password: PASSWORD }, undefined, { origin: APP });
    expect(result.data!.login.accessToken).toEqual(expect.any(String));
    expect(result.headers.getSetCookie()).toEqual([]);
  });

  it("refuses an auth mode it does not know with BAD_USER_INPUT", async () => {
    const result = await server.gql(ME, {}, undefined, { "x-kafkey-auth-mode": "cookies" });
    expect(result.status).toBe(400);
    expect(codeOf(result)).toBe("BAD_USER_INPUT");
  });
});

describe("a request authenticated by the access cookie", () => {
  it("works from an allowed origin, from Kafkey's own, and same-origin without Origin", async () => {
    const { user, jar } = await signedInJar();
    expect(emailOf(await jar.gql(ME))).toBe(user.email);
    jar.origin = new URL(server.url).origin;
    expect(emailOf(await jar.gql(ME))).toBe(user.email);
    // A same-origin GET carries no Origin; the browser's Sec-Fetch-Site (no page can set it) vouches.
    jar.origin = undefined;
    expect(emailOf(await jar.gql(ME, {}, { "sec-fetch-site": "same-origin" }))).toBe(user.email);
  });

  it("is anonymous from a foreign origin, or without Origin: the cookie is ignored, the request served", async () => {
    const { jar } = await signedInJar();
    jar.origin = FOREIGN;
    const foreign = await jar.gql(ME);
    expect(codeOf(foreign)).toBe("UNAUTHENTICATED");
    jar.origin = undefined;
    const cross = await jar.gql(ME, {}, { "sec-fetch-site": "same-site" });
    expect(codeOf(cross)).toBe("UNAUTHENTICATED");
    // The request itself is served: a public field answers.
    expect((await jar.gql(`{ __typename }`)).data).toEqual({ __typename: "Query" });
  });

  it("gives way to a bearer token sent with it", async () => {
    const { jar } = await signedInJar();
    const other = await server.signUp("bearer");
    const result = await jar.gql(ME, {}, { authorization: `Bearer ${other.accessToken}` });
    expect(emailOf(result)).toBe(other.email);
  });

  it("of a session that ended is refused and both cookies are cleared", async () => {
    const { user, jar } = await signedInJar();
    const other = await server.login(user.email, PASSWORD);
    await server.gql(`mutation { logoutAll }`, {}, other.accessToken);
    const result = await jar.gql(ME);
    expect(codeOf(result)).toBe("UNAUTHENTICATED");
    expect(jar.cookies.size).toBe(0);
  });
});

describe("refresh and logout from the cookies", () => {
  it("refreshToken without an argument uses the refresh cookie and answers new cookies", async () => {
    const { user, jar } = await signedInJar();
    const before = new Map(jar.cookies);
    // No auth-mode header: a token that came from a cookie never goes back into the answer.
    const refreshed = await jar.gql(`mutation { refreshToken { accessToken refreshToken user { email } } }`);
    expect(refreshed.errors).toBeUndefined();
    expect(refreshed.data!.refreshToken).toEqual({
      accessToken: null,
      refreshToken: null,
      user: { email: user.email },
    });
    expect(jar.cookies.get("kafkey-refresh")).not.toBe(before.get("kafkey-refresh"));
    expect(emailOf(await jar.gql(ME))).toBe(user.email);
  });

  it("refreshToken without an argument or a cookie is UNAUTHENTICATED", async () => {
    const result = await new Jar(server).gql(`mutation { refreshToken { accessTokenExpiresAt } }`);
    expect(codeOf(result)).toBe("UNAUTHENTICATED");
  });

  it("logout works with only the refresh cookie, ends the session and clears both cookies", async () => {
    const { jar } = await signedInJar();
    const refresh = jar.cookies.get("kafkey-refresh")!;
    // The access token expired: the browser dropped its cookie.
    jar.cookies.delete("kafkey-access");
    const logout = await jar.gql(`mutation { logout }`);
    expect(logout.data).toEqual({ logout: true });
    const cleared = setCookies(logout.headers);
    expect(cleared.get("kafkey-access")?.attributes.get("max-age")).toBe("0");
    expect(cleared.get("kafkey-refresh")?.attributes.get("max-age")).toBe("0");
    // The session is over: its refresh token no longer works.
    const again = await server.gql(`mutation($t: String!) { refreshToken(token: $t) { accessToken } }`, { t: refresh });
    expect(codeOf(again)).toBe("UNAUTHENTICATED");
  });

  it("logout without a session's token or a refresh cookie is UNAUTHENTICATED", async () => {
    const result = await new Jar(server).gql(`mutation { logout }`);
    expect(codeOf(result)).toBe("UNAUTHENTICATED");
  });

  it("logoutAll clears both cookies", async () => {
    const { jar } = await signedInJar();
    const result = await jar.gql(`mutation { logoutAll }`);
    // The sign-up's session and the cookie login's.
    expect(result.data).toEqual({ logoutAll: 2 });
    expect(jar.cookies.size).toBe(0);
  });

  it("a refresh cookie that no longer works is cleared", async () => {
    const { jar } = await signedInJar();
    const stale = jar.cookies.get("kafkey-refresh")!;
    await jar.gql(`mutation { logout }`);
    jar.cookies.set("kafkey-refresh", stale);
    const result = await jar.gql(`mutation { refreshToken { accessTokenExpiresAt } }`);
    expect(codeOf(result)).toBe("UNAUTHENTICATED");
    expect(jar.cookies.has("kafkey-refresh")).toBe(false);
  });
});

describe("CSRF: what a plain HTML form on a foreign page can send", () => {
  const bodies: [string, string, string][] = [
    ["urlencoded", "application/x-www-form-urlencoded", "query=mutation%7BlogoutAll%7D"],
    ["text/plain", "text/plain", JSON.stringify({ query: "mutation { logoutAll }" })],
    [
      "multipart",
      "multipart/form-data; boundary=x",
      '--x\r\nContent-Disposition: form-data; name="query"\r\n\r\nmutation { logoutAll }\r\n--x--\r\n',
    ],
  ];

  it.each(bodies)("a %s form post is refused before it runs; the session lives on", async (_kind, type, body) => {
    const { user, jar } = await signedInJar();
    jar.origin = FOREIGN;
    const response = await fetch(`${server.url}/graphql`, {
      method: "POST",
      headers: { ...jar.header(), "content-type": type },
      body,
    });
    // Fastify has no parser for form bodies (415); Apollo's CSRF prevention refuses text/plain (400).
    expect([400, 415]).toContain(response.status);
    jar.origin = APP;
    expect(emailOf(await jar.gql(ME))).toBe(user.email);
  });

  it("a GET without a preflight-triggering header is refused; with one it runs from an allowed page", async () => {
    const { user, jar } = await signedInJar();
    const url = `${server.url}/graphql?query=${encodeURIComponent(ME)}`;
    expect((await fetch(url, { headers: jar.header() })).status).toBe(400);
    const allowed = await fetch(url, { headers: { ...jar.header(), "apollo-require-preflight": "true" } });
    expect(((await allowed.json()) as { data: { me: { email: string } } }).data.me.email).toBe(user.email);
  });
});

describe("the WebSocket handshake", () => {
  function subscribe(headers: Record<string, string>) {
    const events: unknown[] = [];
    let closedWith: number | undefined;
    const client = createClient({
      url: `${server.url.replace(/^http/, "ws")}/graphql`,
      webSocketImpl: class extends WebSocket {
        constructor(url: string, protocols: string[]) {
          super(url, protocols, { headers });
        }
      },
      retryAttempts: 0,
      on: { closed: (event) => void (closedWith = (event as { code: number }).code) },
    });
    client.subscribe(
      { query: `subscription { securityEvents { action } }` },
      { next: (value) => void events.push(value.data), error: () => undefined, complete: () => undefined },
    );
    return { events, closed: () => closedWith, dispose: () => client.dispose() };
  }

  it("authenticates from the access cookie sent by an allowed page", async () => {
    const { user, jar } = await signedInJar();
    const live = subscribe(jar.header());
    try {
      // Each new sign-in is a security event: keep signing in until the subscription is open and hears one.
      await until(
        () => live.events.length > 0,
        () => server.login(user.email, PASSWORD),
      );
      expect(live.events[0]).toEqual({ securityEvents: { action: "auth.login" } });
    } finally {
      await live.dispose();
    }
  });

  it("ignores the cookie without Origin (not a browser): 4401", async () => {
    const { jar } = await signedInJar();
    jar.origin = undefined;
    const live = subscribe(jar.header());
    try {
      await until(() => live.closed() !== undefined);
      expect(live.closed()).toBe(4401);
    } finally {
      await live.dispose();
    }
  });
});
