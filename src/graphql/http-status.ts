import type { ApolloServerPlugin, BaseContext } from "@apollo/server";
import type { GraphQLFormattedError } from "graphql";
import Negotiator from "negotiator";
import { ErrorCode } from "../kernel/errors.js";

const GRAPHQL_RESPONSE_JSON = "application/graphql-response+json";
const JSON_TYPE = "application/json";

/**
 * Request errors that say the document or its variables are wrong (parse, validation, an operation
 * that cannot be chosen, a variable of the wrong type, a page size over the limit): the request was
 * well formed, so under `application/json` the GraphQL-over-HTTP spec answers them 200.
 */
const DOCUMENT_ERRORS = new Set<string>([
  ErrorCode.GRAPHQL_PARSE_FAILED,
  ErrorCode.GRAPHQL_VALIDATION_FAILED,
  ErrorCode.OPERATION_RESOLUTION_FAILURE,
  ErrorCode.BAD_USER_INPUT,
]);

/**
 * Whether Apollo answers this `Accept` header with `application/graphql-response+json` rather than
 * `application/json`: negotiated with the library Apollo itself negotiates with, over the same two
 * types. No header, or a wildcard (Apollo Client 3, plain `fetch`), is `application/json`.
 */
export function prefersGraphQLResponseJson(accept: string | undefined): boolean {
  if (!accept) return false;
  return (
    new Negotiator({ headers: { accept } }).mediaType([JSON_TYPE, GRAPHQL_RESPONSE_JSON]) === GRAPHQL_RESPONSE_JSON
  );
}

/** The longest `retryAfter` among RATE_LIMITED errors, in seconds; undefined without one. */
function retryAfterOf(errors: readonly GraphQLFormattedError[]): number | undefined {
  const waits = errors
    .filter((e) => e.extensions?.code === ErrorCode.RATE_LIMITED)
    .map((e) => e.extensions?.retryAfter)
    .filter((s): s is number => typeof s === "number" && Number.isFinite(s) && s > 0);
  return waits.length > 0 ? Math.ceil(Math.max(...waits)) : undefined;
}

/**
 * The HTTP status every GraphQL client understands (GraphQL-over-HTTP). Errors carry
 * `extensions.http.status` (kernel/errors.ts), which Apollo makes the response's status; a 401 or
 * 403 on a response that has a `data` entry makes Apollo Client 3 and fetch wrappers throw a network
 * error and lose `extensions.code`. So:
 * - a response produced by execution (a `data` entry, even `null`) answers 200, whatever its field
 *   errors (UNAUTHENTICATED, FORBIDDEN, RATE_LIMITED, ...);
 * - a request error about the document or its variables answers 200 under `application/json` and
 *   keeps its 400 under `application/graphql-response+json`;
 * - every other refusal before execution keeps its status (a batch or CSRF 400, the query budget's
 *   429, a 405 for a mutation over GET).
 * Any RATE_LIMITED error adds `Retry-After`: the longest `retryAfter`, in seconds.
 */
export function httpStatusPlugin(): ApolloServerPlugin<BaseContext> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ request, response }) {
          const result = response.body.kind === "single" ? response.body.singleResult : response.body.initialResult;
          const errors = result.errors ?? [];
          const retryAfter = retryAfterOf(errors);
          if (retryAfter !== undefined) response.http.headers.set("retry-after", String(retryAfter));
          if (result.data !== undefined) {
            response.http.status = 200;
            return;
          }
          const aboutTheDocument =
            errors.length > 0 && errors.every((e) => DOCUMENT_ERRORS.has(String(e.extensions?.code)));
          if (aboutTheDocument && !prefersGraphQLResponseJson(request.http?.headers.get("accept"))) {
            response.http.status = 200;
          }
        },
      };
    },
  };
}
