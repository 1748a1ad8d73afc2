/**
 * Apollo Client 4 in a browser, in cookie mode: Kafkey keeps the tokens in HttpOnly cookies, so no
 * script on the page (an injected one included) can read them, and this client handles no token at all.
 * Every request asks for cookie mode and sends the cookies (`credentials: "include"`); when Kafkey
 * answers UNAUTHENTICATED (the access cookie expired), one refreshToken without argument renews both
 * cookies and the operations that failed are retried. The WebSocket handshake carries the access
 * cookie; a socket closed for its token (4401, 4403) reconnects after a refresh. Kafkey must be on the
 * page's own site, and the page's origin in KAFKEY_CORS_ORIGINS (or Kafkey on the same origin).
 */
import { ApolloClient, ApolloLink, CombinedGraphQLErrors, HttpLink, InMemoryCache } from "@apollo/client";
import { ErrorLink } from "@apollo/client/link/error";
import { GraphQLWsLink } from "@apollo/client/link/subscriptions";
import { getMainDefinition } from "@apollo/client/utilities";
import { createClient, type Client as WsClient } from "graphql-ws";
import { from, switchMap, throwError } from "rxjs";

export interface KafkeyBrowserClientOptions {
  /** `https://id.example.com/graphql`, or `/graphql` when a proxy serves Kafkey on the app's origin. */
  url: string;
  /** `wss://id.example.com/graphql` (a WebSocket needs an absolute URL). */
  wsUrl: string;
  /** Called once the session is over (the refresh cookie no longer works): show the sign-in page. */
  onSignedOut?: () => void;
}

export interface KafkeyBrowserClient {
  client: ApolloClient;
  ws: WsClient;
}

/** Asks Kafkey to set the tokens as cookies and leave them out of its answers. */
const COOKIE_MODE = { "x-kafkey-auth-mode": "cookie" };

const REFRESH = `mutation Refresh { refreshToken { accessTokenExpiresAt } }`;

const TOKEN_CLOSE_CODES = [4401, 4403];

/**
 * Operations whose UNAUTHENTICATED is their own answer (a wrong password, a used refresh token), not an
 * expired access token: never refreshed for, nor retried (a retried login would count twice towards
 * the lockout).
 */
const SIGN_IN_FIELDS = new Set(["login", "signUp", "verifyMfa", "exchangeOAuthCode", "refreshToken", "logout"]);

const signsIn = ({ query }: ApolloLink.Operation) => {
  const definition = getMainDefinition(query);
  return definition.selectionSet.selections.some((s) => s.kind === "Field" && SIGN_IN_FIELDS.has(s.name.value));
};

export function createKafkeyBrowserClient(options: KafkeyBrowserClientOptions): KafkeyBrowserClient {
  const { url, wsUrl } = options;
  let refreshing: Promise<boolean> | undefined;
  /** How many refreshes succeeded: an operation sent before the last one just retries. */
  let generation = 0;

  /**
   * Renews the cookies for an operation sent at `sent` (a generation). Every operation failing meanwhile
   * waits for the same call, since a refresh token works once. @returns whether the session goes on.
   */
  function renew(sent: number): Promise<boolean> {
    if (sent < generation) return Promise.resolve(true);
    refreshing ??= (async () => {
      const response = await fetch(url, {
        method: "POST",
        credentials: "include",
        headers: { ...COOKIE_MODE, "content-type": "application/json" },
        body: JSON.stringify({ query: REFRESH }),
      });
      const body = (await response.json()) as { data?: { refreshToken?: unknown } | null };
      const ok = Boolean(body.data?.refreshToken);
      if (ok) generation++;
      else options.onSignedOut?.();
      return ok;
    })().finally(() => (refreshing = undefined));
    return refreshing;
  }

  const http = new HttpLink({ uri: url, credentials: "include", headers: COOKIE_MODE });

  const stamp = new ApolloLink((operation, forward) => {
    operation.setContext({ kafkeyGeneration: generation });
    return forward(operation);
  });

  /** On UNAUTHENTICATED (the access cookie expired): refresh, then retry once. */
  const retry = new ErrorLink(({ error, operation, forward }) => {
    const context = operation.getContext();
    const unauthenticated =
      CombinedGraphQLErrors.is(error) && error.errors.some((e) => e.extensions?.code === "UNAUTHENTICATED");
    if (!unauthenticated || context.kafkeyRetried || signsIn(operation)) return;
    operation.setContext({ kafkeyRetried: true });
    return from(renew(context.kafkeyGeneration as number)).pipe(
      switchMap((ok) => (ok ? forward(operation) : throwError(() => error))),
    );
  });

  /** Whether Kafkey closed the socket for its cookie, and whether the refresh since then failed. */
  let closedForToken = false;
  let renewFailed = false;
  let handshakeGeneration = 0;
  const ws = createClient({
    // No connectionParams: Kafkey reads the access cookie of the handshake, so a reconnection after a
    // close for the token refreshes before the socket opens (`url` is called first, connectionParams
    // only once it is open).
    url: async () => {
      renewFailed = closedForToken && !(await renew(handshakeGeneration));
      closedForToken = false;
      handshakeGeneration = generation;
      return wsUrl;
    },
    retryWait: async (retries) => {
      const ms = closedForToken && retries === 0 ? 0 : 1000 * 2 ** retries + Math.random() * 1000;
      await new Promise((resolve) => setTimeout(resolve, ms));
    },
    on: {
      closed: (event) => {
        closedForToken = !renewFailed && TOKEN_CLOSE_CODES.includes((event as { code?: number }).code ?? 0);
      },
    },
  });

  /** graphql-ws gives up on 4401: resubscribe once, through a connection that refreshes first. */
  const resubscribe = new ErrorLink(({ error, operation, forward }) => {
    if (!closedForToken || CombinedGraphQLErrors.is(error) || operation.getContext().kafkeyRetried) return;
    operation.setContext({ kafkeyRetried: true });
    return forward(operation);
  });

  const isSubscription = ({ query }: ApolloLink.Operation) => {
    const definition = getMainDefinition(query);
    return definition.kind === "OperationDefinition" && definition.operation === "subscription";
  };

  const link = ApolloLink.split(
    isSubscription,
    ApolloLink.from([resubscribe, new GraphQLWsLink(ws)]),
    ApolloLink.from([retry, stamp, http]),
  );
  return { client: new ApolloClient({ link, cache: new InMemoryCache() }), ws };
}
