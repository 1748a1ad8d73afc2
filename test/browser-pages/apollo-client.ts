/**
 * The page script of apollo.html, bundled by test/support/chromium.ts's bundle(): a frontend using
 * Apollo Client 4 the way an app would, exposed to the tests as `globalThis.kafkey`. It returns plain
 * values (what reached the page, or how the request failed) so that page.evaluate can carry them back.
 */
import { ApolloClient, HttpLink, InMemoryCache, gql } from "@apollo/client";

/** What a call saw: the data, or the error's class and the GraphQL codes it carried. */
export interface Outcome {
  data?: unknown;
  error?: { name: string; codes: string[] };
}

function client(kafkey: string, headers: Record<string, string> = {}): ApolloClient {
  return new ApolloClient({
    // credentials "include": what a cookie-mode frontend sets; header mode does not need it, and CORS
    // must allow it (Access-Control-Allow-Credentials) for the answer to reach the page either way.
    link: new HttpLink({ uri: `${kafkey}/graphql`, credentials: "include", headers }),
    cache: new InMemoryCache(),
  });
}

function failure(error: unknown): Outcome {
  const errors = (error as { errors?: { extensions?: { code?: unknown } }[] }).errors ?? [];
  return {
    error: {
      name: error instanceof Error ? error.name : typeof error,
      codes: errors.map((e) => String(e.extensions?.code)),
    },
  };
}

async function outcome(run: () => Promise<{ data?: unknown }>): Promise<Outcome> {
  try {
    return { data: (await run()).data };
  } catch (error) {
    return failure(error);
  }
}

const LOGIN = gql`
  mutation Login($email: String!, $password: String!) {
    login(email: $email, password: $password) {
      accessToken
      user {
        id
        email
      }
    }
  }
`;

const SIGN_UP = gql`
  mutation SignUp($input: SignUpInput!) {
    signUp(input: $input) {
      user {
        id
      }
    }
  }
`;

const ME = gql`
  query Me {
    me {
      id
      email
    }
  }
`;

const api = {
  login: (kafkey: string, email: string, password: string) =>
    outcome(() => client(kafkey).mutate({ mutation: LOGIN, variables: { email, password } })),
  signUp: (kafkey: string, email: string, password: string) =>
    outcome(() =>
      client(kafkey).mutate({ mutation: SIGN_UP, variables: { input: { email, password, displayName: "page" } } }),
    ),
  me: (kafkey: string, accessToken: string) =>
    outcome(() =>
      client(kafkey, { authorization: `Bearer ${accessToken}` }).query({ query: ME, fetchPolicy: "no-cache" }),
    ),
};

export type KafkeyPageApi = typeof api;

(globalThis as { kafkey?: KafkeyPageApi }).kafkey = api;
