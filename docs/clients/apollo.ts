/**
 * Apollo Client 4 against Kafkey in header mode: the app holds the tokens (a server, a mobile app, a
 * single-page app keeping them in memory). Queries and mutations go over HTTP with the access token;
 * when Kafkey answers UNAUTHENTICATED (the token expired), the client exchanges the refresh token once,
 * however many operations failed together, and retries each of them. Subscriptions go over graphql-ws,
 * whose every connection reads the current token; a socket Kafkey closes for its token (4401 bad or
 * missing, 4403 expired or no longer allowed) reconnects with a fresh one.
 */
import { ApolloClient, ApolloLink, CombinedGraphQLErrors, HttpLink, InMemoryCache } from "@apollo/client";
import { SetContextLink } from "@apollo/client/link/context";
import { ErrorLink } from "@apollo/client/link/error";
import { GraphQLWsLink } from "@apollo/client/link/subscriptions";
import { getMainDefinition } from "@apollo/client/utilities";
import { createClient, type Client as WsClient } from "graphql-ws";
import { from, switchMap, throwError } from "rxjs";

export interface KafkeyTokens {
  accessToken: string;
  refreshToken: string;
}

export interface KafkeyClientOptions {
  /** Kafkey's GraphQL endpoint over HTTP: `https://id.example.com/graphql`. */
  url: string;
  /** The same over WebSocket: `wss://id.example.com/graphql`. */
  wsUrl: string;
  /** The tokens of the signed-in session, or null when signed out. */
  getTokens: () => KafkeyTokens | null;
  /** Keeps the tokens of login, signUp, verifyMfa and every refresh; null once the session is gone. */
  setTokens: (tokens: KafkeyTokens | null) => void;
  /** A WebSocket class where there is no global one (Node before 22: `import { WebSocket } from "ws"`). */
  webSocketImpl?: unknown;
}

export interface KafkeyClient {
  client: ApolloClient;
  /** The graphql-ws client, to watch its connection (`ws.on("connected", …)`) or dispose of it. */
  ws: WsClient;
}

const REFRESH = `mutation Refresh($token: String!) {
  refreshToken(token: $token) { accessToken refreshToken }
}`;

/** Kafkey's close codes of a socket whose token no longer does (docs/api.md, WebSocket close codes). */
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

export function createKafkeyClient(options: KafkeyClientOptions): KafkeyClient {
  const { url, wsUrl, getTokens, setTokens } = options;
  let refreshing: Promise<KafkeyTokens | null> | undefined;

  /**
   * Fresh tokens for an operation refused with `stale`. A refresh token works once, so every operation
   * that failed with the same token waits for the same exchange; one that failed with a token already
   * replaced just retries with the new one. Null when the session is over (signed out, revoked).
   */
  function refreshed(stale: string | undefined): Promise<KafkeyTokens | null> {
    const current = getTokens();
    if (!current) return Promise.resolve(null);
    if (current.accessToken !== stale) return Promise.resolve(current);
    refreshing ??= exchange(current.refreshToken).finally(() => (refreshing = undefined));
    return refreshing;
  }

  /** Calls refreshToken outside the link chain (it must not wait on itself). Throws on network errors. */
  async function exchange(refreshToken: string): Promise<KafkeyTokens | null> {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/graphql-response+json" },
      body: JSON.stringify({ query: REFRESH, variables: { token: refreshToken } }),
    });
    const body = (await response.json()) as { data?: { refreshToken?: KafkeyTokens } | null };
    const tokens = body.data?.refreshToken ?? null;
    // Anything but new tokens (UNAUTHENTICATED: expired, reused, revoked) means the session is over.
    setTokens(tokens?.accessToken && tokens.refreshToken ? tokens : null);
    return getTokens();
  }

  /** Sends the current access token, and remembers which one, to tell a stale refusal from a fresh one. */
  const auth = new SetContextLink((previous) => {
    const accessToken = getTokens()?.accessToken;
    return {
      kafkeyAccessToken: accessToken,
      headers: { ...previous.headers, ...(accessToken ? { authorization: `Bearer ${accessToken}` } : {}) },
    };
  });

  /** On UNAUTHENTICATED for an operation that carried a token: refresh, then retry it once. */
  const retry = new ErrorLink(({ error, operation, forward }) => {
    const context = operation.getContext();
    const sent = context.kafkeyAccessToken as string | undefined;
    const unauthenticated =
      CombinedGraphQLErrors.is(error) && error.errors.some((e) => e.extensions?.code === "UNAUTHENTICATED");
    if (!unauthenticated || !sent || context.kafkeyRetried || signsIn(operation)) return;
    operation.setContext({ kafkeyRetried: true });
    return from(refreshed(sent)).pipe(switchMap((tokens) => (tokens ? forward(operation) : throwError(() => error))));
  });

  /** The token the socket's connection_init carried, and whether Kafkey closed the socket for it. */
  let socketToken: string | undefined;
  let closedForToken = false;

  const ws = createClient({
    url: wsUrl,
    webSocketImpl: options.webSocketImpl,
    // Called for every connection, the reconnections too: after a close for the token, refresh first.
    connectionParams: async () => {
      const tokens = closedForToken ? await refreshed(socketToken) : getTokens();
      closedForToken = false;
      if (!tokens) throw new Error("Signed out");
      socketToken = tokens.accessToken;
      return { authorization: `Bearer ${tokens.accessToken}` };
    },
    // Kafkey closes a socket with 4403 when its token expires: come back at once, not after a backoff.
    retryWait: async (retries) => {
      const ms = closedForToken && retries === 0 ? 0 : 1000 * 2 ** retries + Math.random() * 1000;
      await new Promise((resolve) => setTimeout(resolve, ms));
    },
    on: {
      closed: (event) => {
        closedForToken = TOKEN_CLOSE_CODES.includes((event as { code?: number }).code ?? 0);
      },
    },
  });

  /**
   * graphql-ws retries 4403 itself, but treats 4401 as final and fails the subscription: resubscribe
   * once through the link, whose new connection refreshes first (connectionParams above).
   */
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
    ApolloLink.from([retry, auth, new HttpLink({ uri: url })]),
  );
  return { client: new ApolloClient({ link, cache: new InMemoryCache() }), ws };
}
