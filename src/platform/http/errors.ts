import type { FastifyError, FastifyInstance } from "fastify";
import type { Logger } from "../observability/logger.js";

/** The codes of HTTP-level refusals, in the same `errors[].extensions.code` shape GraphQL uses. */
function codeFor(status: number): string {
  if (status === 413) return "PAYLOAD_TOO_LARGE";
  if (status === 404) return "NOT_FOUND";
  if (status === 405) return "METHOD_NOT_ALLOWED";
  if (status === 415) return "UNSUPPORTED_MEDIA_TYPE";
  if (status === 429) return "RATE_LIMITED";
  return "BAD_REQUEST";
}

/**
 * Errors raised before GraphQL runs (malformed JSON, a body over the limit, an unknown route) answer
 * a 4xx with a GraphQL-shaped body; anything else is logged and masked as a 500.
 */
export function registerHttpErrorHandling(app: FastifyInstance, log: Logger): void {
  app.setErrorHandler((error: FastifyError & { retryAfter?: number }, request, reply) => {
    const status = error.statusCode && error.statusCode >= 400 ? error.statusCode : 500;
    if (status >= 500) {
      log.error("unexpected HTTP error", { error, requestId: request.id });
      return reply.status(500).send({
        errors: [{ message: "Unexpected error", extensions: { code: "INTERNAL_SERVER_ERROR", requestId: request.id } }],
      });
    }
    const retryAfter = typeof error.retryAfter === "number" ? { retryAfter: error.retryAfter } : {};
    return reply.status(status).send({
      errors: [{ message: error.message, extensions: { code: codeFor(status), ...retryAfter, requestId: request.id } }],
    });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({
      errors: [
        {
          message: `No route ${request.method} ${request.url.split("?")[0]!.slice(0, 200)}`,
          extensions: { code: "NOT_FOUND", requestId: request.id },
        },
      ],
    }),
  );
}
