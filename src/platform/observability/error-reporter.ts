import type { NodeClient, Scope } from "@sentry/node";
import TransportStream from "winston-transport";
import { redactedLines } from "./logger.js";

export interface ErrorReporterOptions {
  dsn: string;
  environment: string;
}

/** What a logged error looks like after redaction (logger.ts): a plain object, secrets removed. */
interface LoggedError {
  name?: unknown;
  message?: unknown;
  stack?: unknown;
}

interface ErrorLine {
  message?: unknown;
  error?: LoggedError;
  requestId?: unknown;
  userId?: unknown;
  operationName?: unknown;
  path?: unknown;
}

function rebuild(logged: LoggedError | undefined, fallback: string): Error {
  const error = new Error(typeof logged?.message === "string" ? logged.message : fallback);
  if (typeof logged?.name === "string") error.name = logged.name;
  error.stack = typeof logged?.stack === "string" ? logged.stack : undefined;
  return error;
}

const text = (value: unknown): string | undefined => (typeof value === "string" ? value : undefined);

/**
 * Reports every error-level log line that carries an `error` to Sentry (`SENTRY_DSN`), tagged with the
 * request id, the user id and the GraphQL operation name. It reads the line after the logger's
 * redaction, so no password, token or secret can reach Sentry; request bodies are never sent, and no
 * Sentry integration runs (no automatic instrumentation, no default PII).
 */
export class ErrorReporter extends TransportStream {
  private constructor(
    private readonly client: NodeClient,
    private readonly scope: Scope,
  ) {
    super({ level: "error", format: redactedLines() });
  }

  /** Loads the Sentry SDK only when a DSN is configured. */
  static async create(options: ErrorReporterOptions): Promise<ErrorReporter> {
    const Sentry = await import("@sentry/node");
    const client = new Sentry.NodeClient({
      dsn: options.dsn,
      environment: options.environment,
      transport: Sentry.makeNodeTransport,
      stackParser: Sentry.defaultStackParser,
      integrations: [],
      // Nothing beyond what we attach: no bodies, headers, cookies, query strings or GraphQL variables.
      dataCollection: {
        userInfo: false,
        cookies: false,
        httpHeaders: false,
        httpBodies: [],
        urlQueryParams: false,
        graphQL: { document: false, variables: false },
      },
    });
    const scope = new Sentry.Scope();
    scope.setClient(client);
    client.init();
    return new ErrorReporter(client, scope);
  }

  override log(info: ErrorLine, done: () => void): void {
    if (info.error) {
      const message = text(info.message) ?? "error";
      this.scope.captureException(rebuild(info.error, message), {
        captureContext: {
          tags: {
            requestId: text(info.requestId),
            operationName: text(info.operationName),
            logMessage: message,
          },
          user: text(info.userId) ? { id: text(info.userId) } : undefined,
        },
      });
    }
    done();
  }

  /** Sends what is queued (up to `timeoutMs`) and stops. */
  async shutdown(timeoutMs = 2000): Promise<void> {
    await this.client.close(timeoutMs);
  }
}
