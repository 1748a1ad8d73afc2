/**
 * `npm run bench`: Kafkey's speed, as ratios within one run on this machine (see bench/README.md).
 * Starts the built server in production mode against the local PostgreSQL and Redis, seeds it, drives
 * it with autocannon, measures the two ceilings (raw argon2id verifies, a bare Fastify + Apollo
 * `{ hello }`), counts SQL statements per operation, and prints and saves every figure with its target.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import argon2 from "argon2";
import autocannon from "autocannon";
import pg from "pg";
import { BENCH_PASSWORD, seed, type Seeded } from "./seed.js";

const root = path.resolve(import.meta.dirname, "..");
const ADMIN = { email: "bench-admin@example.com", password: "bench admin password, long enough" };
const ARGON = { memoryKib: 19_456, timeCost: 2, parallelism: 1 };
const DURATION = Number(process.env.BENCH_DURATION ?? 8);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const BASE_URL = process.env.BENCH_DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";
const REDIS_URL = process.env.BENCH_REDIS_URL ?? "redis://127.0.0.1:6379";
const SERVER_PORT = 4600;
const SETTLE_SECONDS = 40;
const HELLO_PORT = 4700;

interface Figure {
  name: string;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  /** CPU time the server's processes spent per request (all their threads: argon2's pool too). */
  serverCpuMsPerRequest?: number;
}

interface Target {
  name: string;
  value: number;
  target: string;
  met: boolean;
}

