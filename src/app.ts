// Must load before any module that declares GraphQL types with decorators.
import "reflect-metadata";
import { ApolloServer } from "@apollo/server";
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginLandingPageDisabled,
} from "@apollo/server/plugin/disabled";
import { fastifyApolloDrainPlugin, fastifyApolloHandler } from "@as-integrations/fastify";
import Fastify, { type FastifyInstance, type FastifyRequest } from "fastify";
import { RESOLVERS, resolverInstances, rulesFor } from "./api.js";
import type { Config } from "./config.js";
import { armor } from "./graphql/armor.js";
import { contextFactory, type Context, requestInfo } from "./graphql/context.js";
import { formatErrorWith } from "./graphql/format-error.js";
import { forwardedIdentity } from "./graphql/forwarded-identity.js";
import { httpStatusPlugin } from "./graphql/http-status.js";
import { landingPageWithExplorer } from "./graphql/landing-page.js";
import { checkInputs } from "./graphql/input-check.js";
import { metricsPlugin } from "./graphql/metrics-plugin.js";
import { queryBudgetPlugin } from "./graphql/query-budget.js";
import { registerWebSockets } from "./graphql/websocket.js";
import { buildGraphQLSchema } from "./graphql/schema.js";
import { applyPermissions } from "./graphql/shield.js";
import { FieldRateLimiter } from "./graphql/rate-limit.js";
import { AccessTokens, type CreatedAdmin, ensureFirstAdmin, FIRST_PARTY_CLIENT_ID } from "./modules/auth/index.js";
import { registerWellKnownRoutes, SigningKeys } from "./modules/keys/index.js";
import { NotificationService } from "./modules/notifications/index.js";
import { registerOAuthRoutes } from "./modules/oauth/index.js";
import { registerIntrospectionRoutes, registerVerifyRoutes } from "./modules/gateway/index.js";
import { AuditTrail } from "./platform/audit/audit-trail.js";
import { AuditDispatcher } from "./platform/audit/dispatcher.js";
import { type Database, openDatabase, type QueryListener } from "./platform/db/database.js";
import { ScopedClients } from "./platform/db/scoped.js";
import { EventBus } from "./platform/events/event-bus.js";
import { migrate } from "./platform/db/migrator.js";
import { registerCors } from "./platform/http/cors.js";
import { cookiePolicy, registerCookies } from "./platform/http/session-cookies.js";
import { registerHttpErrorHandling } from "./platform/http/errors.js";
import { registerExplorer } from "./platform/http/explorer.js";
import { InFlightRequests } from "./platform/http/in-flight.js";
import { type HealthCheck, registerHealthRoutes } from "./platform/http/health.js";
import { registerHttpRateLimit } from "./platform/http/rate-limit.js";
import { clientOf, clientRequestIdOf, requestIdFor } from "./platform/http/request-id.js";
import type { KeyValueStore } from "./platform/kv/kv.js";
import { RedisStore } from "./platform/kv/redis.js";
import { createLogger, type Logger, writesLevel } from "./platform/observability/logger.js";
import { EventCounter, Metrics } from "./platform/observability/metrics.js";
import { type RequestContext, runWithRequestContext } from "./platform/observability/request-context.js";
import { ErrorReporter } from "./platform/observability/error-reporter.js";
import { tagActiveSpan } from "./platform/observability/tracing.js";
import { Lifecycle } from "./platform/lifecycle.js";
import { Revocations } from "./platform/revocations.js";
import { SecretBox } from "./platform/secret-box.js";
import { settleWithin } from "./platform/settle-within.js";
import { buildServices, openAuditSink, openMailer, openStore } from "./services.js";
import { loadOrCreateSecret } from "./platform/secrets.js";

/** How long a shutdown waits for the requests still running: inside Docker's default 10 s grace. */
const SHUTDOWN_WAIT_MS = 8_000;

export interface App {
  config: Config;
  http: FastifyInstance;
  db: Database;
  kv: KeyValueStore;
  log: Logger;
  /** Moves audit events from the outbox to the sink (tests wait on it). */
  auditDispatcher: AuditDispatcher;
  /** The admin created at this start, if any (with its generated password, to show once). */
  createdAdmin: CreatedAdmin | undefined;
  /** Starts listening; resolves to the base URL. */
  listen(): Promise<string>;
  /** Stops accepting requests, lets running ones finish, and closes the database. Once, however often called. */
  close(): Promise<void>;
}

