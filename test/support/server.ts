import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { PGlite } from "@electric-sql/pglite";
import { type App, createApp } from "../../src/app.js";
import { loadConfig } from "../../src/config.js";
import { openDatabase, openPglite } from "../../src/platform/db/database.js";
import { createLogger } from "../../src/platform/observability/logger.js";
import { createScratchDatabase, postgresAvailable, type ScratchDatabase } from "./databases.js";
import { redisAvailable, TEST_REDIS_URL, uniquePrefix } from "./redis.js";

export const ADMIN = { email: "admin@kafkey.test", password: "admin-password-for-tests" };
export const TEST_ENCRYPTION_KEY = Buffer.alloc(32, 7).toString("base64");
export const PASSWORD = "a perfectly long password";

export interface GraphQLErrorBody {
  message: string;
  path?: string[];
  extensions?: Record<string, unknown> & { code?: string };
}

export interface GraphQLResponse<T = Record<string, any>> {
  status: number;
  headers: Headers;
  data?: T | null;
  errors?: GraphQLErrorBody[];
}

export interface SignedIn {
  id: string;
  email: string;
  accessToken: string;
  refreshToken: string;
}

export interface ServerOptions {
  /** `postgres` (default; embedded PGlite when PostgreSQL is unreachable and not required) or `pglite`. */
  database?: "postgres" | "pglite";
  /** Extra environment variables for the server's config. */
  env?: Record<string, string>;
  /** `redis` (default when reachable, with a key prefix of its own) or `memory`. */
  store?: "redis" | "memory";
  /** Another server's database and key prefix: a second instance of the same deployment. */
  sharing?: TestServer;
}