function databaseUrl(name: string): string {
  const url = new URL(BASE_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

async function recreateDatabase(name: string): Promise<string> {
  const client = new pg.Client({ connectionString: BASE_URL });
  await client.connect();
  await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  await client.query(`CREATE DATABASE "${name}"`);
  await client.end();
  return databaseUrl(name);
}

/** The production configuration every Kafkey process of the run shares (so tokens work on each). */
function serverEnv(database: string, prefix: string, secrets: { encryption: string }): NodeJS.ProcessEnv {
  return {
    ...process.env,
    NODE_ENV: "production",
    PORT: String(SERVER_PORT),
    HOST: "127.0.0.1",
    DATABASE_URL: database,
    REDIS_URL,
    KAFKEY_REDIS_PREFIX: prefix,
    KAFKEY_ENCRYPTION_KEY: secrets.encryption,
    KAFKEY_ADMIN_EMAIL: ADMIN.email,
    KAFKEY_ADMIN_PASSWORD: ADMIN.password,
    KAFKEY_ARGON2_MEMORY_KIB: String(ARGON.memoryKib),
    KAFKEY_ARGON2_TIME_COST: String(ARGON.timeCost),
    // One client machine drives everything: the per-IP defences would measure themselves.
    KAFKEY_HTTP_RATE_LIMIT_MAX: "1000000000",
    KAFKEY_AUTH_RATE_LIMIT_MAX: "1000000000",
    KAFKEY_LOCKOUT_IP_THRESHOLD: "1000000000",
    KAFKEY_QUERY_BUDGET_POINTS: "1000000000000",
    LOG_LEVEL: "warn",
    // As the Dockerfile sets it.
    MALLOC_ARENA_MAX: "2",
  };
}

async function waitFor(url: string, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`${url}: the process exited with ${child.exitCode}`);
    try {
      if ((await fetch(url)).status < 500) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url} did not come up`);
}

/** With BENCH_PROFILE=1, each server process writes a V8 CPU profile here when it stops. */
const PROFILE_DIR = process.env.BENCH_PROFILE === "1" ? path.join(root, "bench", "profiles") : undefined;

async function startServer(env: NodeJS.ProcessEnv): Promise<ChildProcess> {
  const profile = PROFILE_DIR ? ["--cpu-prof", `--cpu-prof-dir=${PROFILE_DIR}`] : [];
  const child = spawn(process.execPath, [...profile, "dist/main.js"], {
    cwd: root,
    env,
    stdio: ["ignore", "ignore", "inherit"],
  });
  await waitFor(`http://127.0.0.1:${SERVER_PORT}/health/ready`, child);
  return child;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await exited;
}

async function gql(query: string, variables: Record<string, unknown> = {}, token?: string) {
  const response = await fetch(`http://127.0.0.1:${SERVER_PORT}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: Record<string, { accessToken: string }>; errors?: unknown[] };
  if (body.errors) throw new Error(`${query}: ${JSON.stringify(body.errors)}`);
  return body.data!;
}

/** The forward-auth scenario's name: the fastest path in Kafkey (a target below says how fast). */
const VERIFY = "/auth/verify (forward auth, ?permission=)";

const LOGIN = `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }`;

const CLOCK_TICKS = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;

/** CPU seconds (user and system, every thread) that `pid` and its child processes (cluster workers) used. */
function cpuSeconds(pid: number): number {
  const ticks = (id: string) => {
    try {
      const fields = fs.readFileSync(`/proc/${id}/stat`, "utf8").split(") ")[1]!.split(" ");
      return Number(fields[11]) + Number(fields[12]);
    } catch {
      return 0; // gone in between
    }
  };
  const children = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean);
  return [String(pid), ...children].reduce((sum, id) => sum + ticks(id), 0) / CLOCK_TICKS;
}

/**
 * Drives `url` with autocannon; `body` is made anew for each request when it is a function.
 * @param server the server process, whose CPU time per request is reported.
 * @param method GET sends no body (and no content type).
 */
async function drive(
  name: string,
  url: string,
  body: string | (() => string),
  headers: Record<string, string> = {},
  expectedStatus = 200,
  server?: ChildProcess,
  method: "GET" | "POST" = "POST",
): Promise<Figure> {
  const cpuBefore = server ? cpuSeconds(server.pid!) : 0;
  const result = await autocannon({
    url,
    method,
    connections: CONNECTIONS,
    duration: DURATION,
    headers: method === "GET" ? headers : { "content-type": "application/json", ...headers },
    requests: [
      method === "GET"
        ? {}
        : typeof body === "string"
          ? { body }
          : { setupRequest: (request) => ({ ...request, body: body() }) },
    ],
  });
  const wrongStatus = expectedStatus === 200 ? result.non2xx : result["2xx"];
  const figure: Figure = {
    name,
    requestsPerSecond: Math.round(result.requests.average),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    errors: result.errors + result.timeouts + wrongStatus,
  };
  if (server && result.requests.total > 0) {
    const ms = ((cpuSeconds(server.pid!) - cpuBefore) * 1000) / result.requests.total;
    figure.serverCpuMsPerRequest = Math.round(ms * 1000) / 1000;
  }
  process.stdout.write(
    `  ${name}: ${figure.requestsPerSecond} req/s, p50 ${figure.p50Ms} ms, p99 ${figure.p99Ms} ms` +
      (figure.serverCpuMsPerRequest === undefined ? "" : `, server CPU ${figure.serverCpuMsPerRequest} ms/request`) +
      "\n",
  );
  return figure;
}

/** The physical limit for logins: argon2id verifies per second at the server's parameters and concurrency. */
async function argon2Ceiling(): Promise<Figure> {
  const hash = await argon2.hash(BENCH_PASSWORD, {
    type: argon2.argon2id,
    memoryCost: ARGON.memoryKib,
    timeCost: ARGON.timeCost,
    parallelism: ARGON.parallelism,
  });
  const end = Date.now() + DURATION * 1000;
  const latencies: number[] = [];
  const cpuBefore = process.cpuUsage();
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (Date.now() < end) {
        const started = performance.now();
        await argon2.verify(hash, BENCH_PASSWORD);
        latencies.push(performance.now() - started);
      }
    }),
  );
  const cpu = process.cpuUsage(cpuBefore);
  latencies.sort((x, y) => x - y);
  const figure = {
    name: "argon2id verify (raw)",
    requestsPerSecond: Math.round(latencies.length / DURATION),
    p50Ms: Math.round(latencies[Math.floor(latencies.length / 2)]!),
    p99Ms: Math.round(latencies[Math.floor(latencies.length * 0.99)]!),
    errors: 0,
    // This process did nothing else meanwhile: its CPU time is the verifies'.
    serverCpuMsPerRequest: Math.round((cpu.user + cpu.system) / latencies.length) / 1000,
  };
  process.stdout.write(`  ${figure.name}: ${figure.requestsPerSecond}/s\n`);
  return figure;
}

async function helloCeiling(): Promise<Figure> {
  const child = spawn(process.execPath, ["--import", "tsx", "bench/hello-server.ts"], {
    cwd: root,
    env: { ...process.env, NODE_ENV: "production", PORT: String(HELLO_PORT) },
    stdio: ["ignore", "ignore", "inherit"],
  });
  try {
    await waitFor(`http://127.0.0.1:${HELLO_PORT}/graphql?query=%7Bhello%7D`, child);
    return await drive(
      "{ hello } (bare Fastify + Apollo)",
      `http://127.0.0.1:${HELLO_PORT}/graphql`,
      JSON.stringify({ query: "{ hello }" }),
      {},
      200,
      child,
    );
  } finally {
    await stop(child);
  }
}