export interface AppOptions {
  /** An already opened database (tests); otherwise one is opened from config. */
  db?: Database;
  /** An already opened store (tests); otherwise Redis when configured, else in-process. */
  kv?: KeyValueStore;
  log?: Logger;
  /** Sees every SQL statement Prisma sends (tests count them). */
  onQuery?: QueryListener;
  /** More checks for `/health/ready` (main.ts: a cluster's workers). */
  readiness?: HealthCheck[];
}

function buildHttpServer(config: Config, log: Logger, metrics: Metrics): FastifyInstance {
  const http = Fastify({
    logger: false,
    bodyLimit: config.bodyLimitBytes,
    trustProxy: config.trustProxy,
    requestIdHeader: false,
    genReqId: requestIdFor,
  });
  http.addHook("onRequest", async (request, reply) => {
    // The client's own id when it sent one (to find its request by), else Kafkey's.
    reply.header("x-request-id", clientRequestIdOf(request) ?? request.id);
    // Responses carry tokens, codes and personal data: never stored by a browser or a proxy (a route
    // that may be cached sets its own), and never read as another type than they say.
    reply.header("cache-control", "no-store");
    reply.header("x-content-type-options", "nosniff");
    tagActiveSpan(request.id);
  });
  // From here on (the body is parsed), everything the request runs sees its id in the logs.
  const contexts = new WeakMap<object, RequestContext>();
  http.addHook("preHandler", (request, reply, done) => {
    const context: RequestContext = {
      requestId: request.id,
      ...clientOf(request),
      deadline: Date.now() + config.requestTimeoutMs,
    };
    // A client that goes before its answer is written waits for nothing more: its work stops.
    reply.raw.once("close", () => {
      if (!reply.raw.writableFinished) context.abandoned = true;
    });
    contexts.set(request, context);
    runWithRequestContext(context, done);
  });
  // Decided once: a request line that would not be written is not built either.
  const requestLines = writesLevel(log, "info");
  http.addHook("onResponse", async (request, reply) => {
    metrics.httpDuration.record(reply.elapsedTime / 1000, {
      method: request.method,
      route: request.routeOptions.url ?? "unmatched",
      status: reply.statusCode,
    });
    if (!requestLines) return;
    const context = contexts.get(request);
    log.info("request", {
      requestId: request.id,
      clientRequestId: clientRequestIdOf(request),
      userId: context?.userId,
      operationName: context?.operationName,
      method: request.method,
      path: request.url.split("?")[0]!.slice(0, 200),
      status: reply.statusCode,
      durationMs: Math.round(reply.elapsedTime * 10) / 10,
    });
  });
  registerHttpErrorHandling(http, log);
  return http;
}

/**
 * Opens every part and serves them over HTTP. Each part is registered with the lifecycle as it opens,
 * so that closing (a shutdown, or a start-up that fails at any point) closes all of them in reverse.
 */
export async function createApp(config: Config, options: AppOptions = {}): Promise<App> {
  const log = options.log ?? createLogger(config.logLevel);
  const life = new Lifecycle(log);
  try {
    return await openApp(config, options, log, life);
  } catch (error) {
    await life.close();
    throw error;
  }
}