/** A real Kafkey server on a random port, with its own fresh database. */
export class TestServer {
  /** SQL statements Prisma sent, for tests that count them. */
  readonly statements: string[] = [];
  /** Every log line the server wrote, as JSON text. */
  readonly logs: string[] = [];
  app!: App;
  url!: string;
  database!: "postgres" | "pglite";
  /** The Redis key prefix, when the server uses Redis. */
  redisPrefix: string | undefined;
  private scratch: ScratchDatabase | undefined;
  private sharing: TestServer | undefined;
  private dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "kafkey-test-"));

  async start(options: ServerOptions): Promise<this> {
    this.sharing = options.sharing;
    const usePostgres =
      options.sharing?.database === "postgres" ||
      (!options.sharing && (options.database ?? "postgres") === "postgres" && (await postgresAvailable()));
    this.database = usePostgres ? "postgres" : "pglite";
    this.scratch = options.sharing ? undefined : usePostgres ? await createScratchDatabase() : undefined;
    const databaseUrl = options.sharing ? options.sharing.databaseUrl : this.scratch?.url;
    const useRedis = options.sharing
      ? options.sharing.redisPrefix !== undefined
      : (options.store ?? "redis") === "redis" && (await redisAvailable());
    this.redisPrefix = options.sharing?.redisPrefix ?? (useRedis ? uniquePrefix() : undefined);
    const config = loadConfig({
      ...testEnv(this.dataDir),
      // Limits high enough for a suite that logs in from one IP all the time; their own tests lower them.
      KAFKEY_AUTH_RATE_LIMIT_MAX: "100000",
      KAFKEY_HTTP_RATE_LIMIT_MAX: "100000",
      KAFKEY_LOCKOUT_IP_THRESHOLD: "100000",
      KAFKEY_QUERY_BUDGET_POINTS: "100000000",
      DATABASE_URL: databaseUrl ?? "",
      REDIS_URL: this.redisPrefix ? TEST_REDIS_URL : "",
      KAFKEY_REDIS_PREFIX: this.redisPrefix ?? "",
      ...options.env,
    });
    const onQuery = (sql: string) => void this.statements.push(sql);
    const db = databaseUrl ? await openDatabase(config, onQuery) : await openPglite(new PGlite(), onQuery);
    const logs = this.logs;
    const destination = new Writable({
      write(chunk, _encoding, done) {
        logs.push(...String(chunk).split("\n").filter(Boolean));
        done();
      },
    });
    this.app = await createApp(config, { db, log: createLogger(config.logLevel, destination) });
    this.url = await this.app.listen();
    return this;
  }

  /** The PostgreSQL URL of this server's database, if it has one. */
  get databaseUrl(): string | undefined {
    return this.scratch?.url ?? this.sharing?.databaseUrl;
  }

  async close(): Promise<void> {
    await this.app?.close();
    await this.scratch?.drop();
    fs.rmSync(this.dataDir, { recursive: true, force: true });
  }

  /** POSTs a GraphQL operation over real HTTP. */
  async gql<T = Record<string, any>>(
    query: string,
    variables?: Record<string, unknown>,
    token?: string,
    headers: Record<string, string> = {},
  ): Promise<GraphQLResponse<T>> {
    const response = await fetch(`${this.url}/graphql`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...headers,
      },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await response.json()) as { data?: T; errors?: GraphQLErrorBody[] };
    return { status: response.status, headers: response.headers, ...body };
  }

  async login(email: string, password: string): Promise<SignedIn> {
    const result = await this.gql(
      `mutation($email: String!, $password: String!) { login(email: $email, password: $password) { accessToken refreshToken user { id email } } }`,
      { email, password },
    );
    if (!result.data) throw new Error(`login failed: ${JSON.stringify(result.errors)}`);
    const { accessToken, refreshToken, user } = result.data.login;
    return { id: user.id, email: user.email, accessToken, refreshToken };
  }

  loginAdmin(): Promise<SignedIn> {
    return this.login(ADMIN.email, ADMIN.password);
  }

  /** Signs up a new user with a unique email. */
  async signUp(name = "user"): Promise<SignedIn> {
    const email = `${name}-${randomBytes(4).toString("hex")}@example.com`;
    const result = await this.gql(
      `mutation($input: SignUpInput!) { signUp(input: $input) { accessToken refreshToken user { id email } } }`,
      { input: { email, password: PASSWORD, displayName: name } },
    );
    if (!result.data) throw new Error(`signUp failed: ${JSON.stringify(result.errors)}`);
    const { accessToken, refreshToken, user } = result.data.signUp;
    return { id: user.id, email: user.email, accessToken, refreshToken };
  }

  /** The id of a role or permission by its name or key, read with the admin's token. */
  async roleId(name: string): Promise<string> {
    const admin = await this.loginAdmin();
    const { data } = await this.gql(`{ roles { id name } }`, {}, admin.accessToken);
    return data!.roles.find((r: { name: string }) => r.name === name).id;
  }

  async permissionIds(keys: string[]): Promise<string[]> {
    const admin = await this.loginAdmin();
    const { data } = await this.gql(`{ permissions { id key } }`, {}, admin.accessToken);
    return keys.map((key) => data!.permissions.find((p: { key: string }) => p.key === key).id);
  }

  /** Creates a role holding `keys` and gives it to `userId`, as the admin. */
  async grant(userId: string, keys: string[]): Promise<string> {
    const admin = await this.loginAdmin();
    const created = await this.gql(
      `mutation($input: CreateRoleInput!) { createRole(input: $input) { id } }`,
      { input: { name: `role-${randomBytes(4).toString("hex")}`, permissionIds: await this.permissionIds(keys) } },
      admin.accessToken,
    );
    const roleId = created.data!.createRole.id;
    await this.gql(
      `mutation($u: UUID!, $r: UUID!) { assignRole(userId: $u, roleId: $r) { id } }`,
      { u: userId, r: roleId },
      admin.accessToken,
    );
    return roleId;
  }
}

/** The configuration every test server starts from: a test secret, a known admin, cheap hashes. */
export function testEnv(dataDir: string): Record<string, string> {
  return {
    NODE_ENV: "test",
    PORT: "0",
    LOG_LEVEL: "info",
    KAFKEY_DATA_DIR: dataDir,
    KAFKEY_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY,
    KAFKEY_ADMIN_EMAIL: ADMIN.email,
    KAFKEY_ADMIN_PASSWORD: ADMIN.password,
    // Cheap hashes keep the suite fast; test/passwords.test.ts checks the production cost.
    KAFKEY_ARGON2_MEMORY_KIB: "1024",
    KAFKEY_ARGON2_TIME_COST: "1",
  };
}

export function startServer(options: ServerOptions = {}): Promise<TestServer> {
  return new TestServer().start(options);
}

/** A response body as JSON, for routes outside GraphQL. */
export async function readJson(response: Response): Promise<Record<string, any>> {
  return (await response.json()) as Record<string, any>;
}

/** The `extensions.code` of the first error, the way clients branch on it. */
export function codeOf(result: GraphQLResponse): string | undefined {
  return result.errors?.[0]?.extensions?.code;
}