/** SQL statements each operation sends, counted by an in-process instance on the same database. */
async function countStatements(
  env: NodeJS.ProcessEnv,
  operations: Record<string, { query: string; variables?: Record<string, unknown>; token?: string }>,
): Promise<Record<string, number>> {
  const { createApp } = await import("../src/app.js");
  const { loadConfig } = await import("../src/config.js");
  const statements: string[] = [];
  const config = loadConfig({ ...env, PORT: "0" });
  const app = await createApp(config, { onQuery: (sql) => void statements.push(sql) });
  const counts: Record<string, number> = {};
  try {
    for (const [name, operation] of Object.entries(operations)) {
      const inject = () =>
        app.http.inject({
          method: "POST",
          url: "/graphql",
          headers: {
            "content-type": "application/json",
            ...(operation.token ? { authorization: `Bearer ${operation.token}` } : {}),
          },
          payload: JSON.stringify({ query: operation.query, variables: operation.variables }),
        });
      await inject(); // warm the caches, as a running server has them
      const before = statements.length;
      await inject();
      counts[name] = statements.length - before;
    }
  } finally {
    await app.close();
  }
  return counts;
}

function rssMb(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = Number(status.match(/VmRSS:\s+(\d+)/)?.[1] ?? 0);
  return Math.round(kb / 1024);
}

