import path from "node:path";
import type { HostPort, RedisTopology } from "./platform/kv/redis.js";

/**
 * Every environment variable Kafkey reads, parsed and validated once at start-up. Nothing else in the
 * code reads `process.env`. README.md documents each variable with its default.
 */
export interface Config {
  /** `development`, `production` or `test`. @default "development" */
  env: "development" | "production" | "test";
  /** @default "127.0.0.1" */
  host: string;
  /** @default 4000 */
  port: number;
  /** Trust `X-Forwarded-For` from a proxy in front of Kafkey. @default false */
  trustProxy: boolean;
  /** Processes serving on the port (cluster mode): one per core uses the machine. @default 1 */
  workers: number;
  /** Largest request body accepted, in bytes. @default 102400 */
  bodyLimitBytes: number;
  /**
   * How long a request may take: past it (or once its client has gone) it sends no more database
   * statements, so work nobody waits for stops rather than commits unseen. @default 10000
   */
  requestTimeoutMs: number;
  /** GraphQL subscriptions over WebSocket on /graphql. */
  websocket: {
    /** @default 65536 */
    maxPayloadBytes: number;
    /** @default 12000 */
    keepAliveMs: number;
    /** @default 20 */
    maxSubscriptionsPerConnection: number;
    /** Per instance. @default 10 */
    maxConnectionsPerUser: number;
    /** Per instance. @default 100 */
    maxConnectionsPerIp: number;
  };
  /** `error`, `warn`, `info`, `debug` or `silent`. @default "info" */
  logLevel: string;
  /** Where the embedded database and development secrets live. @default "./.data" */
  dataDir: string;
  /** Apply pending migrations at start-up. @default true */
  migrateOnStart: boolean;
  database: {
    /** PostgreSQL URL; when unset, embedded PGlite under `dataDir` is used. */
    url: string | undefined;
    /** @default 10 */
    poolSize: number;
    /** @default 10000 */
    idleTimeoutMs: number;
    /** @default 15000 */
    statementTimeoutMs: number;
    /** @default 5000 */
    connectTimeoutMs: number;
  };
  jwt: {
    /** HS256 secret of at least 32 bytes; required in production, generated in development. */
    secret: string | undefined;
    /** @default "kafkey" */
    issuer: string;
    /** @default "kafkey" */
    audience: string;
    /** Access token lifetime in seconds. @default 900 */
    accessTokenTtlSeconds: number;
  };
  /** Refresh token lifetime in seconds. @default 2592000 (30 days) */
  refreshTokenTtlSeconds: number;
  admin: {
    /** Email of the first admin, created at start-up when no such user exists. */
    email: string | undefined;
    /** Password of the first admin. */
    password: string | undefined;
  };
  /** argon2id cost. OWASP's minimum: m=19 MiB, t=2, p=1. */
  argon2: { memoryKib: number; timeCost: number; parallelism: number };
  permissionCache: {
    /** How long a user's effective permissions are kept in memory, in ms. @default 30000 */
    ttlMs: number;
    /** @default 10000 */
    maxEntries: number;
  };
  redis: {
    /**
     * Where Redis is: `REDIS_URL` (one node), `REDIS_SENTINELS` or `REDIS_CLUSTER_NODES`; when none is
     * set, an in-process store is used (one instance only).
     */
    topology: RedisTopology | undefined;
    /** Prefix of every key and channel. @default "kafkey:" */
    prefix: string;
    /**
     * Bound of one Redis call, and as long again for a connection being re-established (a failover);
     * past it the call fails and callers degrade or refuse. @default 500
     */
    commandTimeoutMs: number;
  };
  /** How long a just-rotated refresh token may be presented again (a client's retry). @default 0 */
  refreshReuseGraceSeconds: number;
  lockout: {
    /** Failed logins of one account before it is locked. @default 5 */
    threshold: number;
    /** First lock's length, doubling on each repeat within a day. @default 900 */
    seconds: number;
    /** Failed logins from one IP, over any accounts, before the IP is locked out. @default 50 */
    ipThreshold: number;
  };
  /** Per-field limit of signUp, login, refreshToken, ... per IP and per account. */
  authRateLimit: { max: number; windowSeconds: number };
  /** Requests per IP over the whole HTTP API. */
  httpRateLimit: { max: number; windowSeconds: number };
  mail: {
    /** smtp:// or smtps:// URL; when unset, mail goes to .eml files under `dataDir/outbox`. */
    smtpUrl: string | undefined;
    /** @default "Kafkey <no-reply@kafkey.local>" */
    from: string;
  };
  /** The frontend's base URL, for links in mail (`/verify-email?token=`, `/reset-password?token=`). */
  appUrl: string;
  /** Refuse logins of accounts whose email is not verified. @default false */
  requireVerifiedEmail: boolean;
  /**
   * Who may create organizations: users with a verified email, any signed-in user, or only platform
   * admins (`orgs.create`). @default "verified-users"
   */
  organizationCreation: "verified-users" | "users" | "admins";
  /** 32 bytes (base64) encrypting TOTP secrets at rest; required in production, generated in development. */
  encryptionKey: string | undefined;
  /** The issuer name authenticator apps show. @default "Kafkey" */
  totpIssuer: string;
  /** Prometheus metrics at `path`. @default { enabled: true, path: "/metrics" } */
  metrics: { enabled: boolean; path: string };
  /** Estimated query cost each caller (user, or IP when anonymous) may spend per window. */
  queryBudget: { points: number; windowSeconds: number };
  audit: {
    /** MongoDB URL of the audit trail; when unset, the `audit_events` table of the database. */
    mongoUrl: string | undefined;
    /** @default 10 */
    mongoPoolSize: number;
    /** @default 5000 */
    mongoConnectTimeoutMs: number;
    /** How long an operation waits for a reachable MongoDB server. @default 5000 */
    mongoServerSelectionTimeoutMs: number;
    /** How often the outbox is looked at besides right after each change. @default 1000 */
    dispatchIntervalMs: number;
    /** Events per delivery. @default 100 */
    batchSize: number;
    /** Longest wait between deliveries to a failing sink. @default 60000 */
    retryMaxMs: number;
  };
  oauth: {
    /** Kafkey's public base URL, for the callback URL given to providers; unset: taken from each request. */
    publicUrl: string | undefined;
    /** Frontend URLs a sign-in may return to (exact match). */
    redirectAllowlist: string[];
    /** A provider without a client id and secret is off. */
    google: OAuthProviderConfig & { jwksUrl: string; issuer: string };
    github: OAuthProviderConfig & { apiUrl: string };
  };
  tracing: {
    /** OTLP/HTTP collector base URL (`http://collector:4318`); tracing is off when unset. */
    endpoint: string | undefined;
    /** @default "kafkey" */
    serviceName: string;
  };
  sentry: {
    /** Sentry DSN: unexpected errors are reported there. Off when unset. */
    dsn: string | undefined;
    /** @default the value of NODE_ENV */
    environment: string;
  };
  /** Limits on the shape of one GraphQL request, checked before it runs. */
  graphqlLimits: { maxDepth: number; maxCost: number; maxAliases: number; maxDirectives: number; maxTokens: number };
}

