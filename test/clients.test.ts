/**
 * The client guide's snippets (docs/clients/, shown in docs/clients.md), run for real against a real
 * server (issue 17): Apollo Client 4 in header mode refreshing an expired token and reconnecting its
 * subscriptions, Apollo Client 4 in cookie mode inside Chromium, urql's GET queries and the CSRF rule,
 * graphql-request's error codes, and codegen.ts with strictScalars. Access tokens live 10 s here (the
 * least config.ts allows), so the tests that outlive one take about 11 s.
 */
import { gql, type TypedDocumentNode } from "@apollo/client";
import { generate } from "@graphql-codegen/cli";
import { Client, fetchExchange } from "@urql/core";
import type { Browser } from "playwright-core";
import { WebSocket } from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import codegen, { KAFKEY_SCALARS } from "../codegen.js";
import { createKafkeyClient, type KafkeyTokens } from "../docs/clients/apollo.js";
import { createKafkeyRequestClient, kafkeyErrorCodes } from "../docs/clients/graphql-request.js";
import { createKafkeyUrqlClient } from "../docs/clients/urql.js";
import type { ClientsCookiesPageApi } from "./browser-pages/clients-cookies.js";
import {
  bundle,
  chromiumMissing,
  loopbackContext,
  type PageServer,
  servePages,
  startBrowser,
} from "./support/chromium.js";
import { PASSWORD, type SignedIn, startServer, type TestServer } from "./support/server.js";
import { until } from "./support/until.js";

const ACCESS_TTL_SECONDS = 10;
const missing = chromiumMissing();

const LOGIN: TypedDocumentNode<{ login: KafkeyTokens & { user: { id: string; email: string } } }> = gql`
  mutation Login($email: String!, $password: String!) {
    login(email: $email, password: $password) {
      accessToken
      refreshToken
      user {
        id
        email
      }
    }
  }
`;
const ME: TypedDocumentNode<{ me: { id: string; email: string } }> = gql`
  query Me {
    me {
      id
      email
    }
  }
`;
const SECURITY_EVENTS: TypedDocumentNode<{ securityEvents: { action: string; userAgent: string | null } }> = gql`
  subscription SecurityEvents {
    securityEvents {
      action
      userAgent
    }
  }
`;

let server: TestServer;
let pages: PageServer;

