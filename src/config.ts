// Every environment variable Kafkey reads, as one schema: each entry names its variable, its default,
// its parser (a zod schema from the variable's text to its value) and its description, in the place of
// the `Config` object it fills. `Config`, `loadConfig`, README.md's configuration tables and
// .env.example all come from it (`npm run docs:print` writes the last two, scripts/docs.ts; `npm run
// docs:check` fails when they are stale). Nothing else in the code reads `process.env`.
import path from "node:path";
import { z } from "zod";
import type { HostPort, RedisTopology } from "./platform/kv/redis.js";

export class ConfigError extends Error {
  override name = "ConfigError";
}

// ---- the parts of the schema ---------------------------------------------------------------------

/** The headings the variables are documented under, in the order README.md and .env.example use. */
export const CONFIG_GROUPS = {
  required: {
    title: "Required in production",
    note: "Required when `NODE_ENV=production`; in development, each one left unset is generated into the data dir. .env.example sets both to the placeholder CHANGE-ME, which Kafkey refuses: replace them.",
  },
  server: { title: "Server" },
  database: { title: "PostgreSQL" },
  redis: {
    title: "Redis",
    note: "State shared by instances (revoked tokens, rate limits, lockouts, permission versions). Set one of `REDIS_URL`, `REDIS_SENTINELS` and `REDIS_CLUSTER_NODES`; none: an in-process store, fine for one instance.",
  },
  tokens: { title: "Tokens" },
  admin: {
    title: "First admin",
    note: "Set both to choose the first admin. Without them, when there is no admin, the first start creates admin@kafkey.local with a generated password and prints it once on the console (under Docker: `docker compose logs api`).",
  },
  passwords: { title: "Passwords (argon2id)" },
  permissionCache: { title: "Permission cache" },
  lockout: { title: "Account lockout and rate limits" },
  graphql: { title: "Limits on one GraphQL request" },
  mail: { title: "Mail (email verification, password reset)" },
  accounts: { title: "Sign-up and organizations" },
  websocket: {
    title: "Subscriptions over WebSocket",
    note: "GraphQL subscriptions on `/graphql` (graphql-ws protocol). Connection limits are per instance.",
  },
  mfa: { title: "Two-factor authentication" },
  emailSignIn: {
    title: "Email sign-in codes",
    note: "`requestSignInCode` mails a 6-digit code and a link (10 minutes, single use, at most 3 mails per address per 15 minutes); `signInWithCode` and `signInWithLink` sign in with them. Off unless `KAFKEY_EMAIL_SIGN_IN=true` (then they answer FORBIDDEN, reason `EMAIL_SIGN_IN_OFF`).",
  },
  webauthn: {
    title: "Passkeys (WebAuthn)",
    note: "Passkeys are on when `KAFKEY_WEBAUTHN_RP_ID` is set. They work on Kafkey's own origin (`KAFKEY_PUBLIC_URL`) and on every origin of `KAFKEY_CORS_ORIGINS`: each must be the RP id or a subdomain of it, over https (or http on `localhost`).",
  },
  metrics: { title: "Metrics" },
  audit: {
    title: "Audit trail",
    note: "Events pass through an outbox in the database whichever sink keeps them, so none is lost while the sink is down.",
  },
  errors: { title: "Error tracking" },
  tracing: { title: "Tracing" },
  gateway: {
    title: "Forward auth (`/auth/verify`)",
    note: "For apps behind a reverse proxy that asks Kafkey about each request (nginx `auth_request`, Traefik `forwardAuth`, Caddy `forward_auth`, Envoy): docs/gateway.md.",
  },
  oauth: {
    title: "Social sign-in (Google, GitHub)",
    note: "A provider is on when its client id and secret are set; its endpoints default to the real provider's.",
  },
} as const satisfies Record<string, { title: string; note?: string }>;

export type ConfigGroup = keyof typeof CONFIG_GROUPS;

/** A default taken from another variable's value (read earlier in the schema). */
interface SameAs {
  sameAs: string;
}

/** What one variable entry says about its variable besides its name. */
interface VariableSpec<T> {
  group: ConfigGroup;
  /** What it does (Markdown): README.md's table and .env.example's comment. */
  description: string;
  /** A longer note for .env.example only (how to make a value, Docker's own settings); kept line by line. */
  note?: string;
  /** The text used when the variable is unset or empty; it goes through `parse` like a value that is set. */
  default?: string | SameAs;
  /** README.md's "Default" cell for a variable with no default: what leaving it unset means. @default "unset" */
  unset?: string;
  /** The value .env.example shows on the variable's commented line, where the default is no help. */
  example?: string;
  /** A placeholder that .env.example sets (uncommented) and Kafkey refuses: the operator must replace it. */
  placeholder?: string;
  /** From the variable's text, trimmed and not empty, to its value; its issues' messages follow the name. */
  parse: z.ZodType<T, string>;
}

/** One environment variable: its entry of the schema. */
export interface Variable<N extends string = string, T = unknown> extends VariableSpec<unknown> {
  kind: "variable";
  name: N;
  /** Phantom: the type of the variable's value in `Config` (`undefined` when it has no default and is unset). */
  value?: T;
}

/** One `Config` field made from several variables, which the field replaces. */
interface Derived<P extends Record<string, Variable>, T> {
  kind: "derived";
  parts: P;
  build(values: ValuesOf<P>, given: { [K in keyof P]: boolean }): T;
}

interface Shape {
  [key: string]: Variable | Derived<Record<string, Variable>, unknown> | Shape;
}

/** The value a part of the schema parses to. */
type ValuesOf<S> =
  S extends Variable<string, infer T>
    ? T
    : S extends Derived<Record<string, Variable>, infer T>
      ? T
      : { -readonly [K in keyof S]: ValuesOf<S[K]> };

function variable<const N extends string, T>(
  name: N,
  spec: VariableSpec<T> & { default: string | SameAs },
): Variable<N, T>;
function variable<const N extends string, T>(name: N, spec: VariableSpec<T>): Variable<N, T | undefined>;
function variable(name: string, spec: VariableSpec<unknown>): Variable {
  return { kind: "variable", name, ...spec };
}

function derived<const P extends Record<string, Variable>, T>(
  parts: P,
  build: (values: ValuesOf<P>, given: { [K in keyof P]: boolean }) => T,
): Derived<P, T> {
  return { kind: "derived", parts, build };
}

const sameAs = (name: string): SameAs => ({ sameAs: name });

// ---- parsers -------------------------------------------------------------------------------------

const text = () => z.string();

