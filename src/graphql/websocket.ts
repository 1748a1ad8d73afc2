import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { ApolloServerErrorCode } from "@apollo/server/errors";
import type { FastifyInstance } from "fastify";
import {
  type ExecutionResult,
  type FormattedExecutionResult,
  GraphQLError,
  type GraphQLFormattedError,
  type GraphQLSchema,
  getOperationAST,
  NoSchemaIntrospectionCustomRule,
  parse,
  specifiedRules,
  validate,
  type ValidationRule,
} from "graphql";
import { CloseCode as ProtocolCloseCode, type Context as WsContext } from "graphql-ws";
import { useServer } from "graphql-ws/use/ws";
import { WebSocket, WebSocketServer } from "ws";
import { CloseCode } from "./live.js";
import { type Context, organizationHeaderError, type RequestInfo } from "./context.js";
import { type ErrorFormatter } from "./format-error.js";
import { ErrorCode } from "../kernel/errors.js";
import type { ClientInfo } from "../kernel/request.js";
import { upgradeOriginAllowed } from "../platform/http/cors.js";
import { type CookiePolicy, sessionCookiesOf } from "../platform/http/session-cookies.js";
import { clientOf } from "../platform/http/request-id.js";

export interface WebSocketOptions {
  /** Largest message a client may send. */
  maxPayloadBytes: number;
  /** How often the server pings; a client that does not answer is dropped. */
  keepAliveMs: number;
  maxSubscriptionsPerConnection: number;
  maxConnectionsPerUser: number;
  maxConnectionsPerIp: number;
  /** Whether to read the client's address from X-Forwarded-For (as the HTTP side does). */
  trustProxy: boolean;
  /** The origins that may open a connection, and the access cookie that may authenticate it. */
  cookies: CookiePolicy;
}

interface ConnectionState {
  userId: string;
  /** The session of its token: the connection closes the moment that session ends. */
  sessionId: string;
  authorization: string;
  /** The ids of the operations running on the connection. */
  operations: Set<string>;
  expiry: NodeJS.Timeout;
}

type Extra = { socket: WebSocket; request: IncomingMessage; state?: ConnectionState };

function clientAddress(request: IncomingMessage, trustProxy: boolean): string {
  const forwarded = request.headers["x-forwarded-for"];
  if (trustProxy && typeof forwarded === "string") return forwarded.split(",")[0]!.trim();
  return request.socket.remoteAddress ?? "unknown";
}

/** Where a connection's operations come from, read as for an HTTP request (the user agent cut alike). */
export function connectionClient(request: IncomingMessage, trustProxy: boolean): ClientInfo {
  return clientOf({ ip: clientAddress(request, trustProxy), headers: request.headers });
}

const coded = (message: string, code: string) => new GraphQLError(message, { extensions: { code } });

/** graphql-js's own error, coded as Apollo codes it over HTTP (its parse and validation errors). */
const recoded = (error: GraphQLError, code: string) =>
  new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    originalError: error,
    extensions: { ...error.extensions, code },
  });

/** Counts per key (a user, an IP), for limits. */
class Counter {
  private readonly counts = new Map<string, number>();

  /** Adds one unless it would pass `max`. @returns whether it was added. */
  take(key: string, max: number): boolean {
    const count = this.counts.get(key) ?? 0;
    if (count >= max) return false;
    this.counts.set(key, count + 1);
    return true;
  }

  release(key: string): void {
    const count = (this.counts.get(key) ?? 1) - 1;
    if (count <= 0) this.counts.delete(key);
    else this.counts.set(key, count);
  }
}

export interface WebSocketDependencies {
  schema: GraphQLSchema;
  production: boolean;
  validationRules: ValidationRule[];
  /** Builds an operation's context, as for an HTTP request. */
  contextFor: (request: RequestInfo) => Context;
  publicUrl: (request: IncomingMessage) => string;
  /** Apollo's own formatError (format-error.ts): errors are masked over WebSocket exactly as over HTTP. */
  formatError: ErrorFormatter;
  /** Calls its listener with every session that ends, on whichever instance. @returns its removal. */
  onSessionEnded: (listener: (sessionId: string) => void) => () => void;
}

