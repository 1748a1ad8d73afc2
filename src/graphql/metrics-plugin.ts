import type { ApolloServerPlugin } from "@apollo/server";
import type { Metrics } from "../platform/observability/metrics.js";
import { currentRequestContext } from "../platform/observability/request-context.js";
import type { Context } from "./context.js";

/** Distinct operation names kept as labels; clients choose names, so the rest are counted as "other". */
const MAX_OPERATION_NAMES = 200;
const OPERATION_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/**
 * Times every GraphQL operation by name and outcome, and counts the error codes clients receive. The
 * operation's name also goes into the request's context, for its log lines and error reports.
 */
export function metricsPlugin(metrics: Metrics): ApolloServerPlugin<Context> {
  const names = new Set<string>();
  const label = (name: string | null | undefined): string => {
    if (!name) return "anonymous";
    if (names.has(name)) return name;
    if (!OPERATION_NAME.test(name) || names.size >= MAX_OPERATION_NAMES) return "other";
    names.add(name);
    return name;
  };
  return {
    async requestDidStart() {
      const started = performance.now();
      return {
        async didResolveOperation({ operationName }) {
          const context = currentRequestContext();
          if (context && operationName) context.operationName = operationName.slice(0, 100);
        },
        async willSendResponse({ operationName, errors }) {
          const outcome = errors && errors.length > 0 ? "error" : "ok";
          metrics.graphqlDuration.record((performance.now() - started) / 1000, {
            operation: label(operationName),
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
