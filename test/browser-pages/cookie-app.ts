/**
 * The page script of cookie-app.html and oauth-done.html, bundled by test/support/chromium.ts's
 * bundle(): a single-page app in cookie mode, as docs/clients.md tells one to be. Apollo Client 4 sends
 * `x-kafkey-auth-mode: cookie` with `credentials: "include"` and never holds a token; subscriptions go
 * over graphql-ws with no connection parameters (the handshake carries the access cookie). Exposed to
 * the tests as `globalThis.app`; every call answers plain values page.evaluate can carry back.
 */
import { ApolloClient, HttpLink, InMemoryCache, gql } from "@apollo/client";
import { createClient } from "graphql-ws";

/** What a call saw: the data, or the GraphQL codes (or the error's class) of its failure. */
export interface Outcome {
  data?: Record<string, any>; // whatever the operation answers
  codes?: string[];
}

const KAFKEY = (globalThis as unknown as { KAFKEY_URL: string }).KAFKEY_URL;

const client = new ApolloClient({
  link: new HttpLink({
    uri: `${KAFKEY}/graphql`,
    credentials: "include",
    headers: { "x-kafkey-auth-mode": "cookie" },
  }),
  cache: new InMemoryCache(),
  defaultOptions: { query: { fetchPolicy: "no-cache" } },
});

async function outcome(run: () => Promise<{ data?: unknown }>): Promise<Outcome> {
  try {
    return { data: (await run()).data as Outcome["data"] };
  } catch (error) {
    const errors = (error as { errors?: { extensions?: { code?: unknown } }[] }).errors;
    return { codes: errors ? errors.map((e) => String(e.extensions?.code)) : [(error as Error).name] };
  }
}

const SESSION = `accessToken refreshToken accessTokenExpiresAt user { id email }`;
const mutate = (mutation: string, variables?: Record<string, unknown>) =>
  outcome(() => client.mutate({ mutation: gql(mutation), variables }));
const query = (text: string) => outcome(() => client.query({ query: gql(text) }));

/** Security events heard on the live connection. */
const heard: string[] = [];
let closedWith: number | undefined;

const app = {
  signUp: (email: string, password: string) =>
    mutate(`mutation($input: SignUpInput!) { signUp(input: $input) { ${SESSION} } }`, {
      input: { email, password, displayName: "Cookie app" },
    }),
  login: (email: string, password: string) =>
    mutate(
      `mutation($email: String!, $password: String!) { login(email: $email, password: $password) { ${SESSION} } }`,
      {
        email,
        password,
      },
    ),
  me: () => query(`query Me { me { id email } }`),
  refresh: () => mutate(`mutation { refreshToken { ${SESSION} } }`),
  logout: () => mutate(`mutation { logout }`),
  /** What an app does when it starts: who am I, and when the access cookie is gone, refresh first. */
  async boot(): Promise<Outcome> {
    const me = await app.me();
    if (!me.codes?.includes("UNAUTHENTICATED")) return me;
    const refreshed = await app.refresh();
    return refreshed.codes ? refreshed : app.me();
  },
  exchange: (code: string) =>
    mutate(`mutation($code: String!) { exchangeOAuthCode(code: $code) { ${SESSION} } }`, { code }),
  /** Opens the securityEvents subscription; heard() and closed() tell what came of it. */
  listen(): void {
    const ws = createClient({
      url: `${KAFKEY.replace(/^http/, "ws")}/graphql`,
      retryAttempts: 0,
      on: { closed: (event) => void (closedWith = (event as { code: number }).code) },
    });
    ws.subscribe<{ securityEvents: { action: string } }>(
      { query: `subscription { securityEvents { action } }` },
      {
        next: (value) => void heard.push(value.data!.securityEvents.action),
        error: () => undefined,
        complete: () => undefined,
      },
    );
  },
  heard: () => [...heard],
  closed: () => closedWith,
  /** What the script of the page can see of the cookies: none of Kafkey's (HttpOnly). */
  cookies: () => (globalThis as unknown as { document: { cookie: string } }).document.cookie,
};

export type CookieApp = typeof app;

(globalThis as { app?: CookieApp }).app = app;

// The OAuth return page: the provider sent the browser back here with a one-time code.
const code = new URL((globalThis as unknown as { location: { href: string } }).location.href).searchParams.get("code");
if (code)
  (globalThis as { signedIn?: Promise<Outcome> }).signedIn = app
    .exchange(code)
    .then(async (exchanged) => (exchanged.codes ? exchanged : app.me()));