beforeAll(async () => {
  // The cookie-mode page is served from its own origin, which Kafkey allows.
  pages = await servePages(import.meta.dirname, {
    files: {
      "/clients.html": `<!doctype html><html><head><script type="module" src="/clients.js"></script></head></html>`,
      "/clients.js": await bundle(new URL("./browser-pages/clients-cookies.ts", import.meta.url).pathname),
    },
  });
  server = await startServer({
    env: {
      KAFKEY_ACCESS_TOKEN_TTL_SECONDS: String(ACCESS_TTL_SECONDS),
      KAFKEY_CORS_ORIGINS: pages.origin,
      KAFKEY_AUDIT_DISPATCH_INTERVAL_MS: "200",
    },
  });
});
afterAll(async () => {
  await server?.close();
  await pages?.close();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Long enough for an access token issued now to be refused. */
const outliveAccessToken = () => sleep(ACCESS_TTL_SECONDS * 1000 + 1500);
const LONG = 60_000;

/** A login from another device, which the user's securityEvents stream reports. */
const loginFrom = (user: SignedIn, userAgent: string) =>
  server.gql(
    `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { mfaRequired } }`,
    {
      e: user.email,
      p: PASSWORD,
    },
    undefined,
    { "user-agent": userAgent },
  );

/** An app's token store, counting what the client hands it. */
function tokenStore(initial: KafkeyTokens | null = null) {
  const store = { tokens: initial, writes: [] as (KafkeyTokens | null)[] };
  return {
    store,
    getTokens: () => store.tokens,
    setTokens: (tokens: KafkeyTokens | null) => {
      store.tokens = tokens;
      store.writes.push(tokens);
    },
  };
}

function apolloFor(tokens: ReturnType<typeof tokenStore>) {
  return createKafkeyClient({
    url: `${server.url}/graphql`,
    wsUrl: `${server.url.replace(/^http/, "ws")}/graphql`,
    getTokens: tokens.getTokens,
    setTokens: tokens.setTokens,
    webSocketImpl: WebSocket,
  });
}

const codesOf = (error: unknown) =>
  ((error as { errors?: { extensions?: { code?: unknown } }[] }).errors ?? []).map((e) => e.extensions?.code);

describe("Apollo Client 4, header mode (docs/clients/apollo.ts)", () => {
  it(
    "refreshes an expired access token once for operations that fail together, and retries them",
    async () => {
      const user = await server.signUp("apollo");
      const tokens = tokenStore();
      const { client, ws } = apolloFor(tokens);
      const { data } = await client.mutate({ mutation: LOGIN, variables: { email: user.email, password: PASSWORD } });
      tokens.setTokens({ accessToken: data!.login.accessToken, refreshToken: data!.login.refreshToken });
      const first = tokens.store.tokens!;
      expect((await client.query({ query: ME, fetchPolicy: "no-cache" })).data?.me.email).toBe(user.email);

      await outliveAccessToken();
      // Without a refresh, the old token is refused: what the client hides from the app.
      expect(codesOf(await server.gql(`{ me { id } }`, {}, first.accessToken))).toEqual(["UNAUTHENTICATED"]);
      const results = await Promise.all([1, 2, 3].map(() => client.query({ query: ME, fetchPolicy: "no-cache" })));
      expect(results.map((r) => r.data?.me.email)).toEqual([user.email, user.email, user.email]);
      expect(tokens.store.writes).toHaveLength(2);
      expect(tokens.store.tokens!.accessToken).not.toBe(first.accessToken);
      expect(tokens.store.tokens!.refreshToken).not.toBe(first.refreshToken);
      await ws.dispose();
    },
    LONG,
  );

  it(
    "keeps a subscription going past its token's expiry: 4403, refresh, reconnect",
    async () => {
      const user = await server.signUp("live");
      const tokens = tokenStore({ accessToken: user.accessToken, refreshToken: user.refreshToken });
      const { client, ws } = apolloFor(tokens);
      const closes: number[] = [];
      let connections = 0;
      ws.on("connected", () => void connections++);
      ws.on("closed", (event) => void closes.push((event as { code: number }).code));
      const agents: string[] = [];
      const errors: unknown[] = [];
      const subscription = client.subscribe({ query: SECURITY_EVENTS }).subscribe({
        next: (result) => void agents.push(result.data!.securityEvents.userAgent!),
        error: (error) => void errors.push(error),
      });
      await until(
        () => agents.includes("Before/1.0"),
        () => loginFrom(user, "Before/1.0"),
      );

      await outliveAccessToken();
      expect(closes).toContain(4403);
      await until(
        () => agents.includes("After/1.0"),
        () => loginFrom(user, "After/1.0"),
      );
      expect(connections).toBe(2);
      expect(tokens.store.writes).toHaveLength(1);
      expect(errors).toEqual([]);
      subscription.unsubscribe();
      await ws.dispose();
    },
    LONG,
  );

  it("resubscribes after a 4401 with a refreshed token", async () => {
    const user = await server.signUp("refused");
    const tokens = tokenStore({ accessToken: "not-a-token", refreshToken: user.refreshToken });
    const { client, ws } = apolloFor(tokens);
    const closes: number[] = [];
    ws.on("closed", (event) => void closes.push((event as { code: number }).code));
    const agents: string[] = [];
    const subscription = client.subscribe({ query: SECURITY_EVENTS }).subscribe({
      next: (result) => void agents.push(result.data!.securityEvents.userAgent!),
    });
    await until(
      () => agents.includes("Later/1.0"),
      () => loginFrom(user, "Later/1.0"),
    );
    expect(closes[0]).toBe(4401);
    expect(tokens.store.tokens!.accessToken).not.toBe("not-a-token");
    subscription.unsubscribe();
    await ws.dispose();
  });

  it("hands the app UNAUTHENTICATED and forgets the tokens once the session has ended", async () => {
    const user = await server.signUp("ended");
    const tokens = tokenStore({ accessToken: user.accessToken, refreshToken: user.refreshToken });
    const { client, ws } = apolloFor(tokens);
    expect((await server.gql(`mutation { logout }`, {}, user.accessToken)).errors).toBeUndefined();
    const error = await client.query({ query: ME, fetchPolicy: "no-cache" }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(codesOf(error)).toEqual(["UNAUTHENTICATED"]);
    expect(tokens.store.writes).toEqual([null]);
    await ws.dispose();
  });

  it("neither refreshes for nor retries a refused login (a retry would count twice towards the lockout)", async () => {
    const user = await server.signUp("typo");
    const tokens = tokenStore({ accessToken: user.accessToken, refreshToken: user.refreshToken });
    const { client, ws } = apolloFor(tokens);
    const before = server.logs.filter((l) => l.includes('"message":"request"')).length;
    const error = await client
      .mutate({ mutation: LOGIN, variables: { email: user.email, password: "not the password" } })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(codesOf(error)).toEqual(["UNAUTHENTICATED"]);
    expect(tokens.store.writes).toEqual([]);
    expect(server.logs.filter((l) => l.includes('"message":"request"')).length - before).toBe(1);
    await ws.dispose();
  });
});

describe.skipIf(missing)("Apollo Client 4, cookie mode in Chromium (docs/clients/apollo-cookies.ts)", () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await startBrowser();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it(
    "signs in, queries and subscribes with HttpOnly cookies only, and outlives the access cookie",
    async () => {
      const user = await server.signUp("browser");
      const context = await loopbackContext(browser);
      const page = await context.newPage();
      const refreshes: string[] = [];
      page.on("request", (request) => {
        if (request.method() === "POST" && (request.postData() ?? "").includes("refreshToken {")) {
          refreshes.push(request.url());
        }
      });
      await page.goto(pages.url("/clients.html"));
      await page.waitForFunction(() => "kafkeyCookies" in globalThis);
      const call = <T>(fn: (api: ClientsCookiesPageApi, arg: unknown) => T | Promise<T>, arg?: unknown) =>
        page.evaluate(
          ([source, value]) => {
            const api = (globalThis as unknown as { kafkeyCookies: ClientsCookiesPageApi }).kafkeyCookies;
            return new Function("api", "arg", `return (${source})(api, arg)`)(api, value) as T;
          },
          [fn.toString(), arg] as const,
        );

      await call((api, url) => api.start(url as string), server.url);
      const login = await call((api, u) => api.login((u as SignedIn).email, (u as { p: string }).p), {
        ...user,
        p: PASSWORD,
      });
      // The page never sees a token: Kafkey put them in cookies.
      expect(login).toEqual({ data: { login: expect.objectContaining({ accessToken: null, refreshToken: null }) } });
      const cookies = await context.cookies(server.url);
      expect(cookies.map((c) => [c.name, c.httpOnly, c.sameSite]).sort()).toEqual([
        ["kafkey-access", true, "Strict"],
        ["kafkey-refresh", true, "Strict"],
      ]);
      expect(await call((api) => api.me())).toEqual({ data: { me: expect.objectContaining({ email: user.email }) } });

      await call((api) => api.subscribe());
      const seen = () => call((api) => api.seen());
      const waitFor = async (agent: string) => {
        let events: string[] = [];
        await until(
          () => events.includes(agent),
          async () => {
            await loginFrom(user, agent);
            events = (await seen()).events;
          },
        );
      };
      await waitFor("Page-before/1.0");

      await outliveAccessToken();
      expect(await call((api) => api.me())).toEqual({ data: { me: expect.objectContaining({ email: user.email }) } });
      await waitFor("Page-after/1.0");
      const after = await seen();
      expect(after.connections).toBe(2);
      expect(after.errors).toEqual([]);
      expect(after.signedOut).toBe(0);
      // The socket's reconnection and the query shared one refresh (a refresh token works once).
      expect(refreshes).toHaveLength(1);
      await context.close();
    },
    LONG,
  );
});

describe("urql (docs/clients/urql.ts)", () => {
  const ME_QUERY = `query Me { me { email } }`;
  const gets = () => server.logs.filter((l) => l.includes('"method":"GET"') && l.includes('"path":"/graphql"'));

  it("runs queries as GET with the preflight header", async () => {
    const user = await server.signUp("urql");
    const client = createKafkeyUrqlClient({ url: `${server.url}/graphql`, getAccessToken: () => user.accessToken });
    const before = gets().length;
    const result = await client.query(ME_QUERY, {}).toPromise();
    expect(result.error).toBeUndefined();
    expect(result.data).toEqual({ me: { email: user.email } });
    expect(gets().length - before).toBe(1);
  });

  it("is refused (BAD_REQUEST, CSRF) for a GET without a preflight-triggering header", async () => {
    const bare = new Client({ url: `${server.url}/graphql`, exchanges: [fetchExchange], preferGetMethod: true });
    const result = await bare.query(ME_QUERY, {}).toPromise();
    expect(result.error?.graphQLErrors.map((e) => e.extensions.code)).toEqual(["BAD_REQUEST"]);
  });
});

describe("graphql-request (docs/clients/graphql-request.ts)", () => {
  it("sends the access token and carries Kafkey's code on a refusal", async () => {
    const user = await server.signUp("request");
    let token: string | undefined = user.accessToken;
    const client = createKafkeyRequestClient(`${server.url}/graphql`, () => token);
    expect(await client.request(`{ me { email } }`)).toEqual({ me: { email: user.email } });
    token = undefined;
    const error = await client.request(`{ me { email } }`).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(kafkeyErrorCodes(error)).toEqual(["UNAUTHENTICATED"]);
  });
});

describe("codegen.ts (GraphQL Code Generator)", () => {
  const run = (scalars: Record<string, string>) => {
    const [[path, output]] = Object.entries(codegen.generates) as [[string, { config?: object }]];
    return generate(
      {
        ...codegen,
        silent: true,
        cwd: new URL("..", import.meta.url).pathname,
        generates: { [path]: { ...output, config: { ...output.config, scalars } } },
      },
      false,
    );
  };

  it("generates the guide's operations with strictScalars, every Kafkey scalar mapped", async () => {
    const [file] = await run(KAFKEY_SCALARS);
    expect(file!.content).toContain("UUID: { input: string; output: string; }");
    expect(file!.content).toContain("DateTimeISO: { input: string; output: string; }");
    expect(file!.content).toContain("export type MeQuery");
  });

  it("fails with strictScalars when a scalar is not mapped", async () => {
    const { UUID: _unmapped, ...rest } = KAFKEY_SCALARS;
    await expect(run(rest)).rejects.toThrow(/UUID/);
  });
});
