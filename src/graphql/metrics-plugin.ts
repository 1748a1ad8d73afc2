import type { ApolloServerPlugin } from "@apollo/server";
import type { Metrics } from "../platform/observability/metrics.js";
import type { Context } from "./context.js";

/** Times every GraphQL operation by name and outcome, and counts the error codes clients receive. */
export function metricsPlugin(metrics: Metrics): ApolloServerPlugin<Context> {
  return {
    async requestDidStart() {
      const started = performance.now();
      return {
        async willSendResponse({ operationName, errors }) {
          const outcome = errors && errors.length > 0 ? "error" : "ok";
          metrics.graphqlDuration.record((performance.now() - started) / 1000, {
            operation: operationName ?? "anonymous",
            outcome,
          });
          for (const error of errors ?? []) {
            metrics.graphqlErrors.add(1, { code: String(error.extensions?.code ?? "INTERNAL_SERVER_ERROR") });
          }
        },
      };
    },
  };
}