/** One OAuth provider's registration and endpoints (the real provider's by default). */
export interface OAuthProviderConfig {
  clientId: string | undefined;
  clientSecret: string | undefined;
  scopes: string[];
  authorizeUrl: string;
  tokenUrl: string;
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Every variable `loadConfig` reads. README.md and .env.example document each (a test checks). */
export const CONFIG_VARIABLES = [
  "NODE_ENV",
  "HOST",
  "PORT",
  "LOG_LEVEL",
  "KAFKEY_TRUST_PROXY",
  "KAFKEY_BODY_LIMIT_BYTES",
  "KAFKEY_REQUEST_TIMEOUT_MS",
  "KAFKEY_DATA_DIR",
  "KAFKEY_MIGRATE_ON_START",
  "DATABASE_URL",
  "DATABASE_POOL_SIZE",
  "DATABASE_IDLE_TIMEOUT_MS",
  "DATABASE_STATEMENT_TIMEOUT_MS",
  "DATABASE_CONNECT_TIMEOUT_MS",
  "KAFKEY_JWT_SECRET",
  "KAFKEY_JWT_ISSUER",
  "KAFKEY_JWT_AUDIENCE",
  "KAFKEY_ACCESS_TOKEN_TTL_SECONDS",
  "KAFKEY_REFRESH_TOKEN_TTL_SECONDS",
  "KAFKEY_ADMIN_EMAIL",
  "KAFKEY_ADMIN_PASSWORD",
  "KAFKEY_ARGON2_MEMORY_KIB",
  "KAFKEY_ARGON2_TIME_COST",
  "KAFKEY_ARGON2_PARALLELISM",
  "KAFKEY_PERMISSION_CACHE_TTL_MS",
  "KAFKEY_PERMISSION_CACHE_SIZE",
  "REDIS_URL",
  "REDIS_SENTINELS",
  "REDIS_SENTINEL_MASTER",
  "REDIS_CLUSTER_NODES",
  "REDIS_PASSWORD",
  "REDIS_SENTINEL_PASSWORD",
  "KAFKEY_REDIS_PREFIX",
  "REDIS_COMMAND_TIMEOUT_MS",
  "KAFKEY_REFRESH_REUSE_GRACE_SECONDS",
  "KAFKEY_LOCKOUT_THRESHOLD",
  "KAFKEY_LOCKOUT_SECONDS",
  "KAFKEY_LOCKOUT_IP_THRESHOLD",
  "KAFKEY_AUTH_RATE_LIMIT_MAX",
  "KAFKEY_AUTH_RATE_LIMIT_WINDOW_SECONDS",
  "KAFKEY_HTTP_RATE_LIMIT_MAX",
  "KAFKEY_HTTP_RATE_LIMIT_WINDOW_SECONDS",
  "KAFKEY_GRAPHQL_MAX_DEPTH",
  "KAFKEY_GRAPHQL_MAX_COST",
  "KAFKEY_GRAPHQL_MAX_ALIASES",
  "KAFKEY_GRAPHQL_MAX_DIRECTIVES",
  "KAFKEY_GRAPHQL_MAX_TOKENS",
  "SMTP_URL",
  "MAIL_FROM",
  "KAFKEY_APP_URL",
  "KAFKEY_REQUIRE_VERIFIED_EMAIL",
  "KAFKEY_ORGANIZATION_CREATION",
  "KAFKEY_WORKERS",
  "KAFKEY_WS_MAX_PAYLOAD_BYTES",
  "KAFKEY_WS_KEEPALIVE_MS",
  "KAFKEY_WS_MAX_SUBSCRIPTIONS",
  "KAFKEY_WS_MAX_CONNECTIONS_PER_USER",
  "KAFKEY_WS_MAX_CONNECTIONS_PER_IP",
  "KAFKEY_ENCRYPTION_KEY",
  "KAFKEY_TOTP_ISSUER",
  "KAFKEY_QUERY_BUDGET_POINTS",
  "KAFKEY_QUERY_BUDGET_WINDOW_SECONDS",
  "KAFKEY_METRICS_ENABLED",
  "KAFKEY_METRICS_PATH",
  "MONGODB_URL",
  "MONGODB_POOL_SIZE",
  "MONGODB_CONNECT_TIMEOUT_MS",
  "MONGODB_SERVER_SELECTION_TIMEOUT_MS",
  "KAFKEY_AUDIT_DISPATCH_INTERVAL_MS",
  "KAFKEY_AUDIT_BATCH_SIZE",
  "KAFKEY_AUDIT_RETRY_MAX_MS",
  "SENTRY_DSN",
  "SENTRY_ENVIRONMENT",
  "OTEL_EXPORTER_OTLP_ENDPOINT",
  "OTEL_SERVICE_NAME",
  "KAFKEY_PUBLIC_URL",
  "KAFKEY_OAUTH_REDIRECT_ALLOWLIST",
  "OAUTH_GOOGLE_CLIENT_ID",
  "OAUTH_GOOGLE_CLIENT_SECRET",
  "OAUTH_GOOGLE_SCOPES",
  "OAUTH_GOOGLE_AUTHORIZE_URL",
  "OAUTH_GOOGLE_TOKEN_URL",
  "OAUTH_GOOGLE_JWKS_URL",
  "OAUTH_GOOGLE_ISSUER",
  "OAUTH_GITHUB_CLIENT_ID",
  "OAUTH_GITHUB_CLIENT_SECRET",
  "OAUTH_GITHUB_SCOPES",
  "OAUTH_GITHUB_AUTHORIZE_URL",
  "OAUTH_GITHUB_TOKEN_URL",
  "OAUTH_GITHUB_API_URL",
] as const;
type Variable = (typeof CONFIG_VARIABLES)[number];

type Env = Record<string, string | undefined>;

function read(env: Env, name: Variable): string | undefined {
  const value = env[name]?.trim();
  return value === "" ? undefined : value;
}

function int(env: Env, name: Variable, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const raw = read(env, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be a whole number from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

function bool(env: Env, name: Variable, fallback: boolean): boolean {
  const raw = read(env, name)?.toLowerCase();
  if (raw === undefined) return fallback;
  if (["1", "true", "yes", "on"].includes(raw)) return true;
  if (["0", "false", "no", "off"].includes(raw)) return false;
  throw new ConfigError(`${name} must be true or false, got "${raw}"`);
}

function oneOf<T extends string>(env: Env, name: Variable, allowed: readonly T[], fallback: T): T {
  const raw = read(env, name);
  if (raw === undefined) return fallback;
  if (!allowed.includes(raw as T)) {
    throw new ConfigError(`${name} must be one of ${allowed.join(", ")}, got "${raw}"`);
  }
  return raw as T;
}

const LOG_LEVELS = ["error", "warn", "info", "debug", "silent"] as const;

function httpUrl(env: Env, name: Variable, fallback?: string): string | undefined {
  const value = read(env, name) ?? fallback;
  if (value !== undefined && !/^https?:\/\/[^\s]+$/.test(value)) {
    throw new ConfigError(`${name} must be an http:// or https:// URL, got "${value}"`);
  }
  return value?.replace(/\/+$/, "");
}

/** `host:port,host:port`, as REDIS_SENTINELS and REDIS_CLUSTER_NODES name Redis servers. */
function hostPorts(env: Env, name: Variable): HostPort[] | undefined {
  const text = read(env, name);
  if (text === undefined) return undefined;
  return text.split(",").map((entry) => {
    const match = /^\s*([^\s:]+|\[[0-9a-fA-F:]+\]):(\d{1,5})\s*$/.exec(entry);
    const port = Number(match?.[2]);
    if (!match || port < 1 || port > 65_535) throw new ConfigError(`${name} must be host:port pairs, comma-separated`);
    return { host: match[1]!.replace(/^\[|\]$/g, ""), port };
  });
}

/** One of REDIS_URL, REDIS_SENTINELS (with REDIS_SENTINEL_MASTER) and REDIS_CLUSTER_NODES, or none. */
function redisTopology(env: Env): RedisTopology | undefined {
  const url = read(env, "REDIS_URL");
  const sentinels = hostPorts(env, "REDIS_SENTINELS");
  const nodes = hostPorts(env, "REDIS_CLUSTER_NODES");
  const password = read(env, "REDIS_PASSWORD");
  const master = read(env, "REDIS_SENTINEL_MASTER");
  const sentinelPassword = read(env, "REDIS_SENTINEL_PASSWORD");
  if ([url, sentinels, nodes].filter((set) => set !== undefined).length > 1) {
    throw new ConfigError("Set one of REDIS_URL, REDIS_SENTINELS and REDIS_CLUSTER_NODES");
  }
  // A misspelt topology must not quietly leave a deployment on the in-process store.
  if (!sentinels && (master !== undefined || sentinelPassword !== undefined)) {
    throw new ConfigError("REDIS_SENTINEL_MASTER and REDIS_SENTINEL_PASSWORD go with REDIS_SENTINELS");
  }
  if (!sentinels && !nodes && password !== undefined) {
    throw new ConfigError("REDIS_PASSWORD goes with REDIS_SENTINELS or REDIS_CLUSTER_NODES; put it in REDIS_URL");
  }
  if (url !== undefined) {
    if (!/^rediss?:\/\//.test(url)) throw new ConfigError("REDIS_URL must be a redis:// or rediss:// URL");
    return { kind: "node", url };
  }
  if (sentinels) return { kind: "sentinel", sentinels, master: master ?? "mymaster", password, sentinelPassword };
  if (nodes) return { kind: "cluster", nodes, password };
  return undefined;
}

function list(env: Env, name: Variable, fallback: string[]): string[] {
  const raw = read(env, name);
  return raw === undefined ? fallback : raw.split(/[\s,]+/).filter(Boolean);
}

/** A provider's client id and secret, both or neither. */
function clientOf(
  env: Env,
  id: Variable,
  secret: Variable,
): { clientId: string | undefined; clientSecret: string | undefined } {
  const clientId = read(env, id);
  const clientSecret = read(env, secret);
  if ((clientId === undefined) !== (clientSecret === undefined)) {
    throw new ConfigError(`${id} and ${secret} must be set together`);
  }
  return { clientId, clientSecret };
}

/** Parses and validates the environment; throws a ConfigError naming the offending variable. */
export function loadConfig(env: Env): Config {
  const nodeEnv = oneOf(env, "NODE_ENV", ["development", "production", "test"], "development");
  const jwtSecret = read(env, "KAFKEY_JWT_SECRET");
  if (jwtSecret !== undefined && Buffer.byteLength(jwtSecret) < 32) {
    throw new ConfigError("KAFKEY_JWT_SECRET must be at least 32 bytes long");
  }
  if (nodeEnv === "production" && jwtSecret === undefined) {
    throw new ConfigError("KAFKEY_JWT_SECRET is required when NODE_ENV=production");
  }
  const adminEmail = read(env, "KAFKEY_ADMIN_EMAIL");
  const adminPassword = read(env, "KAFKEY_ADMIN_PASSWORD");
  if ((adminEmail === undefined) !== (adminPassword === undefined)) {
    throw new ConfigError("KAFKEY_ADMIN_EMAIL and KAFKEY_ADMIN_PASSWORD must be set together");
  }
  const redis = redisTopology(env);
  const encryptionKey = read(env, "KAFKEY_ENCRYPTION_KEY");
  if (encryptionKey !== undefined && Buffer.from(encryptionKey, "base64url").length !== 32) {
    throw new ConfigError("KAFKEY_ENCRYPTION_KEY must be 32 bytes, base64 encoded (openssl rand -base64 32)");
  }
  if (nodeEnv === "production" && encryptionKey === undefined) {
    throw new ConfigError("KAFKEY_ENCRYPTION_KEY is required when NODE_ENV=production");
  }
  const smtpUrl = read(env, "SMTP_URL");
  if (smtpUrl !== undefined && !/^smtps?:\/\//.test(smtpUrl)) {
    throw new ConfigError("SMTP_URL must be an smtp:// or smtps:// URL");
  }
  const mongoUrl = read(env, "MONGODB_URL");
  if (mongoUrl !== undefined && !/^mongodb(\+srv)?:\/\//.test(mongoUrl)) {
    throw new ConfigError("MONGODB_URL must be a mongodb:// or mongodb+srv:// URL");
  }
  const otlpEndpoint = read(env, "OTEL_EXPORTER_OTLP_ENDPOINT");
  if (otlpEndpoint !== undefined && !/^https?:\/\//.test(otlpEndpoint)) {
    throw new ConfigError("OTEL_EXPORTER_OTLP_ENDPOINT must be an http:// or https:// URL");
  }
  const sentryDsn = read(env, "SENTRY_DSN");
  if (sentryDsn !== undefined && !/^https?:\/\/[^@/]+@[^/]+\/.+/.test(sentryDsn)) {
    throw new ConfigError("SENTRY_DSN must look like https://<key>@<host>/<project>");
  }
  const databaseUrl = read(env, "DATABASE_URL");
  const workers = int(env, "KAFKEY_WORKERS", 1, 1, 256);
  // Workers share nothing in memory: the database and the store must be the shared ones.
  if (workers > 1 && (!databaseUrl || !redis)) {
    throw new ConfigError(
      "KAFKEY_WORKERS above 1 needs DATABASE_URL and Redis (REDIS_URL, REDIS_SENTINELS or REDIS_CLUSTER_NODES)",
    );
  }
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError("DATABASE_URL must be a postgresql:// URL");
  }

  const oauth = {
    publicUrl: httpUrl(env, "KAFKEY_PUBLIC_URL"),
    redirectAllowlist: list(env, "KAFKEY_OAUTH_REDIRECT_ALLOWLIST", []).map((uri) => {
      if (!/^https?:\/\/[^\s]+$/.test(uri)) {
        throw new ConfigError(`KAFKEY_OAUTH_REDIRECT_ALLOWLIST holds "${uri}", which is not an http(s) URL`);
      }
      return uri;
    }),
    google: {
      ...clientOf(env, "OAUTH_GOOGLE_CLIENT_ID", "OAUTH_GOOGLE_CLIENT_SECRET"),
      scopes: list(env, "OAUTH_GOOGLE_SCOPES", ["openid", "email", "profile"]),
      authorizeUrl: httpUrl(env, "OAUTH_GOOGLE_AUTHORIZE_URL", "https://accounts.google.com/o/oauth2/v2/auth")!,
      tokenUrl: httpUrl(env, "OAUTH_GOOGLE_TOKEN_URL", "https://oauth2.googleapis.com/token")!,
      jwksUrl: httpUrl(env, "OAUTH_GOOGLE_JWKS_URL", "https://www.googleapis.com/oauth2/v3/certs")!,
      issuer: read(env, "OAUTH_GOOGLE_ISSUER") ?? "https://accounts.google.com",
    },
    github: {
      ...clientOf(env, "OAUTH_GITHUB_CLIENT_ID", "OAUTH_GITHUB_CLIENT_SECRET"),
      scopes: list(env, "OAUTH_GITHUB_SCOPES", ["read:user", "user:email"]),
      authorizeUrl: httpUrl(env, "OAUTH_GITHUB_AUTHORIZE_URL", "https://github.com/login/oauth/authorize")!,
      tokenUrl: httpUrl(env, "OAUTH_GITHUB_TOKEN_URL", "https://github.com/login/oauth/access_token")!,
      apiUrl: httpUrl(env, "OAUTH_GITHUB_API_URL", "https://api.github.com")!,
    },
  };
  // Behind a proxy the request's own address is not what providers call back: production says it.
  if (nodeEnv === "production" && !oauth.publicUrl && (oauth.google.clientId || oauth.github.clientId)) {
    throw new ConfigError("KAFKEY_PUBLIC_URL is required when NODE_ENV=production and a sign-in provider is set");
  }

  return {
    env: nodeEnv,
    host: read(env, "HOST") ?? "127.0.0.1",
    port: int(env, "PORT", 4000, 0, 65535),
    trustProxy: bool(env, "KAFKEY_TRUST_PROXY", false),
    workers,
    bodyLimitBytes: int(env, "KAFKEY_BODY_LIMIT_BYTES", 102_400, 1024),
    requestTimeoutMs: int(env, "KAFKEY_REQUEST_TIMEOUT_MS", 10_000, 100, 600_000),
    websocket: {
      maxPayloadBytes: int(env, "KAFKEY_WS_MAX_PAYLOAD_BYTES", 65_536, 1024),
      keepAliveMs: int(env, "KAFKEY_WS_KEEPALIVE_MS", 12_000, 1000),
      maxSubscriptionsPerConnection: int(env, "KAFKEY_WS_MAX_SUBSCRIPTIONS", 20, 1),
      maxConnectionsPerUser: int(env, "KAFKEY_WS_MAX_CONNECTIONS_PER_USER", 10, 1),
      maxConnectionsPerIp: int(env, "KAFKEY_WS_MAX_CONNECTIONS_PER_IP", 100, 1),
    },
    logLevel: oneOf(env, "LOG_LEVEL", LOG_LEVELS, "info"),
    dataDir: path.resolve(read(env, "KAFKEY_DATA_DIR") ?? ".data"),
    migrateOnStart: bool(env, "KAFKEY_MIGRATE_ON_START", true),
    database: {
      url: databaseUrl,
      poolSize: int(env, "DATABASE_POOL_SIZE", 10, 1, 1000),
      idleTimeoutMs: int(env, "DATABASE_IDLE_TIMEOUT_MS", 10_000),
      statementTimeoutMs: int(env, "DATABASE_STATEMENT_TIMEOUT_MS", 15_000),
      connectTimeoutMs: int(env, "DATABASE_CONNECT_TIMEOUT_MS", 5_000),
    },
    jwt: {
      secret: jwtSecret,
      issuer: read(env, "KAFKEY_JWT_ISSUER") ?? "kafkey",
      audience: read(env, "KAFKEY_JWT_AUDIENCE") ?? "kafkey",
      accessTokenTtlSeconds: int(env, "KAFKEY_ACCESS_TOKEN_TTL_SECONDS", 900, 10, 86_400),
    },
    refreshTokenTtlSeconds: int(env, "KAFKEY_REFRESH_TOKEN_TTL_SECONDS", 2_592_000, 60),
    admin: { email: adminEmail?.toLowerCase(), password: adminPassword },
    argon2: {
      memoryKib: int(env, "KAFKEY_ARGON2_MEMORY_KIB", 19_456, 8, 4_194_304),
      timeCost: int(env, "KAFKEY_ARGON2_TIME_COST", 2, 1, 100),
      parallelism: int(env, "KAFKEY_ARGON2_PARALLELISM", 1, 1, 64),
    },
    permissionCache: {
      ttlMs: int(env, "KAFKEY_PERMISSION_CACHE_TTL_MS", 30_000),
      maxEntries: int(env, "KAFKEY_PERMISSION_CACHE_SIZE", 10_000, 1),
    },
    redis: {
      topology: redis,
      prefix: read(env, "KAFKEY_REDIS_PREFIX") ?? "kafkey:",
      commandTimeoutMs: int(env, "REDIS_COMMAND_TIMEOUT_MS", 500, 10, 60_000),
    },
    refreshReuseGraceSeconds: int(env, "KAFKEY_REFRESH_REUSE_GRACE_SECONDS", 0, 0, 300),
    lockout: {
      threshold: int(env, "KAFKEY_LOCKOUT_THRESHOLD", 5, 1),
      seconds: int(env, "KAFKEY_LOCKOUT_SECONDS", 900, 1),
      ipThreshold: int(env, "KAFKEY_LOCKOUT_IP_THRESHOLD", 50, 1),
    },
    authRateLimit: {
      max: int(env, "KAFKEY_AUTH_RATE_LIMIT_MAX", 10, 1),
      windowSeconds: int(env, "KAFKEY_AUTH_RATE_LIMIT_WINDOW_SECONDS", 60, 1),
    },
    httpRateLimit: {
      max: int(env, "KAFKEY_HTTP_RATE_LIMIT_MAX", 1000, 1),
      windowSeconds: int(env, "KAFKEY_HTTP_RATE_LIMIT_WINDOW_SECONDS", 60, 1),
    },
    mail: { smtpUrl, from: read(env, "MAIL_FROM") ?? "Kafkey <no-reply@kafkey.local>" },
    appUrl: (read(env, "KAFKEY_APP_URL") ?? "http://localhost:3000").replace(/\/+$/, ""),
    requireVerifiedEmail: bool(env, "KAFKEY_REQUIRE_VERIFIED_EMAIL", false),
    organizationCreation: oneOf(
      env,
      "KAFKEY_ORGANIZATION_CREATION",
      ["verified-users", "users", "admins"] as const,
      "verified-users",
    ),
    encryptionKey,
    totpIssuer: read(env, "KAFKEY_TOTP_ISSUER") ?? "Kafkey",
    metrics: {
      enabled: bool(env, "KAFKEY_METRICS_ENABLED", true),
      path: read(env, "KAFKEY_METRICS_PATH") ?? "/metrics",
    },
    queryBudget: {
      points: int(env, "KAFKEY_QUERY_BUDGET_POINTS", 100_000, 1),
      windowSeconds: int(env, "KAFKEY_QUERY_BUDGET_WINDOW_SECONDS", 60, 1),
    },
    audit: {
      mongoUrl,
      mongoPoolSize: int(env, "MONGODB_POOL_SIZE", 10, 1, 1000),
      mongoConnectTimeoutMs: int(env, "MONGODB_CONNECT_TIMEOUT_MS", 5_000, 100),
      mongoServerSelectionTimeoutMs: int(env, "MONGODB_SERVER_SELECTION_TIMEOUT_MS", 5_000, 100),
      dispatchIntervalMs: int(env, "KAFKEY_AUDIT_DISPATCH_INTERVAL_MS", 1_000, 10, 3_600_000),
      batchSize: int(env, "KAFKEY_AUDIT_BATCH_SIZE", 100, 1, 1000),
      retryMaxMs: int(env, "KAFKEY_AUDIT_RETRY_MAX_MS", 60_000, 10),
    },
    oauth,
    tracing: { endpoint: otlpEndpoint, serviceName: read(env, "OTEL_SERVICE_NAME") ?? "kafkey" },
    sentry: { dsn: sentryDsn, environment: read(env, "SENTRY_ENVIRONMENT") ?? nodeEnv },
    graphqlLimits: {
      maxDepth: int(env, "KAFKEY_GRAPHQL_MAX_DEPTH", 8, 2),
      maxCost: int(env, "KAFKEY_GRAPHQL_MAX_COST", 5000, 10),
      maxAliases: int(env, "KAFKEY_GRAPHQL_MAX_ALIASES", 15, 1),
      maxDirectives: int(env, "KAFKEY_GRAPHQL_MAX_DIRECTIVES", 20, 1),
      maxTokens: int(env, "KAFKEY_GRAPHQL_MAX_TOKENS", 2000, 100),
    },
  };
}