async function openApp(config: Config, options: AppOptions, log: Logger, life: Lifecycle): Promise<App> {
  const db = life.opened("database", options.db ?? (await openDatabase(config, options.onQuery)), (d) => d.close());
  const kv = life.opened("store", options.kv ?? openStore(config, log), (store) => store.close());
  const mailer = life.opened("mailer", openMailer(config, log), (m) => m.close());
  const metrics = life.opened("metrics", new Metrics(), (m) => m.shutdown());
  log.add(new EventCounter(metrics));
  if (config.sentry.dsn) {
    const reporter = await ErrorReporter.create({ dsn: config.sentry.dsn, environment: config.sentry.environment });
    log.add(reporter);
    life.opened("error reporter", reporter, async (r) => {
      log.remove(r);
      await r.shutdown();
    });
  }
  if (db.poolStats) metrics.observePool(db.poolStats);
  if (kv instanceof RedisStore) metrics.observeStore(() => kv.available);
  if (config.migrateOnStart) {
    const applied = await migrate(db);
    if (applied.length > 0) log.info("migrations applied", { migrations: applied, database: db.kind });
  }
  // A missed revocation notice (a listening connection cut without a reset) lives at most 10 s.
  const revocations = life.opened(
    "revocations",
    new Revocations(
      db,
      kv,
      { cacheMs: Math.min(config.permissionCache.ttlMs, 10_000), maxEntries: config.permissionCache.maxEntries },
      log,
    ),
    (r) => r.close(),
  );
  await revocations.start();
  const box = new SecretBox(config.encryptionKey ?? loadOrCreateSecret(config.dataDir, "encryption-key", 32).secret);
  const auditSink = life.opened("audit sink", await openAuditSink(config, db, log), (sink) => sink.close());
  const { dispatchIntervalMs, batchSize, retryMaxMs } = config.audit;
  const events = life.opened("event bus", new EventBus(kv, log), (bus) => bus.close());
  const notifications = new NotificationService(db.prisma, events);
  const auditDispatcher = new AuditDispatcher(
    db,
    auditSink,
    {
      intervalMs: dispatchIntervalMs,
      batchSize,
      retryMaxMs,
      // Delivered events become users' notifications and go out to the live streams.
      afterDelivery: (delivered) => notifications.delivered(delivered),
    },
    log,
    metrics,
  );
  metrics.observeAuditBacklog(() => auditDispatcher.backlog());
  const audit = new AuditTrail(db.prisma, () => auditDispatcher.nudge());
  const scoped = new ScopedClients(db.prisma);
  const signingKeys = life.opened(
    "signing keys",
    new SigningKeys(
      db.prisma,
      box,
      revocations,
      audit,
      { ...config.signingKeys, accessTokenTtlSeconds: config.jwt.accessTokenTtlSeconds },
      log,
    ),
    (keys) => keys.close(),
  );
  // Every instance signs with the same keys: the first start makes one, under a lock.
  await signingKeys.start();
  // With a public URL, the issuer is that URL, as the discovery documents say (RFC 8414, RFC 9068).
  const issuer = config.oauth.publicUrl ?? config.jwt.issuer;
  const tokens = new AccessTokens(signingKeys, { ...config.jwt, issuer });
  const services = buildServices({
    config,
    db,
    kv,
    tokens,
    signingKeys,
    revocations,
    mailer,
    box,
    metrics,
    audit,
    auditSink,
    scoped,
    notifications,
    log,
  });
  const createdAdmin = await ensureFirstAdmin(db.prisma, services.auth, config.admin);

  const http = buildHttpServer(config, log, metrics);
  const inFlight = new InFlightRequests();
  inFlight.register(http);
  // Kafkey's base URL as a client sees it: the configured one, else the request's own.
  const baseUrl = (protocol: string, host: string | undefined) =>
    config.oauth.publicUrl ?? `${protocol}://${host ?? "localhost"}`;
  const publicUrl = (request: FastifyRequest) => baseUrl(request.protocol, request.host);
  // CORS first: the rate limit's and the body parser's refusals carry its headers, preflights go uncounted.
  await registerCors(http, config.corsOrigins);
  await registerHttpRateLimit(http, kv, config.httpRateLimit);
  await registerCookies(http);
  const production = config.env === "production";
  const cookies = cookiePolicy(config.oauth.publicUrl, production, {
    ownOrigin: config.oauth.publicUrl === undefined ? undefined : new URL(config.oauth.publicUrl).origin,
    allowedOrigins: config.corsOrigins,
  });
  const protection = armor(config.graphqlLimits, production);
  const built = await buildGraphQLSchema(RESOLVERS);
  const schema = checkInputs(applyPermissions(built, rulesFor(built)));
  // One formatting for HTTP and WebSocket.
  const formatError = formatErrorWith(log, { hideSuggestions: production });
  const apollo = new ApolloServer<Context>({
    schema,
    introspection: !production,
    includeStacktraceInErrorResponses: false,
    allowBatchedHttpRequests: false,
    // main.ts stops the whole app on SIGTERM/SIGINT; Apollo stopping itself too makes that hang.
    stopOnTerminationSignals: false,
    parseOptions: { maxTokens: config.graphqlLimits.maxTokens },
    validationRules: protection.validationRules,
    formatError,
    plugins: [
      ...protection.plugins,
      queryBudgetPlugin(kv, config.queryBudget),
      metricsPlugin(metrics),
      httpStatusPlugin(),
      // Kafkey sets no cache hints; the default plugin would wrap every field's resolver to read them.
      ApolloServerPluginCacheControlDisabled(),
      fastifyApolloDrainPlugin(http),
      // Development: Sandbox, with a link to the explorer below (Sandbox needs Apollo's CDN).
      production ? ApolloServerPluginLandingPageDisabled() : landingPageWithExplorer(),
    ],
  });
  await life.opened("apollo", apollo, (server) => server.stop()).start();
  const contextFor = contextFactory({
    tokens,
    identification: {
      isLive: (sessionId, userId) => services.sessions.isLive(sessionId, userId),
      principal: (userId, organizationId) => services.access.principal(userId, organizationId),
      apiKey: (secret, organizationId) => services.apiKeys.identify(secret, organizationId),
    },
    scoped,
    container: resolverInstances(services, new FieldRateLimiter(kv, config.authRateLimit)),
    log,
  });
  http.route({
    url: "/graphql",
    method: ["GET", "POST"],
    handler: fastifyApolloHandler(apollo, {
      context: async (request, reply) => contextFor(requestInfo(request, reply, publicUrl(request), cookies)),
    }),
  });
  registerOAuthRoutes(http, services.oauth, publicUrl);
  registerWellKnownRoutes(http, signingKeys, issuer, publicUrl);
  await registerVerifyRoutes(http, {
    identify: forwardedIdentity(contextFor, publicUrl, cookies),
    permissionsOf: (principal) => services.access.effectivePermissions(principal),
    ...config.verify,
  });
  await registerIntrospectionRoutes(http, {
    apiKey: (secret) => services.apiKeys.identify(secret, null),
    verify: (raw) => tokens.verify(raw),
    isLive: (sessionId, userId) => services.sessions.isLive(sessionId, userId),
    principal: (userId, organizationId) => services.access.principal(userId, organizationId),
    issuer,
    audience: config.jwt.audience,
    clientId: FIRST_PARTY_CLIENT_ID,
  });
  // The offline explorer is development's: production answers 404 there.
  if (!production) registerExplorer(http);
  const checks: HealthCheck[] = [
    { name: "database", probe: () => db.withSession(async (s) => void (await s.query("SELECT 1"))) },
    ...(options.readiness ?? []),
  ];
  if (kv.kind === "redis") checks.push({ name: "redis", probe: () => kv.ping() });
  checks.push({
    name: "audit",
    // Events wait in the outbox while the sink is down: requests go on being served.
    required: false,
    probe: async () => {
      const [backlog, up] = await Promise.all([
        auditDispatcher.backlog(),
        auditSink.ping().then(
          () => true,
          () => false,
        ),
      ]);
      return {
        status: up ? "ok" : "down",
        sink: auditSink.kind,
        backlog: backlog.count,
        oldestSeconds: backlog.oldestSeconds,
      };
    },
  });
  registerHealthRoutes(http, checks);
  if (config.metrics.enabled) {
    http.get(config.metrics.path, { config: { rateLimit: false } }, async (_request, reply) =>
      reply.type("text/plain; version=0.0.4; charset=utf-8").send(await metrics.render()),
    );
  }
  life.opened("audit dispatcher", auditDispatcher, (d) => d.stop()).start();
  // Requests that still run at shutdown may finish until the deadline, whether their clients wait
  // for the answer or have gone; then what is still open is cut off.
  let deadline = 0;
  life.opened("http", http, async (server) => {
    const stopped = server.close();
    await settleWithin(stopped, deadline - Date.now());
    server.server.closeAllConnections();
    await stopped;
    await inFlight.settled(deadline - Date.now());
  });
  life.opened(
    "websockets",
    registerWebSockets(
      http,
      {
        schema,
        production,
        validationRules: protection.validationRules,
        contextFor,
        publicUrl: (request) => baseUrl("http", request.headers.host),
        formatError,
        onSessionEnded: (listener) => services.sessions.onEnded(listener),
      },
      {
        ...config.websocket,
        trustProxy: config.trustProxy,
        cookies,
      },
    ),
    (sockets) => sockets.close(),
  );

  return {
    config,
    http,
    db,
    kv,
    log,
    auditDispatcher,
    createdAdmin,
    async listen() {
      try {
        return await http.listen({ host: config.host, port: config.port });
      } catch (error) {
        // Nothing serves: nothing opened for it may stay open (the port taken, for one).
        await life.close();
        throw error;
      }
    },
    close() {
      deadline ||= Date.now() + SHUTDOWN_WAIT_MS;
      return life.close();
    },
  };
}
