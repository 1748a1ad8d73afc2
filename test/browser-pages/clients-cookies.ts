/**
 * The page script of test/clients.test.ts's cookie-mode check: docs/clients/apollo-cookies.ts as a
 * frontend would use it, bundled for Chromium and exposed to the test as `globalThis.kafkeyCookies`.
 * It returns plain values so that page.evaluate can carry them back.
 */
import { gql } from "@apollo/client";
import { createKafkeyBrowserClient, type KafkeyBrowserClient } from "../../docs/clients/apollo-cookies.js";

const LOGIN = gql`
  mutation Login($email: String!, $password: String!) {
    login(email: $email, password: $password) {
      accessToken
      refreshToken
      user {
        email
      }
    }
  }
`;
const ME = gql`
  query Me {
    me {
      email
    }
  }
`;
const SECURITY_EVENTS = gql`
  subscription SecurityEvents {
    securityEvents {
      userAgent
    }
  }
`;

let kafkey: KafkeyBrowserClient;
const seen = { events: [] as string[], connections: 0, signedOut: 0, errors: [] as string[] };

const codes = (error: unknown) =>
  ((error as { errors?: { extensions?: { code?: unknown } }[] }).errors ?? []).map((e) => String(e.extensions?.code));

async function outcome(run: () => Promise<{ data?: unknown }>) {
  try {
    return { data: (await run()).data };
  } catch (error) {
    return { codes: codes(error) };
  }
}

const api = {
  start(url: string) {
    kafkey = createKafkeyBrowserClient({
      url: `${url}/graphql`,
      wsUrl: `${url.replace(/^http/, "ws")}/graphql`,
      onSignedOut: () => void seen.signedOut++,
    });
    kafkey.ws.on("connected", () => void seen.connections++);
  },
  login: (email: string, password: string) =>
    outcome(() => kafkey.client.mutate({ mutation: LOGIN, variables: { email, password } })),
  me: () => outcome(() => kafkey.client.query({ query: ME, fetchPolicy: "no-cache" })),
  subscribe() {
    kafkey.client.subscribe({ query: SECURITY_EVENTS }).subscribe({
      next: (result) => {
        const event = (result.data as { securityEvents?: { userAgent?: string } } | undefined)?.securityEvents;
        if (event?.userAgent) seen.events.push(event.userAgent);
      },
      error: (error: unknown) => void seen.errors.push(String(error)),
    });
  },
  seen: () => seen,
};

export type ClientsCookiesPageApi = typeof api;

(globalThis as { kafkeyCookies?: ClientsCookiesPageApi }).kafkeyCookies = api;
