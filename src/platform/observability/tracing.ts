import { context, trace } from "@opentelemetry/api";

export interface TracingOptions {
  /** The OTLP/HTTP collector's base URL; spans go to `<endpoint>/v1/traces`. */
  endpoint: string;
  serviceName: string;
}

/**
 * Starts OpenTelemetry tracing: HTTP server spans, GraphQL parse/validate/execute spans and PostgreSQL
 * query spans (through the `pg` driver; embedded PGlite has none), exported over OTLP/HTTP. Must run
 * before the modules it instruments are loaded, which is why main.ts loads the app only afterwards.
 * @returns a function that flushes the spans still buffered and stops.
 */
export async function startTracing(options: TracingOptions): Promise<() => Promise<void>> {
  const [
    { NodeSDK },
    { OTLPTraceExporter },
    { HttpInstrumentation },
    { GraphQLInstrumentation },
    { PgInstrumentation },
  ] = await Promise.all([
    import("@opentelemetry/sdk-node"),
    import("@opentelemetry/exporter-trace-otlp-http"),
    import("@opentelemetry/instrumentation-http"),
    import("@opentelemetry/instrumentation-graphql"),
    import("@opentelemetry/instrumentation-pg"),
  ]);
  const sdk = new NodeSDK({
    serviceName: options.serviceName,
    traceExporter: new OTLPTraceExporter({ url: `${options.endpoint.replace(/\/+$/, "")}/v1/traces` }),
    instrumentations: [
      // Outgoing calls (mail, MongoDB's own protocol aside) are not worth a span each; incoming are.
      new HttpInstrumentation({ ignoreOutgoingRequestHook: () => true }),
      // One span per resolver would drown the operations: only the non-trivial resolvers get one.
      new GraphQLInstrumentation({ mergeItems: true, ignoreTrivialResolveSpans: true }),
      new PgInstrumentation(),
    ],
    // Metrics are served at /metrics by our own provider (metrics.ts) and logs go to stdout: the SDK
    // exports traces only, whatever OTEL_* variables say.
    metricReaders: [],
    logRecordProcessors: [],
  });
  sdk.start();
  return () => sdk.shutdown();
}

/** Marks the span of the request being served with its request id, so traces and logs meet. */
export function tagActiveSpan(requestId: string): void {
  trace.getSpan(context.active())?.setAttribute("kafkey.request_id", requestId);
}
