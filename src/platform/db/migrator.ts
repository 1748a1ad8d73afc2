import { randomUUID } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import { sha256 } from "../hash.js";
import type { Database, SqlSession } from "./database.js";

/** `prisma/migrations`, from `src/platform/db` as from `dist/platform/db`. */
export const MIGRATIONS_DIR = path.resolve(import.meta.dirname, "../../../prisma/migrations");

/** The key Prisma Migrate takes, so that it and this migrator never run at the same time. */
const PRISMA_ADVISORY_LOCK = 72707369;

/** The bookkeeping table exactly as Prisma Migrate creates it. */
const CREATE_MIGRATIONS_TABLE = `
CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

export class MigrationError extends Error {
  override name = "MigrationError";
}

export interface LocalMigration {
  name: string;
  sql: string;
  /** sha256 of migration.sql, hex: the checksum Prisma Migrate records. */
  checksum: string;
}

interface AppliedRow {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
}

/** The migrations on disk, oldest first (their names start with a timestamp). */
export async function readMigrations(dir = MIGRATIONS_DIR): Promise<LocalMigration[]> {
  const entries = await fs.readdir(dir, { withFileTypes: true });
  const names = entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  return Promise.all(
    names.map(async (name) => {
      const sql = await fs.readFile(path.join(dir, name, "migration.sql"));
      return { name, sql: sql.toString("utf8"), checksum: sha256(sql) };
    }),
  );
}

function checkHistory(local: LocalMigration[], applied: AppliedRow[]): void {
  const byName = new Map(local.map((m) => [m.name, m]));
  for (const row of applied) {
    if (row.rolled_back_at) continue;
    if (!row.finished_at) {
      throw new MigrationError(
        `migration ${row.migration_name} started but did not finish; repair the database, then mark it ` +
          `rolled back (\`prisma migrate resolve --rolled-back ${row.migration_name}\`)`,
      );
    }
    const file = byName.get(row.migration_name);
    if (file && file.checksum !== row.checksum) {
      throw new MigrationError(
        `migration ${row.migration_name} was changed after it was applied; restore the applied file ` +
          `and put the change in a new migration`,
      );
    }
  }
}

async function apply(session: SqlSession, migration: LocalMigration): Promise<void> {
  const startedAt = new Date();
  await session.exec("BEGIN");
  try {
    await session.exec(migration.sql);
    await session.query(
      `INSERT INTO "_prisma_migrations" ("id", "checksum", "migration_name", "started_at", "finished_at", "applied_steps_count")
       VALUES ($1, $2, $3, $4, now(), 1)`,
      [randomUUID(), migration.checksum, migration.name, startedAt],
    );
    await session.exec("COMMIT");
  } catch (error) {
    await session.exec("ROLLBACK").catch(() => undefined);
    throw new MigrationError(`migration ${migration.name} failed: ${(error as Error).message}`);
  }
}

/**
 * Applies pending migrations in order, each in its own transaction, recording them in
 * `_prisma_migrations` as Prisma Migrate does, so `prisma migrate deploy` and this are
 * interchangeable. Refuses to run when an applied migration's file has changed. Holds Prisma's
 * advisory lock throughout, so instances starting together apply each migration once.
 * @returns the names of the migrations it applied.
 */
export async function migrate(db: Database, dir = MIGRATIONS_DIR): Promise<string[]> {
  const local = await readMigrations(dir);
  return db.withSession(async (session) => {
    // A migration (an index on a big table) or the wait for another instance's lock may take longer
    // than the application's statement timeout: lift it on this connection while migrating.
    await session.exec("SET statement_timeout = 0");
    await session.query("SELECT pg_advisory_lock($1)", [PRISMA_ADVISORY_LOCK]);
    try {
      await session.exec(CREATE_MIGRATIONS_TABLE);
      const applied = await session.query<AppliedRow>(
        `SELECT "migration_name", "checksum", "finished_at", "rolled_back_at" FROM "_prisma_migrations"`,
      );
      checkHistory(local, applied);
      const done = new Set(applied.filter((r) => r.finished_at && !r.rolled_back_at).map((r) => r.migration_name));
      const pending = local.filter((m) => !done.has(m.name));
      for (const migration of pending) await apply(session, migration);
      return pending.map((m) => m.name);
    } finally {
      await session.query("SELECT pg_advisory_unlock($1)", [PRISMA_ADVISORY_LOCK]);
      await session.exec("RESET statement_timeout");
    }
  });
}