async function main(): Promise<void> {
  const started = Date.now();
  process.stdout.write("Building...\n");
  execFileSync("npm", ["run", "build"], { cwd: root, stdio: "ignore" });
  const database = await recreateDatabase("kafkey_bench");
  const prefix = `bench:${randomBytes(4).toString("hex")}:`;
  const env = serverEnv(database, prefix, {
    encryption: randomBytes(32).toString("base64"),
  });

  let server = await startServer(env);
  process.stdout.write("Seeding 10,000 users, 50 roles, 200 permissions...\n");
  const data: Seeded = await seed(database, ARGON, 10_000, 40_000);
  const admin = (await gql(LOGIN, { e: ADMIN.email, p: ADMIN.password })).login!.accessToken;
  const user = (await gql(LOGIN, { e: data.emails[0], p: BENCH_PASSWORD })).login!.accessToken;
  const ME = "{ me { id email displayName } }";
  const url = `http://127.0.0.1:${SERVER_PORT}/graphql`;
  const pick = <T>(list: T[]) => list[Math.floor(Math.random() * list.length)]!;
  const operations: Record<string, { query: string; variables?: Record<string, unknown>; token: string }> = {
    me: { query: ME, token: user },
    "user(id) with roles": {
      query: "query($id: UUID!) { user(id: $id) { id email roles { name } } }",
      variables: { id: data.userIds[1] },
      token: admin,
    },
    "users(pageSize: 100) with roles and permissions": {
      query: "{ users(pageSize: 100) { items { id email roles { name permissions { key } } } } }",
      token: admin,
    },
    updateMe: { query: 'mutation { updateMe(input: { displayName: "Bench" }) { id } }', token: user },
    "unauthorized users": { query: "{ users { items { id } } }", token: user },
  };

  process.stdout.write("Ceilings...\n");
  const argonCeiling = await argon2Ceiling();
  const hello = await helloCeiling();

  process.stdout.write("Kafkey, one process...\n");
  const figures: Figure[] = [];
  figures.push(
    await drive(
      "login",
      url,
      () => JSON.stringify({ query: LOGIN, variables: { e: pick(data.emails), p: BENCH_PASSWORD } }),
      {},
      200,
      server,
    ),
  );
  let next = 0;
  figures.push(
    await drive(
      "refreshToken",
      url,
      () =>
        JSON.stringify({
          query: "mutation($t: String!) { refreshToken(token: $t) { accessToken } }",
          variables: { t: data.refreshTokens[next++ % data.refreshTokens.length] },
        }),
      {},
      200,
      server,
    ),
  );
  for (const [name, operation] of Object.entries(operations)) {
    const body = () =>
      JSON.stringify({
        query: operation.query,
        variables: name.startsWith("user(id)") ? { id: pick(data.userIds) } : operation.variables,
      });
    figures.push(
      await drive(
        name,
        url,
        body,
        { authorization: `Bearer ${operation.token}` },
        // A refused field is still an operation that ran: 200 with FORBIDDEN (src/graphql/http-status.ts).
        200,
        server,
      ),
    );
  }
  // What a reverse proxy asks before every request of an app behind it (docs/gateway.md), as nginx's
  // auth_request sends it: the user's token, the original method and URI, a required permission.
  figures.push(
    await drive(
      VERIFY,
      `http://127.0.0.1:${SERVER_PORT}/auth/verify?permission=users.read`,
      "",
      { authorization: `Bearer ${admin}`, "x-original-method": "GET", "x-original-uri": "/app/page?id=1" },
      200,
      server,
      "GET",
    ),
  );
  const rss = rssMb(server.pid!);
  // What the process keeps once V8 has given back the run's garbage, which it does after a while idle
  // (its memory reducer): the lowest reading over SETTLE_SECONDS.
  let settledRss = rss;
  for (let waited = 0; waited < SETTLE_SECONDS; waited += 2) {
    await new Promise((resolve) => setTimeout(resolve, 2000));
    settledRss = Math.min(settledRss, rssMb(server.pid!));
  }
  process.stdout.write(`  RSS: ${rss} MB at the end of the load, ${settledRss} MB within ${SETTLE_SECONDS} s idle\n`);
  await stop(server);

  process.stdout.write("Kafkey, two processes (KAFKEY_WORKERS=2)...\n");
  server = await startServer({ ...env, KAFKEY_WORKERS: "2" });
  const two = await drive(
    "me, two processes",
    url,
    JSON.stringify({ query: ME }),
    { authorization: `Bearer ${user}` },
    200,
    server,
  );
  await stop(server);

  process.stdout.write("Counting SQL statements...\n");
  const statements = await countStatements(env, operations);

  const by = (name: string) => figures.find((f) => f.name === name)!.requestsPerSecond;
  const me = by("me");
  const users = by("users(pageSize: 100) with roles and permissions");
  const targets: Target[] = [
    {
      name: "logins/s ÷ raw argon2id verifies/s",
      value: by("login") / argonCeiling.requestsPerSecond,
      target: "≥ 0.90",
      met: by("login") >= 0.9 * argonCeiling.requestsPerSecond,
    },
    {
      name: "refreshToken/s (one process, one core)",
      value: by("refreshToken"),
      target: "≥ 1000",
      met: by("refreshToken") >= 1000,
    },
    {
      name: "me ÷ bare { hello }",
      value: me / hello.requestsPerSecond,
      target: "≥ 0.70",
      met: me >= 0.7 * hello.requestsPerSecond,
    },
    {
      name: "users(pageSize: 100) SQL statements",
      value: statements["users(pageSize: 100) with roles and permissions"]!,
      target: "≤ 3",
      met: statements["users(pageSize: 100) with roles and permissions"]! <= 3,
    },
    { name: "users(pageSize: 100) ÷ me", value: users / me, target: "≥ 0.50", met: users >= 0.5 * me },
    {
      name: "two processes ÷ one (me)",
      value: two.requestsPerSecond / me,
      target: "≥ 1.70",
      met: two.requestsPerSecond >= 1.7 * me,
    },
    // No GraphQL to parse, validate or run, the same cached principal as `me`.
    { name: "/auth/verify ÷ me", value: by(VERIFY) / me, target: "≥ 1.50", met: by(VERIFY) >= 1.5 * me },
    { name: "RSS after the run (MB)", value: rss, target: "< 200", met: rss < 200 },
  ];

  const table = [...[argonCeiling, hello], ...figures, two].map((f) => ({
    operation: f.name,
    "req/s": f.requestsPerSecond,
    "p50 ms": f.p50Ms,
    "p99 ms": f.p99Ms,
    errors: f.errors,
    "CPU ms/req": f.serverCpuMsPerRequest ?? "",
    "SQL statements": statements[f.name] ?? "",
  }));
  console.table(table);
  console.table(
    targets.map((t) => ({
      figure: t.name,
      value: Math.round(t.value * 100) / 100,
      target: t.target,
      met: t.met ? "yes" : "NO",
    })),
  );

  const result = {
    date: new Date().toISOString(),
    machine: {
      cpus: os.cpus().length,
      model: os.cpus()[0]?.model,
      memoryGb: Math.round(os.totalmem() / 2 ** 30),
      node: process.version,
    },
    settings: { durationSeconds: DURATION, connections: CONNECTIONS, argon2: ARGON },
    ceilings: [argonCeiling, hello],
    figures: [...figures, two],
    statements,
    memory: { rssAtEndMb: rss, lowestRssWhileIdleMb: settledRss, idleSeconds: SETTLE_SECONDS },
    targets,
    seconds: Math.round((Date.now() - started) / 1000),
  };
  const file = path.join(root, "bench", "results", `${result.date.slice(0, 10)}.json`);
  fs.writeFileSync(file, JSON.stringify(result, null, 2) + "\n");
  process.stdout.write(`Wrote ${path.relative(root, file)} (${result.seconds} s)\n`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
