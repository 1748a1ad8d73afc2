/**
 * graphql-request against Kafkey, for scripts and services: a JSON POST per operation (so no CSRF
 * header is needed), the access token or a service account's API key as `Authorization: Bearer`. A
 * refused operation throws a ClientError whose `response.errors[].extensions.code` is Kafkey's code.
 */
import { ClientError, GraphQLClient } from "graphql-request";

export function createKafkeyRequestClient(url: string, getAccessToken: () => string | undefined): GraphQLClient {
  return new GraphQLClient(url, {
    // A function: read for every request, so a refreshed token is used from the next one on.
    headers: (): Record<string, string> => {
      const token = getAccessToken();
      return token ? { authorization: `Bearer ${token}` } : {};
    },
  });
}

/** Kafkey's codes of a failed request (`["UNAUTHENTICATED"]`), to branch on; empty for network errors. */
export function kafkeyErrorCodes(error: unknown): string[] {
  if (!(error instanceof ClientError)) return [];
  return (error.response.errors ?? []).map((e) => String(e.extensions?.code));
}