function wholeNumber(min = 0, max = Number.MAX_SAFE_INTEGER) {
  return z
    .string()
    .refine(
      (raw) => {
        const value = Number(raw);
        return Number.isInteger(value) && value >= min && value <= max;
      },
      { error: (issue) => `must be a whole number from ${min} to ${max}, got "${String(issue.input)}"` },
    )
    .transform(Number);
}

const flag = () =>
  z.stringbool({
    truthy: ["1", "true", "yes", "on"],
    falsy: ["0", "false", "no", "off"],
    error: (issue) => `must be true or false, got "${String(issue.input)}"`,
  });

function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return z.enum(values, { error: (issue) => `must be one of ${values.join(", ")}, got "${String(issue.input)}"` });
}

/** A URL whose scheme the pattern checks, kept as written. */
const urlOf = (pattern: RegExp, message: string) => z.string().regex(pattern, message);

/** An http(s) URL without its trailing slashes. */
const httpUrl = () =>
  z
    .string()
    .regex(/^https?:\/\/[^\s]+$/, {
      error: (issue) => `must be an http:// or https:// URL, got "${String(issue.input)}"`,
    })
    .transform((url) => url.replace(/\/+$/, ""));

/** `scheme://host[:port]` of an http(s) URL that is nothing more than an origin, else undefined. */
function originOf(entry: string): string | undefined {
  let url: URL;
  try {
    url = new URL(entry);
  } catch {
    return undefined;
  }
  // `new URL` reads "https://a.example?" and "https://a.example#" as bare too: the text must not have them.
  const bare = url.pathname === "/" && !url.username && !url.password && !/[?#]/.test(entry);
  if (!["http:", "https:"].includes(url.protocol) || !bare) return undefined;
  return url.origin;
}

/** The origin of any http(s) URL (its path dropped), else undefined. */
function originOfUrl(uri: string): string | undefined {
  return URL.canParse(uri) ? originOf(new URL(uri).origin) : undefined;
}

/**
 * Browser origins, comma separated, each normalised to `scheme://host[:port]` (lower case, the
 * scheme's default port dropped) so that it compares exactly with a request's `Origin` header.
 */
const origins = () =>
  list().transform((entries, ctx): string[] => {
    const normalised: string[] = [];
    for (const entry of entries) {
      // A wildcard would let every site call with the user's credentials: browsers refuse `*` with
      // credentials, and a reflected `*` would be worse.
      if (entry === "*") {
        ctx.addIssue('must list origins: "*" is refused, since credentials are allowed');
        return z.NEVER;
      }
      const origin = originOf(entry);
      if (origin === undefined) {
        ctx.addIssue(`holds "${entry}", which is not an http(s) origin (scheme://host[:port], no path)`);
        return z.NEVER;
      }
      normalised.push(origin);
    }
    return [...new Set(normalised)];
  });

/** Words separated by commas or spaces. */
const list = () => z.string().transform((raw) => raw.split(/[\s,]+/).filter(Boolean));

/** `host:port,host:port`, as REDIS_SENTINELS and REDIS_CLUSTER_NODES name Redis servers. */
const hostPorts = () =>
  z.string().transform((raw, ctx): HostPort[] => {
    const servers: HostPort[] = [];
    for (const entry of raw.split(",")) {
      const match = /^\s*([^\s:]+|\[[0-9a-fA-F:]+\]):(\d{1,5})\s*$/.exec(entry);
      const port = Number(match?.[2]);
      if (!match || port < 1 || port > 65_535) {
        ctx.addIssue("must be host:port pairs, comma-separated");
        return z.NEVER;
      }
      servers.push({ host: match[1]!.replace(/^\[|\]$/g, ""), port });
    }
    return servers;
  });

/** One of REDIS_URL, REDIS_SENTINELS (with REDIS_SENTINEL_MASTER) and REDIS_CLUSTER_NODES, or none. */
function redisTopology(
  redis: {
    url: string | undefined;
    sentinels: HostPort[] | undefined;
    master: string;
    nodes: HostPort[] | undefined;
    password: string | undefined;
    sentinelPassword: string | undefined;
  },
  given: { master: boolean },
): RedisTopology | undefined {
  const { url, sentinels, master, nodes, password, sentinelPassword } = redis;
  if ([url, sentinels, nodes].filter((set) => set !== undefined).length > 1) {
    throw new ConfigError("Set one of REDIS_URL, REDIS_SENTINELS and REDIS_CLUSTER_NODES");
  }
  // A misspelt topology must not quietly leave a deployment on the in-process store.
  if (!sentinels && (given.master || sentinelPassword !== undefined)) {
    throw new ConfigError("REDIS_SENTINEL_MASTER and REDIS_SENTINEL_PASSWORD go with REDIS_SENTINELS");
  }
  if (!sentinels && !nodes && password !== undefined) {
    throw new ConfigError("REDIS_PASSWORD goes with REDIS_SENTINELS or REDIS_CLUSTER_NODES; put it in REDIS_URL");
  }
  if (url !== undefined) return { kind: "node", url };
  if (sentinels) return { kind: "sentinel", sentinels, master, password, sentinelPassword };
  if (nodes) return { kind: "cluster", nodes, password };
  return undefined;
}

/** One entry of `KAFKEY_VERIFY_ROUTES`: what a forwarded request to a matching path must hold. */
export interface VerifyRoute {
  /** The methods it applies to, upper case; empty: every method. */
  methods: readonly string[];
  /**
   * The path, lower case and without trailing slashes (`/` alone stays; `/*` is ""): matching errs on
   * the side of requiring (docs/gateway.md).
   */
  path: string;
  /** Whether it was written `/path/*`: the path itself and everything under it. */
  prefix: boolean;
  /** Every one of them is required. */
  permissions: readonly string[];
}

/** A permission a forwarded request may be asked to hold: a concrete key, no wildcard. */
export const REQUIRED_PERMISSION = /^[a-z][a-z0-9_-]*(\.[a-z][a-z0-9_-]*)*$/;

const ROUTE_ENTRY = /^(?:([A-Za-z]+(?:\|[A-Za-z]+)*)\s+)?(\/[^\s=]*)\s*=\s*([^=]+)$/;

/** `[METHOD[|METHOD…] ]/path[/*]=permission[,permission…]` entries, separated by `;` or new lines. */
const verifyRoutes = () =>
  z.string().transform((raw, ctx): VerifyRoute[] => {
    const routes: VerifyRoute[] = [];
    for (const entry of raw.split(/[;\n]/).map((part) => part.trim())) {
      if (!entry) continue;
      const match = ROUTE_ENTRY.exec(entry);
      const permissions = match?.[3]!.split(",").map((key) => key.trim()) ?? [];
      if (!match || permissions.some((key) => !REQUIRED_PERMISSION.test(key))) {
        ctx.addIssue(`holds "${entry}", which is not [METHOD[|METHOD] ]/path[/*]=permission[,permission]`);
        return z.NEVER;
      }
      const prefix = match[2]!.endsWith("/*");
      // Without its trailing slashes, as forwarded paths are compared: `/*` is then "", under which every path lies.
      const path = (prefix ? match[2]!.slice(0, -2) : match[2]!).toLowerCase().replace(/\/+$/, "");
      routes.push({
        methods: match[1] ? match[1].toUpperCase().split("|") : [],
        path: prefix || path ? path : "/",
        prefix,
        permissions,
      });
    }
    return routes;
  });

/** The identity headers `/auth/verify` may add to the three it always sends. */
export const VERIFY_HEADERS = ["email", "roles"] as const;
export type VerifyHeader = (typeof VERIFY_HEADERS)[number];

// ---- the schema ----------------------------------------------------------------------------------

/** Every variable, where its value goes in `Config`. */
const SCHEMA = {
  env: variable("NODE_ENV", {
    group: "server",
    default: "development",
    description:
      "`development`, `production` or `test`. Production turns Sandbox and introspection off and requires `KAFKEY_ENCRYPTION_KEY`.",
    note: "The Docker image sets production.",
    parse: oneOf(["development", "production", "test"]),
  }),
  host: variable("HOST", {
    group: "server",
    default: "127.0.0.1",
    description: "Address to listen on (`0.0.0.0` in a container).",
    note: "The Docker image sets 0.0.0.0.",
    parse: text(),
  }),
  port: variable("PORT", {
    group: "server",
    default: "4000",
    description: "Port to listen on.",
    parse: wholeNumber(0, 65_535),
  }),
  trustProxy: variable("KAFKEY_TRUST_PROXY", {
    group: "server",
    default: "false",
    description: "Trust `X-Forwarded-For` (behind a load balancer).",
    note: "Set it to true behind a load balancer or reverse proxy, or every client shares the proxy's address (and its rate limits and IP lockouts).",
    parse: flag(),
  }),
  corsOrigins: variable("KAFKEY_CORS_ORIGINS", {
    group: "server",
    default: "",
    example: "https://app.example.com,http://localhost:3000",
    description:
      "Browser origins (`scheme://host[:port]`, comma separated, compared exactly) allowed to call Kafkey with credentials, over HTTP (CORS) and WebSocket. Empty: same-origin only. `*` is refused.",
    parse: origins(),
  }),
  workers: variable("KAFKEY_WORKERS", {
    group: "server",
    default: "1",
    description:
      "Processes serving the port (cluster mode); set it to the number of cores to use the whole machine. `/health/ready` answers 503 until every one listens. Above 1 needs `DATABASE_URL` and Redis.",
    parse: wholeNumber(1, 256),
  }),
  bodyLimitBytes: variable("KAFKEY_BODY_LIMIT_BYTES", {
    group: "server",
    default: "102400",
    description: "Largest request body; larger ones get 413.",
    parse: wholeNumber(1024),
  }),
  requestTimeoutMs: variable("KAFKEY_REQUEST_TIMEOUT_MS", {
    group: "server",
    default: "10000",
    description:
      "How long a request may take. Past it, or once its client has gone, it sends no more database statements and answers `SERVICE_UNAVAILABLE`: work nobody waits for stops rather than commits unseen.",
    parse: wholeNumber(100, 600_000),
  }),
  verify: {
    routes: variable("KAFKEY_VERIFY_ROUTES", {
      group: "gateway",
      default: "",
      example: "/admin/*=users.read; POST|DELETE /reports/*=reports.write",
      description:
        "Permissions `/auth/verify` requires by the forwarded request's path (and method): `[METHOD[|METHOD] ]/path[/*]=permission[,permission]`, entries separated by `;`. Every matching entry's permissions are required, with those of `?permission=`; a missing one answers 403.",
      parse: verifyRoutes(),
    }),
    headers: variable("KAFKEY_VERIFY_HEADERS", {
      group: "gateway",
      default: "",
      example: "email,roles",
      description:
        "Identity headers `/auth/verify` adds on 200 to `X-Kafkey-User-Id`, `X-Kafkey-Organization-Id` and `X-Kafkey-Permissions`: `email` (`X-Kafkey-Email`), `roles` (`X-Kafkey-Roles`, the platform roles).",
      parse: list().pipe(z.array(oneOf(VERIFY_HEADERS), { error: `must list some of ${VERIFY_HEADERS.join(", ")}` })),
    }),
  },
  websocket: {
    maxPayloadBytes: variable("KAFKEY_WS_MAX_PAYLOAD_BYTES", {
      group: "websocket",
      default: "65536",
      description: "Largest WebSocket message a client may send.",
      parse: wholeNumber(1024),
    }),
    keepAliveMs: variable("KAFKEY_WS_KEEPALIVE_MS", {
      group: "websocket",
      default: "12000",
      description: "How often the server pings each WebSocket; a client that does not answer is dropped.",
      parse: wholeNumber(1000),
    }),
    maxSubscriptionsPerConnection: variable("KAFKEY_WS_MAX_SUBSCRIPTIONS", {
      group: "websocket",
      default: "20",
      description: "Subscriptions per WebSocket connection (more answer `RATE_LIMITED`).",
      parse: wholeNumber(1),
    }),
    maxConnectionsPerUser: variable("KAFKEY_WS_MAX_CONNECTIONS_PER_USER", {
      group: "websocket",
      default: "10",
      description: "WebSocket connections per user, per instance (more are closed with 4429).",
      parse: wholeNumber(1),
    }),
    maxConnectionsPerIp: variable("KAFKEY_WS_MAX_CONNECTIONS_PER_IP", {
      group: "websocket",
      default: "100",
      description: "WebSocket connections per client IP, per instance (more get HTTP 429).",
      parse: wholeNumber(1),
    }),
  },
  logLevel: variable("LOG_LEVEL", {
    group: "server",
    default: "info",
    description: "`error`, `warn`, `info`, `debug` or `silent`. Logs are JSON lines on stdout.",
    parse: oneOf(["error", "warn", "info", "debug", "silent"]),
  }),
  dataDir: variable("KAFKEY_DATA_DIR", {
    group: "server",
    default: "./.data",
    description:
      "Embedded database, development secrets and the development mail outbox; read relative to the working directory.",
    note: "The Docker image sets /data.",
    parse: text().transform((dir) => path.resolve(dir)),
  }),
  migrateOnStart: variable("KAFKEY_MIGRATE_ON_START", {
    group: "database",
    default: "true",
    description: "Apply pending migrations at start-up.",
    parse: flag(),
  }),
  database: {
    url: variable("DATABASE_URL", {
      group: "database",
      example: "postgresql://kafkey:kafkey@postgres:5432/kafkey",
      description: "PostgreSQL URL; unset means embedded PGlite under the data dir.",
      note: "docker-compose.yml points it at its postgres service.",
      parse: urlOf(/^postgres(ql)?:\/\//, "must be a postgresql:// URL"),
    }),
    poolSize: variable("DATABASE_POOL_SIZE", {
      group: "database",
      default: "10",
      description: "Connections per process.",
      parse: wholeNumber(1, 1000),
    }),
    idleTimeoutMs: variable("DATABASE_IDLE_TIMEOUT_MS", {
      group: "database",
      default: "10000",
      description: "Idle connections are closed after this.",
      parse: wholeNumber(),
    }),
    statementTimeoutMs: variable("DATABASE_STATEMENT_TIMEOUT_MS", {
      group: "database",
      default: "15000",
      description: "PostgreSQL cancels statements running longer.",
      parse: wholeNumber(),
    }),
    connectTimeoutMs: variable("DATABASE_CONNECT_TIMEOUT_MS", {
      group: "database",
      default: "5000",
      description: "Give up connecting after this.",
      parse: wholeNumber(),
    }),
  },
  jwt: {
    issuer: variable("KAFKEY_JWT_ISSUER", {
      group: "tokens",
      default: "kafkey",
      description:
        "`iss` of access tokens when `KAFKEY_PUBLIC_URL` is unset; with it set, the issuer is that URL (as the discovery documents say).",
      parse: text(),
    }),
    audience: variable("KAFKEY_JWT_AUDIENCE", {
      group: "tokens",
      default: "kafkey",
      description: "`aud` of access tokens.",
      parse: text(),
    }),
    accessTokenTtlSeconds: variable("KAFKEY_ACCESS_TOKEN_TTL_SECONDS", {
      group: "tokens",
      default: "900",
      description: "Access token lifetime, in seconds (15 minutes).",
      parse: wholeNumber(10, 86_400),
    }),
  },
  signingKeys: {
    rotationDays: variable("KAFKEY_SIGNING_KEY_ROTATION_DAYS", {
      group: "tokens",
      default: "30",
      description:
        "Days a signing key of access tokens signs before the next one takes over (automatic rotation; `rotateSigningKey` rotates on demand).",
      parse: wholeNumber(1, 3650),
    }),
    publishLeadSeconds: variable("KAFKEY_SIGNING_KEY_PUBLISH_LEAD_SECONDS", {
      group: "tokens",
      default: "600",
      description:
        "How long a new signing key is published in the JWKS before it signs, so that verifiers' caches hold it first; the JWKS's `max-age` is half of it.",
      parse: wholeNumber(2, 86_400),
    }),
  },
  refreshTokenTtlSeconds: variable("KAFKEY_REFRESH_TOKEN_TTL_SECONDS", {
    group: "tokens",
    default: "2592000",
    description: "Refresh token lifetime, in seconds (30 days).",
    parse: wholeNumber(60),
  }),
  admin: {
    email: variable("KAFKEY_ADMIN_EMAIL", {
      group: "admin",
      example: "admin@example.com",
      description: "First admin, created at start-up if that email does not exist yet.",
      parse: text().transform((email) => email.toLowerCase()),
    }),
    password: variable("KAFKEY_ADMIN_PASSWORD", {
      group: "admin",
      example: "at-least-12-characters",
      description: "Its password (12 to 128 characters).",
      parse: text(),
    }),
  },
  argon2: {
    memoryKib: variable("KAFKEY_ARGON2_MEMORY_KIB", {
      group: "passwords",
      default: "19456",
      description: "argon2id memory cost, in KiB (OWASP's minimum: 19 MiB).",
      parse: wholeNumber(8, 4_194_304),
    }),
    timeCost: variable("KAFKEY_ARGON2_TIME_COST", {
      group: "passwords",
      default: "2",
      description: "argon2id iterations.",
      parse: wholeNumber(1, 100),
    }),
    parallelism: variable("KAFKEY_ARGON2_PARALLELISM", {
      group: "passwords",
      default: "1",
      description: "argon2id lanes.",
      parse: wholeNumber(1, 64),
    }),
  },
  permissionCache: {
    ttlMs: variable("KAFKEY_PERMISSION_CACHE_TTL_MS", {
      group: "permissionCache",
      default: "30000",
      description:
        "How long a user's permissions and own record are cached in memory, in ms (changes made through the API invalidate at once). `0` turns the cache off.",
      parse: wholeNumber(),
    }),
    maxEntries: variable("KAFKEY_PERMISSION_CACHE_SIZE", {
      group: "permissionCache",
      default: "10000",
      description: "Users kept in that cache.",
      parse: wholeNumber(1),
    }),
  },
  redis: {
    topology: derived(
      {
        url: variable("REDIS_URL", {
          group: "redis",
          example: "redis://redis:6379",
          description: "One Redis node, `redis://` or `rediss://` (its password goes in the URL).",
          note: "docker-compose.yml points it at its redis service.",
          parse: urlOf(/^rediss?:\/\//, "must be a redis:// or rediss:// URL"),
        }),
        sentinels: variable("REDIS_SENTINELS", {
          group: "redis",
          example: "sentinel-1:26379,sentinel-2:26379,sentinel-3:26379",
          description:
            "Instead of `REDIS_URL`: Sentinels as `host:port,host:port`; Kafkey asks them for the master and follows its failovers.",
          parse: hostPorts(),
        }),
        master: variable("REDIS_SENTINEL_MASTER", {
          group: "redis",
          default: "mymaster",
          description: "The master's name among the Sentinels (only with `REDIS_SENTINELS`).",
          parse: text(),
        }),
        nodes: variable("REDIS_CLUSTER_NODES", {
          group: "redis",
          example: "redis-1:6379,redis-2:6379,redis-3:6379",
          description: "Instead of `REDIS_URL`: some nodes of a Redis Cluster, `host:port,host:port`.",
          parse: hostPorts(),
        }),
        password: variable("REDIS_PASSWORD", {
          group: "redis",
          description:
            "The password of the Sentinel master or the Cluster nodes (with `REDIS_URL`, it goes in the URL).",
          parse: text(),
        }),
        sentinelPassword: variable("REDIS_SENTINEL_PASSWORD", {
          group: "redis",
          description: "The Sentinels' own password, when they require one.",
          parse: text(),
        }),
      },
      redisTopology,
    ),
    prefix: variable("KAFKEY_REDIS_PREFIX", {
      group: "redis",
      default: "kafkey:",
      description: "Prefix of every Redis key and channel.",
      parse: text(),
    }),
    commandTimeoutMs: variable("REDIS_COMMAND_TIMEOUT_MS", {
      group: "redis",
      default: "500",
      description:
        "Bound of one Redis call, and as long again for a connection being re-established (a failover). Past it the call fails: sign-in answers `SERVICE_UNAVAILABLE`, the rest degrades (see docs/operations.md).",
      parse: wholeNumber(10, 60_000),
    }),
  },
  refreshReuseGraceSeconds: variable("KAFKEY_REFRESH_REUSE_GRACE_SECONDS", {
    group: "tokens",
    default: "10",
    description:
      "How long after its exchange a refresh token may be presented again (two tabs, a client's retry) and get the same successor instead of counting as reuse, in seconds. 0: every second presentation is reuse and ends the session.",
    parse: wholeNumber(0, 300),
  }),
  apiKeys: {
    rateLimitMax: variable("KAFKEY_API_KEY_RATE_LIMIT_MAX", {
      group: "tokens",
      default: "600",
      description:
        "Requests one API key may make per window, counted over every instance; past it, RATE_LIMITED. Each GraphQL request counts once.",
      parse: wholeNumber(1),
    }),
    rateLimitWindowSeconds: variable("KAFKEY_API_KEY_RATE_LIMIT_WINDOW_SECONDS", {
      group: "tokens",
      default: "60",
      description: "That window, in seconds.",
      parse: wholeNumber(1),
    }),
    maxLifetimeDays: variable("KAFKEY_API_KEY_MAX_LIFETIME_DAYS", {
      group: "tokens",
      default: "365",
      description: "The furthest ahead an API key's `expiresAt` may be, in days: every key expires.",
      parse: wholeNumber(1, 3650),
    }),
  },
  lockout: {
    threshold: variable("KAFKEY_LOCKOUT_THRESHOLD", {
      group: "lockout",
      default: "5",
      description: "Failed logins of one account before it is locked.",
      parse: wholeNumber(1),
    }),
    seconds: variable("KAFKEY_LOCKOUT_SECONDS", {
      group: "lockout",
      default: "900",
      description:
        "First lock's length in seconds (and the window failures are counted in); doubles on each repeat within a day.",
      parse: wholeNumber(1),
    }),
    ipThreshold: variable("KAFKEY_LOCKOUT_IP_THRESHOLD", {
      group: "lockout",
      default: "50",
      description:
        "Failed logins from one IP, over any accounts, before that IP is locked out for `KAFKEY_LOCKOUT_SECONDS`.",
      parse: wholeNumber(1),
    }),
  },
  authRateLimit: {
    max: variable("KAFKEY_AUTH_RATE_LIMIT_MAX", {
      group: "lockout",
      default: "10",
      description:
        "Calls of `signUp`, `login`, `refreshToken`, `verifyEmail`, `resendVerificationEmail`, `requestPasswordReset`, `resetPassword`, `verifyMfa` per IP (and per account for `login` and `requestPasswordReset`) per window; each alias counts.",
      parse: wholeNumber(1),
    }),
    windowSeconds: variable("KAFKEY_AUTH_RATE_LIMIT_WINDOW_SECONDS", {
      group: "lockout",
      default: "60",
      description: "That window, in seconds.",
      parse: wholeNumber(1),
    }),
  },
  httpRateLimit: {
    max: variable("KAFKEY_HTTP_RATE_LIMIT_MAX", {
      group: "lockout",
      default: "1000",
      description: "Requests per IP per window over the whole HTTP API (health probes aside).",
      parse: wholeNumber(1),
    }),
    windowSeconds: variable("KAFKEY_HTTP_RATE_LIMIT_WINDOW_SECONDS", {
      group: "lockout",
      default: "60",
      description: "That window, in seconds.",
      parse: wholeNumber(1),
    }),
  },
  mail: {
    smtpUrl: variable("SMTP_URL", {
      group: "mail",
      example: "smtp://user:password@smtp.example.com:587",
      description:
        "`smtp://user:pass@host:587` (or `smtps://`) for verification and reset mail. Unset: mail is written as `.eml` files under `<data dir>/outbox`, and nobody receives it.",
      note: "Set it in production; docker-compose.yml runs no mail server.",
      parse: urlOf(/^smtps?:\/\//, "must be an smtp:// or smtps:// URL"),
    }),
    from: variable("MAIL_FROM", {
      group: "mail",
      default: "Kafkey <no-reply@kafkey.local>",
      description: "Sender of that mail.",
      parse: text(),
    }),
  },
  appUrl: variable("KAFKEY_APP_URL", {
    group: "mail",
    default: "http://localhost:3000",
    description: "The frontend that mail links point to: `/verify-email?token=…` and `/reset-password?token=…`.",
    parse: text().transform((url) => url.replace(/\/+$/, "")),
  }),
  emailSignIn: {
    enabled: variable("KAFKEY_EMAIL_SIGN_IN", {
      group: "emailSignIn",
      default: "false",
      description: "Let users sign in with a code or a link mailed to their address (`requestSignInCode`).",
      parse: flag(),
    }),
    countsAsSecondFactor: variable("KAFKEY_EMAIL_SIGN_IN_COUNTS_AS_SECOND_FACTOR", {
      group: "emailSignIn",
      default: "false",
      description:
        "A mailed code or link counts as two factors: users with TOTP on are not asked for it after one. Off: they are (`mfaRequired`).",
      parse: flag(),
    }),
    url: variable("KAFKEY_EMAIL_SIGN_IN_URL", {
      group: "emailSignIn",
      unset: "`KAFKEY_APP_URL` + `/sign-in/email`",
      example: "https://app.example.com/sign-in/email",
      description: "The frontend page the mailed link points to, as `<url>?token=…`; it calls `signInWithLink(token)`.",
      parse: text().transform((url) => url.replace(/\/+$/, "")),
    }),
  },
  requireVerifiedEmail: variable("KAFKEY_REQUIRE_VERIFIED_EMAIL", {
    group: "accounts",
    default: "false",
    description:
      "Refuse logins (with `EMAIL_NOT_VERIFIED`) until the email is verified; `signUp` then starts no session.",
    parse: flag(),
  }),
  organizationCreation: variable("KAFKEY_ORGANIZATION_CREATION", {
    group: "accounts",
    default: "verified-users",
    description:
      "Who may call `createOrganization`: `verified-users`, `users` (any signed-in user) or `admins` (platform `orgs.create`).",
    parse: oneOf(["verified-users", "users", "admins"]),
  }),
  encryptionKey: variable("KAFKEY_ENCRYPTION_KEY", {
    group: "required",
    unset: "generated in dev",
    placeholder: "CHANGE-ME",
    description:
      "32 bytes, base64 (`openssl rand -base64 32`): encrypts TOTP secrets at rest (AES-256-GCM). Keep it: the TOTP secrets stored in the database can only be read with it.",
    note: "Generate one with\n  openssl rand -base64 32\nand paste it after the `=`.",
    parse: text().refine(
      (key) => Buffer.from(key, "base64url").length === 32,
      "must be 32 bytes, base64 encoded (openssl rand -base64 32)",
    ),
  }),
  totpIssuer: variable("KAFKEY_TOTP_ISSUER", {
    group: "mfa",
    default: "Kafkey",
    description: "The name authenticator apps show for the account.",
    parse: text(),
  }),
  webauthn: {
    rpId: variable("KAFKEY_WEBAUTHN_RP_ID", {
      group: "webauthn",
      unset: "passkeys off",
      example: "example.com",
      description:
        "The WebAuthn relying party id: a domain (no scheme, no port) that is the host of every origin passkeys are used on, or a parent of it (`example.com` for `https://app.example.com` and `https://id.example.com`). Passkeys are bound to it: changing it voids every registered passkey.",
      parse: text()
        .transform((id) => id.toLowerCase())
        .refine(
          (id) =>
            /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*$/.test(id) && !/^[\d.]+$/.test(id),
          "must be a domain name such as example.com (no scheme, no port, not an IP address)",
        )
        .refine(
          (id) => id.includes(".") || id === "localhost",
          "must be a registrable domain (example.com, or localhost)",
        ),
    }),
    rpName: variable("KAFKEY_WEBAUTHN_RP_NAME", {
      group: "webauthn",
      default: "Kafkey",
      description: "The name browsers and authenticators show for the site when a passkey is made.",
      parse: text(),
    }),
  },
  metrics: {
    enabled: variable("KAFKEY_METRICS_ENABLED", {
      group: "metrics",
      default: "true",
      description:
        "Serve Prometheus metrics (HTTP and GraphQL latency, error codes, auth and security events, permission cache, database pool, process).",
      parse: flag(),
    }),
    path: variable("KAFKEY_METRICS_PATH", {
      group: "metrics",
      default: "/metrics",
      description: "Where; not authenticated, so keep it off the public side of the load balancer.",
      parse: text(),
    }),
  },
  queryBudget: {
    points: variable("KAFKEY_QUERY_BUDGET_POINTS", {
      group: "graphql",
      default: "100000",
      description:
        "Estimated query cost each caller (the user, or the IP when anonymous) may spend per window: one point a field, a list's subtree counted once per requested item. Past it: 429 `RATE_LIMITED`.",
      parse: wholeNumber(1),
    }),
    windowSeconds: variable("KAFKEY_QUERY_BUDGET_WINDOW_SECONDS", {
      group: "graphql",
      default: "60",
      description: "That window, in seconds.",
      parse: wholeNumber(1),
    }),
  },
  audit: {
    mongoUrl: variable("MONGODB_URL", {
      group: "audit",
      example: "mongodb://mongo:27017/kafkey",
      description:
        "MongoDB for the audit trail (`mongodb://host:27017/kafkey`; the database defaults to `kafkey`). Unset: the `audit_events` table of the database.",
      note: "docker-compose.yml points it at its mongo service.",
      parse: urlOf(/^mongodb(\+srv)?:\/\//, "must be a mongodb:// or mongodb+srv:// URL"),
    }),
    mongoPoolSize: variable("MONGODB_POOL_SIZE", {
      group: "audit",
      default: "10",
      description: "MongoDB connections per process.",
      parse: wholeNumber(1, 1000),
    }),
    mongoConnectTimeoutMs: variable("MONGODB_CONNECT_TIMEOUT_MS", {
      group: "audit",
      default: "5000",
      description: "Give up connecting to MongoDB after this.",
      parse: wholeNumber(100),
    }),
    mongoServerSelectionTimeoutMs: variable("MONGODB_SERVER_SELECTION_TIMEOUT_MS", {
      group: "audit",
      default: "5000",
      description:
        "How long an audit write waits for a reachable MongoDB before the events go back to wait in the outbox.",
      parse: wholeNumber(100),
    }),
    dispatchIntervalMs: variable("KAFKEY_AUDIT_DISPATCH_INTERVAL_MS", {
      group: "audit",
      default: "1000",
      description: "How often the audit outbox is looked at, besides right after each change.",
      parse: wholeNumber(10, 3_600_000),
    }),
    batchSize: variable("KAFKEY_AUDIT_BATCH_SIZE", {
      group: "audit",
      default: "100",
      description: "Audit events per delivery to the sink.",
      parse: wholeNumber(1, 1000),
    }),
    retryMaxMs: variable("KAFKEY_AUDIT_RETRY_MAX_MS", {
      group: "audit",
      default: "60000",
      description: "Longest wait between deliveries to a failing audit sink (the wait doubles up to it).",
      parse: wholeNumber(10),
    }),
  },
  oauth: {
    publicUrl: variable("KAFKEY_PUBLIC_URL", {
      group: "oauth",
      unset: "from each request",
      example: "https://id.example.com",
      description:
        "Kafkey's public base URL (`https://id.example.com`); the OAuth callback URL is `<it>/auth/oauth/<provider>/callback`. Set it behind a proxy; required in production once a provider is set.",
      parse: httpUrl(),
    }),
    redirectAllowlist: variable("KAFKEY_OAUTH_REDIRECT_ALLOWLIST", {
      group: "oauth",
      default: "",
      example: "http://localhost:3000/oauth/done",
      description:
        "Frontend URLs a social sign-in may return to, comma separated, compared exactly. Empty: social sign-in refuses every `redirect_uri`.",
      parse: list().superRefine((uris, ctx) => {
        const bad = uris.find((uri) => !/^https?:\/\/[^\s]+$/.test(uri));
        if (bad !== undefined) ctx.addIssue(`holds "${bad}", which is not an http(s) URL`);
      }),
    }),
    google: {
      clientId: variable("OAUTH_GOOGLE_CLIENT_ID", {
        group: "oauth",
        description: "Google OAuth client id; Google sign-in is off without it (its routes answer 404).",
        parse: text(),
      }),
      clientSecret: variable("OAUTH_GOOGLE_CLIENT_SECRET", {
        group: "oauth",
        description: "Its secret (set both or neither).",
        parse: text(),
      }),
      scopes: variable("OAUTH_GOOGLE_SCOPES", {
        group: "oauth",
        default: "openid email profile",
        description: "Scopes asked of Google.",
        parse: list(),
      }),
      authorizeUrl: variable("OAUTH_GOOGLE_AUTHORIZE_URL", {
        group: "oauth",
        default: "https://accounts.google.com/o/oauth2/v2/auth",
        description: "Google's authorization endpoint.",
        parse: httpUrl(),
      }),
      tokenUrl: variable("OAUTH_GOOGLE_TOKEN_URL", {
        group: "oauth",
        default: "https://oauth2.googleapis.com/token",
        description: "Google's token endpoint.",
        parse: httpUrl(),
      }),
      jwksUrl: variable("OAUTH_GOOGLE_JWKS_URL", {
        group: "oauth",
        default: "https://www.googleapis.com/oauth2/v3/certs",
        description: "The keys Google signs ID tokens with.",
        parse: httpUrl(),
      }),
      issuer: variable("OAUTH_GOOGLE_ISSUER", {
        group: "oauth",
        default: "https://accounts.google.com",
        description: "The `iss` Google's ID tokens must carry.",
        parse: text(),
      }),
    },
    github: {
      clientId: variable("OAUTH_GITHUB_CLIENT_ID", {
        group: "oauth",
        description: "GitHub OAuth app client id; GitHub sign-in is off without it.",
        parse: text(),
      }),
      clientSecret: variable("OAUTH_GITHUB_CLIENT_SECRET", {
        group: "oauth",
        description: "Its secret (set both or neither).",
        parse: text(),
      }),
      scopes: variable("OAUTH_GITHUB_SCOPES", {
        group: "oauth",
        default: "read:user user:email",
        description: "Scopes asked of GitHub.",
        parse: list(),
      }),
      authorizeUrl: variable("OAUTH_GITHUB_AUTHORIZE_URL", {
        group: "oauth",
        default: "https://github.com/login/oauth/authorize",
        description: "GitHub's authorization endpoint (GitHub Enterprise: your server's).",
        parse: httpUrl(),
      }),
      tokenUrl: variable("OAUTH_GITHUB_TOKEN_URL", {
        group: "oauth",
        default: "https://github.com/login/oauth/access_token",
        description: "GitHub's token endpoint.",
        parse: httpUrl(),
      }),
      apiUrl: variable("OAUTH_GITHUB_API_URL", {
        group: "oauth",
        default: "https://api.github.com",
        description: "GitHub's API, for `/user` and `/user/emails`.",
        parse: httpUrl(),
      }),
    },
  },
  tracing: {
    endpoint: variable("OTEL_EXPORTER_OTLP_ENDPOINT", {
      group: "tracing",
      example: "http://otel-collector:4318",
      description:
        "OpenTelemetry collector (OTLP over HTTP, e.g. `http://collector:4318`): traces of every request, with HTTP, GraphQL and PostgreSQL spans and the request id as `kafkey.request_id`. Unset: no tracing.",
      parse: urlOf(/^https?:\/\//, "must be an http:// or https:// URL"),
    }),
    serviceName: variable("OTEL_SERVICE_NAME", {
      group: "tracing",
      default: "kafkey",
      description: "The service name on those traces.",
      parse: text(),
    }),
  },
  sentry: {
    dsn: variable("SENTRY_DSN", {
      group: "errors",
      example: "https://<key>@o0.ingest.sentry.io/<project>",
      description:
        "Report unexpected errors to Sentry, tagged with the request id, user id and operation name; never request bodies or secrets.",
      parse: urlOf(/^https?:\/\/[^@/]+@[^/]+\/.+/, "must look like https://<key>@<host>/<project>"),
    }),
    environment: variable("SENTRY_ENVIRONMENT", {
      group: "errors",
      default: sameAs("NODE_ENV"),
      example: "production",
      description: "The environment Sentry files them under.",
      parse: text(),
    }),
  },
  graphqlLimits: {
    maxDepth: variable("KAFKEY_GRAPHQL_MAX_DEPTH", {
      group: "graphql",
      default: "8",
      description: "Deepest selection nesting a request may have (fragments included).",
      parse: wholeNumber(2),
    }),
    maxCost: variable("KAFKEY_GRAPHQL_MAX_COST", {
      group: "graphql",
      default: "5000",
      description: "Largest estimated cost of a request (graphql-armor's cost model).",
      parse: wholeNumber(10),
    }),
    maxAliases: variable("KAFKEY_GRAPHQL_MAX_ALIASES", {
      group: "graphql",
      default: "15",
      description: "Aliases per request.",
      parse: wholeNumber(1),
    }),
    maxDirectives: variable("KAFKEY_GRAPHQL_MAX_DIRECTIVES", {
      group: "graphql",
      default: "20",
      description: "Directives per request.",
      parse: wholeNumber(1),
    }),
    maxTokens: variable("KAFKEY_GRAPHQL_MAX_TOKENS", {
      group: "graphql",
      default: "2000",
      description: "Tokens per request document; longer ones are not even parsed.",
      parse: wholeNumber(100),
    }),
  },
} satisfies Shape;

/**
 * Every environment variable Kafkey reads, parsed and validated once at start-up: the values of the
 * schema above, in its shape (each field's entry there says what it is and its default).
 */
export type Config = ValuesOf<typeof SCHEMA>;

/** One OAuth provider's registration and endpoints (the real provider's by default). */
export type OAuthProviderConfig = Pick<
  Config["oauth"]["github"],
  "clientId" | "clientSecret" | "scopes" | "authorizeUrl" | "tokenUrl"
>;

/**
 * The checks that span variables, on the parsed values: each returns its message when it fails.
 * Defaults and single variables are the entries' business.
 */
const CHECKS: ((config: Config) => string | undefined)[] = [
  (c) =>
    (c.admin.email === undefined) !== (c.admin.password === undefined)
      ? "KAFKEY_ADMIN_EMAIL and KAFKEY_ADMIN_PASSWORD must be set together"
      : undefined,
  (c) =>
    c.env === "production" && c.encryptionKey === undefined
      ? "KAFKEY_ENCRYPTION_KEY is required when NODE_ENV=production"
      : undefined,
  // Workers share nothing in memory: the database and the store must be the shared ones.
  (c) =>
    c.workers > 1 && (!c.database.url || !c.redis.topology)
      ? "KAFKEY_WORKERS above 1 needs DATABASE_URL and Redis (REDIS_URL, REDIS_SENTINELS or REDIS_CLUSTER_NODES)"
      : undefined,
  (c) =>
    (c.oauth.google.clientId === undefined) !== (c.oauth.google.clientSecret === undefined)
      ? "OAUTH_GOOGLE_CLIENT_ID and OAUTH_GOOGLE_CLIENT_SECRET must be set together"
      : undefined,
  (c) =>
    (c.oauth.github.clientId === undefined) !== (c.oauth.github.clientSecret === undefined)
      ? "OAUTH_GITHUB_CLIENT_ID and OAUTH_GITHUB_CLIENT_SECRET must be set together"
      : undefined,
  // Behind a proxy the request's own address is not what providers call back: production says it.
  (c) =>
    c.env === "production" && !c.oauth.publicUrl && (c.oauth.google.clientId || c.oauth.github.clientId)
      ? "KAFKEY_PUBLIC_URL is required when NODE_ENV=production and a sign-in provider is set"
      : undefined,
  // The page a social sign-in returns to calls exchangeOAuthCode: its origin must be allowed to.
  (c) => {
    if (c.corsOrigins.length === 0) return undefined;
    const own = c.oauth.publicUrl === undefined ? undefined : originOfUrl(c.oauth.publicUrl);
    const missing = [...new Set(c.oauth.redirectAllowlist.map((uri) => originOfUrl(uri)))].filter(
      (origin) => origin !== undefined && origin !== own && !c.corsOrigins.includes(origin),
    );
    return missing.length
      ? `KAFKEY_CORS_ORIGINS must hold ${missing.join(", ")}: KAFKEY_OAUTH_REDIRECT_ALLOWLIST returns there, and that page calls exchangeOAuthCode`
      : undefined;
  },
  // A browser refuses a passkey ceremony on an origin the RP id does not cover: refused here instead.
  (c) => {
    const { rpId } = c.webauthn;
    if (rpId === undefined) return undefined;
    const origins = passkeyOrigins(c);
    if (origins.length === 0) {
      return "KAFKEY_WEBAUTHN_RP_ID needs the origins passkeys are used on: KAFKEY_PUBLIC_URL or KAFKEY_CORS_ORIGINS";
    }
    const outside = origins.filter((origin) => !rpIdCovers(rpId, origin));
    return outside.length
      ? `KAFKEY_WEBAUTHN_RP_ID "${rpId}" must be the host, or a parent domain of the host, of every origin passkeys are used on (KAFKEY_PUBLIC_URL and KAFKEY_CORS_ORIGINS), over https (http only on localhost): ${outside.join(", ")} is not`
      : undefined;
  },
];

/** The origins passkeys are used on: Kafkey's own (KAFKEY_PUBLIC_URL) and KAFKEY_CORS_ORIGINS. */
export function passkeyOrigins(config: Pick<Config, "oauth" | "corsOrigins">): string[] {
  const own = config.oauth.publicUrl === undefined ? undefined : originOfUrl(config.oauth.publicUrl);
  return [...new Set([...(own === undefined ? [] : [own]), ...config.corsOrigins])];
}

/**
 * Whether a browser on `origin` may use passkeys of `rpId`: the origin's host is the RP id or a
 * subdomain of it, and the origin is a secure context (https, or http on localhost).
 */
function rpIdCovers(rpId: string, origin: string): boolean {
  const url = new URL(origin);
  const host = url.hostname;
  const local = host === "localhost" || host.endsWith(".localhost");
  if (url.protocol !== "https:" && !local) return false;
  return host === rpId || host.endsWith(`.${rpId}`);
}

// ---- reading the environment ---------------------------------------------------------------------

function isVariable(node: unknown): node is Variable {
  return (node as Variable).kind === "variable";
}

function isDerived(node: unknown): node is Derived<Record<string, Variable>, unknown> {
  return (node as { kind?: unknown }).kind === "derived";
}

/** Every variable of a part of the schema, in the schema's order. */
function variablesOf(shape: Shape | Derived<Record<string, Variable>, unknown>): Variable[] {
  const nodes = isDerived(shape) ? Object.values(shape.parts) : Object.values(shape);
  return nodes.flatMap((node) => (isVariable(node) ? [node] : variablesOf(node)));
}

/** Every variable's entry, in the schema's order: what README.md and .env.example are written from. */
export const CONFIG_ENTRIES: readonly Variable[] = variablesOf(SCHEMA);

/** Every variable `loadConfig` reads. */
export const CONFIG_VARIABLES: readonly string[] = CONFIG_ENTRIES.map((entry) => entry.name);

type Env = Record<string, string | undefined>;

function read(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === "" ? undefined : value;
}

/** Parses and validates the environment; throws a ConfigError naming the offending variable(s). */
export function loadConfig(env: Env): Config {
  const texts = new Map<string, string | undefined>();
  const problems: string[] = [];

  const load = (entry: Variable): unknown => {
    const given = read(env, entry.name);
    const fallback = typeof entry.default === "object" ? texts.get(entry.default.sameAs) : entry.default;
    const raw = given ?? fallback;
    texts.set(entry.name, raw);
    if (raw === undefined) return undefined;
    const result = entry.parse.safeParse(raw);
    if (result.success) return result.data;
    problems.push(`${entry.name} ${result.error.issues[0]?.message ?? "is not valid"}`);
    return undefined;
  };

  const values = (shape: Shape): Record<string, unknown> =>
    Object.fromEntries(
      Object.entries(shape).map(([key, node]) => {
        if (isVariable(node)) return [key, load(node)];
        if (!isDerived(node)) return [key, values(node)];
        const parts = Object.entries(node.parts);
        const before = problems.length;
        const partValues = Object.fromEntries(parts.map(([part, entry]) => [part, load(entry)]));
        // A derived field's own checks read its variables' values, so they wait until those parse.
        if (problems.length > before) return [key, undefined];
        const given = Object.fromEntries(parts.map(([part, entry]) => [part, read(env, entry.name) !== undefined]));
        try {
          return [key, node.build(partValues as never, given as never)];
        } catch (error) {
          if (!(error instanceof ConfigError)) throw error;
          problems.push(error.message);
          return [key, undefined];
        }
      }),
    );

  const config = values(SCHEMA) as Config;
  if (problems.length) throw new ConfigError(problems.join("; "));
  for (const check of CHECKS) {
    const problem = check(config);
    if (problem !== undefined) throw new ConfigError(problem);
  }
  return config;
}
