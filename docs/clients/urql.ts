/**
 * urql against Kafkey. urql sends queries as GET, and Kafkey (Apollo Server's CSRF prevention) runs a
 * GET only when it carries a header a plain cross-site form or link cannot send: without one it answers
 * 400 BAD_REQUEST and runs nothing. `apollo-require-preflight` is that header (any non-simple one
 * does, `authorization` included, but a signed-out query has none). The other way out is
 * `preferGetMethod: false`: everything goes as a JSON POST, which is never refused for CSRF.
 */
import { Client, fetchExchange } from "@urql/core";

export interface KafkeyUrqlOptions {
  /** `https://id.example.com/graphql`. */
  url: string;
  /** The current access token (header mode), if any. */
  getAccessToken?: () => string | undefined;
}

export function createKafkeyUrqlClient({ url, getAccessToken }: KafkeyUrqlOptions): Client {
  return new Client({
    url,
    exchanges: [fetchExchange],
    // Queries stay GETs (cacheable by URL, as urql intends), with the header that lets Kafkey run them.
    preferGetMethod: true,
    fetchOptions: () => {
      const token = getAccessToken?.();
      return {
        headers: {
          "apollo-require-preflight": "true",
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
      };
    },
  });
}
