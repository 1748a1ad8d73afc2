import type { FastifyError, FastifyInstance } from "fastify";
import type { Logger } from "../observability/logger.js";
import { httpErrorCodeFor, HttpErrorCode } from "./error-codes.js";

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
        errors: [
          {
            message: "Unexpected error",
            extensions: { code: HttpErrorCode.INTERNAL_SERVER_ERROR, requestId: request.id },
          },
        ],
      });
    }
    const retryAfter = typeof error.retryAfter === "number" ? { retryAfter: error.retryAfter } : {};
    return reply.status(status).send({
      errors: [
        {
          message: error.message,
          extensions: { code: httpErrorCodeFor(status), ...retryAfter, requestId: request.id },
        },
      ],
    });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({
      errors: [
        {
          message: `No route ${request.method} ${request.url.split("?")[0]!.slice(0, 200)}`,
          extensions: { code: HttpErrorCode.NOT_FOUND, requestId: request.id },
        },
      ],
    }),
  );
}