/**
 * GraphQL subscriptions over WebSocket on `/graphql`, with the graphql-ws protocol (what Apollo Client,
 * urql and Apollo Sandbox speak). The token goes in `connection_init`'s payload as
 * `{ authorization: "Bearer …" }`: a bad one closes the socket with 4401. Each connection is limited in
 * subscriptions, each user and IP in connections, each message in size; the server pings, and the
 * connection ends when its token expires.
 */
export function registerWebSockets(http: FastifyInstance, deps: WebSocketDependencies, options: WebSocketOptions) {
  const wss = new WebSocketServer({ noServer: true, maxPayload: options.maxPayloadBytes });
  const perIp = new Counter();
  const perUser = new Counter();
  /** The open connections of each session, closed when it ends (a logout, a revocation, a password change). */
  const bySession = new Map<string, Set<WebSocket>>();
  const stopListening = deps.onSessionEnded((sessionId) => {
    for (const socket of bySession.get(sessionId) ?? []) socket.close(CloseCode.FORBIDDEN, "Session ended");
  });

  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = (request.url ?? "").split("?")[0];
    if (path !== "/graphql") {
      socket.destroy();
      return;
    }
    // A page on another site must not open a socket in its visitor's name (cross-site WebSocket
    // hijacking); a client without Origin is no browser, and proves itself by its token.
    if (!upgradeOriginAllowed(request.headers.origin, request.headers.host, options.cookies)) {
      socket.end("HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
      return;
    }
    const ip = clientAddress(request, options.trustProxy);
    if (!perIp.take(ip, options.maxConnectionsPerIp)) {
      socket.end("HTTP/1.1 429 Too Many Requests\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
      return;
    }
    // Released with the raw socket: a handshake ws refuses or the client abandons releases it too.
    socket.once("close", () => perIp.release(ip));
    wss.handleUpgrade(request, socket, head, (ws) => wss.emit("connection", ws, request));
  };
  http.server.on("upgrade", onUpgrade);

  const organizationParam = (ctx: WsContext<Record<string, unknown> | undefined, Extra>) =>
    ctx.connectionParams?.["x-organization-id"] ?? ctx.connectionParams?.["X-Organization-Id"];

  const infoFor = (
    ctx: WsContext<Record<string, unknown> | undefined, Extra>,
    state: ConnectionState,
  ): RequestInfo => ({
    id: randomUUID(),
    authorization: state.authorization,
    organizationHeader: organizationParam(ctx),
    client: connectionClient(ctx.extra.request, options.trustProxy),
    publicUrl: deps.publicUrl(ctx.extra.request),
    live: { close: (code, reason) => ctx.extra.socket.close(code, reason) },
  });

  /** The one place errors are formatted on this side: those of results and those of refused operations. */
  const mask = (error: GraphQLError): GraphQLFormattedError => deps.formatError(error.toJSON(), error);
  const formatted = ({ errors, ...result }: ExecutionResult): FormattedExecutionResult =>
    errors ? { ...result, errors: errors.map(mask) } : result;

  const server = useServer<Record<string, unknown> | undefined, Extra>(
    {
      schema: deps.schema,
      isProd: deps.production,
      validate: (schema, document) =>
        validate(schema, document, [
          ...specifiedRules,
          ...deps.validationRules,
          // As over HTTP: no introspection in production.
          ...(deps.production ? [NoSchemaIntrospectionCustomRule] : []),
        ]).map((error) => recoded(error, ApolloServerErrorCode.GRAPHQL_VALIDATION_FAILED)),
      async onConnect(ctx) {
        // Clients (and Apollo Sandbox, which sends its headers as connection parameters) spell it either
        // way; a page in cookie mode sends none, and its handshake carries the access cookie (a browser's
        // handshake always has an Origin: without one, a cookie authenticates nothing).
        const { headers } = ctx.extra.request;
        const cookie = headers.origin === undefined ? undefined : sessionCookiesOf(headers, options.cookies).access;
        const authorization =
          ctx.connectionParams?.authorization ??
          ctx.connectionParams?.Authorization ??
          (cookie === undefined ? undefined : `Bearer ${cookie}`);
        const refuse = (code: number, reason: string) => {
          ctx.extra.socket.close(code, reason);
          return false;
        };
        if (typeof authorization !== "string") return refuse(CloseCode.UNAUTHORIZED, "Authentication required");
        const probe = deps.contextFor({
          id: randomUUID(),
          authorization,
          organizationHeader: undefined,
          client: connectionClient(ctx.extra.request, options.trustProxy),
          publicUrl: "",
        });
        const principal = await probe.principal();
        // Gone while its token was checked: nothing to count or to time.
        if (ctx.extra.socket.readyState !== WebSocket.OPEN) return false;
        if (!principal || !probe.token) {
          return refuse(CloseCode.UNAUTHORIZED, `Authentication failed: ${probe.tokenProblem() ?? "invalid token"}`);
        }
        if (!perUser.take(principal.userId, options.maxConnectionsPerUser)) {
          return refuse(ProtocolCloseCode.TooManyInitialisationRequests, "Too many connections");
        }
        // The connection lives as long as its token.
        const expiry = setTimeout(
          () => ctx.extra.socket.close(CloseCode.FORBIDDEN, "Token expired"),
          Math.max(0, probe.token.expiresAt.getTime() - Date.now()),
        );
        expiry.unref();
        const sessionId = probe.token.sessionId;
        ctx.extra.state = { userId: principal.userId, sessionId, authorization, operations: new Set(), expiry };
        const sockets = bySession.get(sessionId) ?? new Set();
        bySession.set(sessionId, sockets.add(ctx.extra.socket));
        return true;
      },
      onSubscribe(ctx, id, payload) {
        const state = ctx.extra.state;
        if (!state) return [coded("Authentication required", ErrorCode.UNAUTHENTICATED)];
        // Refused here, as over HTTP: the context of each operation is built from it.
        const badOrganization = organizationHeaderError(organizationParam(ctx));
        if (badOrganization) return [badOrganization];
        // Queries and mutations go over HTTP, with its rate limits, budget and request context.
        try {
          const operation = getOperationAST(parse(payload.query), payload.operationName);
          if (operation?.operation !== "subscription") {
            return [
              coded(
                "Only subscriptions go over WebSocket: send queries and mutations over HTTP",
                ErrorCode.BAD_REQUEST,
              ),
            ];
          }
        } catch (error) {
          return [
            error instanceof GraphQLError
              ? recoded(error, ApolloServerErrorCode.GRAPHQL_PARSE_FAILED)
              : coded("Unreadable operation", ErrorCode.BAD_REQUEST),
          ];
        }
        if (state.operations.size >= options.maxSubscriptionsPerConnection) {
          return [
            coded(
              `At most ${options.maxSubscriptionsPerConnection} subscriptions per connection`,
              ErrorCode.RATE_LIMITED,
            ),
          ];
        }
        state.operations.add(id);
        return undefined;
      },
      onError(ctx, id, _payload, errors) {
        ctx.extra.state?.operations.delete(id);
        return errors.map((error) => {
          const { message, extensions } = mask(error);
          return new GraphQLError(message, { extensions });
        });
      },
      onComplete(ctx, id) {
        ctx.extra.state?.operations.delete(id);
      },
      context: (ctx) => deps.contextFor(infoFor(ctx, ctx.extra.state!)),
      onNext: (_ctx, _id, _payload, _args, result) => formatted(result),
      onClose(ctx) {
        const state = ctx.extra.state;
        if (!state) return;
        clearTimeout(state.expiry);
        perUser.release(state.userId);
        const sockets = bySession.get(state.sessionId);
        sockets?.delete(ctx.extra.socket);
        if (sockets?.size === 0) bySession.delete(state.sessionId);
        ctx.extra.state = undefined;
      },
    },
    wss,
    options.keepAliveMs,
  );

  return {
    /** Closes every connection (1001, going away) and stops accepting new ones. */
    async close(): Promise<void> {
      http.server.off("upgrade", onUpgrade);
      stopListening();
      for (const client of wss.clients) client.close(1001, "Server shutting down");
      // Clients get a moment to answer the close; the rest are cut.
      const grace = setTimeout(() => wss.clients.forEach((client) => client.terminate()), 1000);
      await server.dispose();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      clearTimeout(grace);
    },
  };
}
