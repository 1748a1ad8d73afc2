import fs from "node:fs";
import path from "node:path";
import pg from "pg";
import type { PGlite } from "@electric-sql/pglite";
import { PrismaPg } from "@prisma/adapter-pg";
import type { PrismaPGlite } from "pglite-prisma-adapter";
import { type Prisma, PrismaClient } from "../../generated/prisma/client.js";
import type { Config } from "../../config.js";
import type { Logger } from "../observability/logger.js";
import { refuseAbandonedRequest } from "../observability/request-context.js";
import { type ListenHandlers, type Listening, listenPglite, listenPostgres } from "./listener.js";

export { Prisma, PrismaClient } from "../../generated/prisma/client.js";

/** One connection's worth of raw SQL, for the migrator and health checks. */
export interface SqlSession {
  query<Row = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<Row[]>;
  /** Runs a script of several statements (no parameters). */
  exec(script: string): Promise<void>;
}

export interface Database {
  kind: "postgres" | "pglite";
  prisma: PrismaClient;
  /** Connections of the pool (PostgreSQL only; PGlite is one in-process connection). */
  poolStats?(): { total: number; idle: number; waiting: number };
  /** Runs `fn` on one dedicated connection, released afterwards. */
  withSession<T>(fn: (session: SqlSession) => Promise<T>): Promise<T>;
  /** `LISTEN`s on `channel` (PostgreSQL `NOTIFY`, sent at commit by whoever announces on it). */
  listen(channel: string, handlers: ListenHandlers, log: Logger): Promise<Listening>;
  close(): Promise<void>;
}

export type QueryListener = (sql: string) => void;

/** Whether `error` is Prisma's unique-constraint violation (P2002): someone else wrote the row first. */
export function isUniqueViolation(error: unknown): boolean {
  return (error as { code?: unknown } | undefined)?.code === "P2002";
}

/** A LIKE pattern matching `text` literally: Prisma's `contains` does not escape `%` and `_`. */
export function likeLiteral(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/**
 * Locks a row until the transaction ends: concurrent changes of it queue, so what each reads before
 * changing it (the "before" of an audit event, the admins left) is still true when it commits.
 */
export async function lockRow(
  tx: Prisma.TransactionClient,
  table: "users" | "roles" | "organizations",
  id: string,
): Promise<void> {
  await tx.$queryRawUnsafe(`SELECT 1 FROM "${table}" WHERE "id" = $1::uuid FOR UPDATE`, id);
}

/** A client that tells `onQuery` of every statement it sends. */
function countingClient(adapter: PrismaPg | PrismaPGlite, onQuery: QueryListener): PrismaClient {
  const client = new PrismaClient({ adapter, log: [{ emit: "event", level: "query" }] });
  client.$on("query", (event) => onQuery(event.query));
  return client;
}

function prismaClient(adapter: PrismaPg | PrismaPGlite, onQuery?: QueryListener): PrismaClient {
  const client = onQuery ? countingClient(adapter, onQuery) : new PrismaClient({ adapter });
  // A request past its deadline, or whose client has gone, sends no further statement (inside a
  // transaction too, which then rolls back): its work stops rather than commits unseen.
  return client.$extends({
    query: {
      $allOperations({ args, query }) {
        refuseAbandonedRequest();
        return query(args);
      },
    },
  }) as unknown as PrismaClient;
}

/**
 * Opens PostgreSQL through `@prisma/adapter-pg` when `DATABASE_URL` is set, otherwise embedded PGlite
 * persisted under the data dir.
 * @param onQuery called with every SQL statement Prisma sends (tests count them).
 */
export async function openDatabase(
  config: Pick<Config, "database" | "dataDir">,
  onQuery?: QueryListener,
): Promise<Database> {
  const { database } = config;
  if (database.url) {
    const pool = new pg.Pool({
      connectionString: database.url,
      max: database.poolSize,
      idleTimeoutMillis: database.idleTimeoutMs,
      connectionTimeoutMillis: database.connectTimeoutMs,
      statement_timeout: database.statementTimeoutMs,
      application_name: "kafkey",
      // The adapter exchanges timestamps as UTC without a zone: the session must read them as UTC too.
      options: "-c TimeZone=UTC",
    });
    // An idle connection closed by the server (restart, failover) is dropped by the pool and the next
    // query opens another; without a listener its error would end the process.
    pool.on("error", () => undefined);
    const prisma = prismaClient(new PrismaPg(pool), onQuery);
    return {
      kind: "postgres",
      prisma,
      poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
      listen: async (channel, handlers, log) =>
        listenPostgres(
          {
            connectionString: database.url,
            connectionTimeoutMillis: database.connectTimeoutMs,
            application_name: "kafkey-listen",
            // TCP keep-alive notices a connection cut without a reset; notifications missed meanwhile are flushed.
            keepAlive: true,
            keepAliveInitialDelayMillis: 10_000,
          },
          channel,
          handlers,
          log,
        ),
      async withSession(fn) {
        const client = await pool.connect();
        // A checked-out client is no longer the pool's to watch: a crash's "Connection terminated
        // unexpectedly" would be an unhandled 'error' event, which ends the process. The query in
        // flight rejects anyway; the broken connection is destroyed, not given back.
        let broken: Error | undefined;
        const onError = (error: Error) => void (broken = error);
        client.on("error", onError);
        try {
          return await fn({
            query: async (sql, params) => (await client.query(sql, params)).rows,
            exec: async (script) => void (await client.query(script)),
          });
        } finally {
          client.off("error", onError);
          client.release(broken);
        }
      },
      async close() {
        await prisma.$disconnect();
        await pool.end();
      },
    };
  }

  const dir = path.join(config.dataDir, "pglite");
  fs.mkdirSync(dir, { recursive: true });
  // Loaded only here: a deployment on PostgreSQL does not carry PGlite's memory.
  const { PGlite } = await import("@electric-sql/pglite");
  return openPglite(await PGlite.create(dir), onQuery);
}

/** Embedded PostgreSQL (PGlite); in memory when `dataDir` is `memory://`. */
export async function openPglite(pglite: PGlite, onQuery?: QueryListener): Promise<Database> {
  const { PrismaPGlite } = await import("pglite-prisma-adapter");
  const prisma = prismaClient(new PrismaPGlite(pglite), onQuery);
  return {
    kind: "pglite",
    prisma,
    // PGlite is a single connection: sessions are serialised by PGlite itself.
    listen: (channel, handlers) => listenPglite(pglite, channel, handlers),
    withSession: (fn) =>
      fn({
        query: async (sql, params) => (await pglite.query(sql, params)).rows as never[],
        exec: async (script) => void (await pglite.exec(script)),
      }),
    async close() {
      await prisma.$disconnect();
      await pglite.close();
    },
  };
}
