import { createHash, randomUUID } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { afterEach, describe, expect, it } from "vitest";
import { openDatabase, openPglite, type Database } from "../src/platform/db/database.js";
import { MIGRATIONS_DIR, MigrationError, migrate, readMigrations } from "../src/platform/db/migrator.js";
import { createScratchDatabase, postgresAvailable } from "./support/databases.js";
import { PERMISSION_CATALOG } from "../src/kernel/permission-catalog.js";

/** Located from this file, independently of the migrator's own `MIGRATIONS_DIR`. */
const MIGRATIONS = path.resolve(import.meta.dirname, "../prisma/migrations");

/** The migration folders on disk, oldest first. */
function migrationNames(dir = MIGRATIONS): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
}

/** sha256 hex of migration.sql's bytes: what Prisma Migrate stores as the checksum. */
function checksumOf(name: string, dir = MIGRATIONS): string {
  return createHash("sha256")
    .update(fs.readFileSync(path.join(dir, name, "migration.sql")))
    .digest("hex");
}

interface MigrationRow {
  id: string;
  migration_name: string;
  checksum: string;
  started_at: Date;
  finished_at: Date | null;
  rolled_back_at: Date | null;
  applied_steps_count: number;
  logs: string | null;
}

function migrationRows(db: Database): Promise<MigrationRow[]> {
  return db.withSession((s) =>
    s.query<MigrationRow>(
      `SELECT "id", "migration_name", "checksum", "started_at", "finished_at", "rolled_back_at",
              "applied_steps_count", "logs"
         FROM "_prisma_migrations" ORDER BY "migration_name"`,
    ),
  );
}

async function tableExists(db: Database, table: string): Promise<boolean> {
  const [row] = await db.withSession((s) =>
    s.query<{ found: string | null }>(`SELECT to_regclass($1)::text AS found`, [`public."${table}"`]),
  );
  return row?.found != null;
}

/** The seed of the init migration: the permission catalog and the two system roles. */
async function expectSeed(db: Database): Promise<void> {
  const permissions = await db.withSession((s) =>
    s.query<{ key: string }>(`SELECT "key" FROM "permissions" ORDER BY "key"`),
  );
  expect(permissions.map((p) => p.key)).toEqual(expect.arrayContaining([...PERMISSION_CATALOG]));

  const roles = await db.withSession((s) =>
    s.query<{ name: string; is_system: boolean }>(
      `SELECT "name", "is_system" FROM "roles" WHERE "name" IN ('admin', 'user') ORDER BY "name"`,
    ),
  );
  expect(roles).toEqual([
    { name: "admin", is_system: true },
    { name: "user", is_system: true },
  ]);

  const adminGrants = await db.withSession((s) =>
    s.query<{ key: string }>(
      `SELECT p."key" FROM "role_permissions" rp
         JOIN "roles" r ON r."id" = rp."role_id"
         JOIN "permissions" p ON p."id" = rp."permission_id"
        WHERE r."name" = 'admin'`,
    ),
  );
  expect(adminGrants.map((g) => g.key)).toContain("*");
}

const pgUp = await postgresAvailable();
if (!pgUp) {
  console.warn(
    "test/migrations.test.ts: PostgreSQL is unreachable, so the PostgreSQL migration tests are skipped " +
      "(set KAFKEY_TEST_REQUIRE_SERVICES=1 to make that a failure); the PGlite test still runs.",
  );
}

describe.skipIf(!pgUp)("the migrator on PostgreSQL", () => {
  /** Run after each test, last registered first: databases closed before their scratch database is dropped. */
  let cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    const pending = cleanups.reverse();
    cleanups = [];
    const failures: unknown[] = [];
    for (const cleanup of pending)
      await Promise.resolve()
        .then(cleanup)
        .catch((e: unknown) => failures.push(e));
    if (failures.length) throw failures[0];
  });

  async function scratchUrl(): Promise<string> {
    const scratch = await createScratchDatabase();
    cleanups.push(() => scratch.drop());
    return scratch.url;
  }

  async function open(url: string, statementTimeoutMs = 15_000): Promise<Database> {
    const db = await openDatabase({
      dataDir: os.tmpdir(),
      database: { url, poolSize: 2, idleTimeoutMs: 10_000, statementTimeoutMs, connectTimeoutMs: 5_000 },
    });
    cleanups.push(() => db.close());
    return db;
  }

  /** A copy of prisma/migrations that a test may change. */
  function copyOfMigrations(): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kafkey-migrations-"));
    fs.cpSync(MIGRATIONS, dir, { recursive: true });
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    return dir;
  }

  it("applies every migration to a fresh database and records each exactly as Prisma Migrate does", async () => {
    const names = migrationNames();
    expect(names.length).toBeGreaterThan(0);
    expect(path.resolve(MIGRATIONS_DIR)).toBe(MIGRATIONS);
    expect((await readMigrations()).map((m) => m.name)).toEqual(names);

    const db = await open(await scratchUrl());
    const before = new Date();
    expect(await migrate(db)).toEqual(names);

    const rows = await migrationRows(db);
    expect(rows.map((r) => r.migration_name)).toEqual(names);
    for (const row of rows) {
      const name = row.migration_name;
      expect(row.checksum, `checksum of ${name}`).toBe(checksumOf(name));
      expect(row.checksum, `checksum of ${name}`).toMatch(/^[0-9a-f]{64}$/);
      expect(row.id, `id of ${name}`).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect(row.finished_at, `finished_at of ${name}`).toBeInstanceOf(Date);
      expect(row.finished_at!.getTime(), `finished_at of ${name}`).toBeGreaterThanOrEqual(row.started_at.getTime());
      expect(row.started_at.getTime(), `started_at of ${name}`).toBeGreaterThanOrEqual(before.getTime() - 60_000);
      expect(row.rolled_back_at, `rolled_back_at of ${name}`).toBeNull();
      expect(row.applied_steps_count, `applied_steps_count of ${name}`).toBe(1);
      expect(row.logs, `logs of ${name}`).toBeNull();
    }

    expect(await migrate(db)).toEqual([]);
    expect(await migrationRows(db)).toEqual(rows);
  });

  it("seeds the permission catalog and the system roles, admin holding `*`", async () => {
    const db = await open(await scratchUrl());
    await migrate(db);
    await expectSeed(db);
  });

  it("refuses to run, applying nothing, when an applied migration's file has changed", async () => {
    const dir = copyOfMigrations();
    const db = await open(await scratchUrl());
    const names = migrationNames(dir);
    expect(await migrate(db, dir)).toEqual(names);
    const rowsBefore = await migrationRows(db);

    // Change the applied migration, and add a new one that must not be applied either.
    const changed = names[0]!;
    fs.appendFileSync(path.join(dir, changed, "migration.sql"), "\n-- edited after it was applied\n");
    fs.mkdirSync(path.join(dir, "29990101000000_after_edit"));
    fs.writeFileSync(
      path.join(dir, "29990101000000_after_edit", "migration.sql"),
      `CREATE TABLE "after_edit" (id int);`,
    );

    const attempt = migrate(db, dir);
    await expect(attempt).rejects.toBeInstanceOf(MigrationError);
    await expect(attempt).rejects.toThrow(changed);
    expect(await migrationRows(db)).toEqual(rowsBefore);
    expect(await tableExists(db, "after_edit")).toBe(false);
  });

  // Regression: migrations ran under the application's statement timeout, so a slow migration, or an
  // instance waiting for another's lock, failed at start-up.
  it("is not cut short by the application's statement timeout, and the pool keeps that timeout", async () => {
    const dir = copyOfMigrations();
    const url = await scratchUrl();
    const slow = "29990101000000_slow";
    fs.mkdirSync(path.join(dir, slow));
    fs.writeFileSync(path.join(dir, slow, "migration.sql"), `SELECT pg_sleep(0.6);`);
    const [a, b] = [await open(url, 300), await open(url, 300)];
    const applied = await Promise.all([migrate(a, dir), migrate(b, dir)]);
    expect(applied.flat().sort()).toEqual([...migrationNames(), slow].sort());
    await expect(a.withSession((session) => session.query("SELECT pg_sleep(0.6)"))).rejects.toThrow(
      /statement timeout/,
    );
  });

  it("rolls a failing migration back as a whole and does not record it; once fixed, it applies", async () => {
    const dir = copyOfMigrations();
    const db = await open(await scratchUrl());
    const broken = "29990101000000_broken";
    const file = path.join(dir, broken, "migration.sql");
    fs.mkdirSync(path.join(dir, broken));
    fs.writeFileSync(file, `CREATE TABLE "half_done" (id int); SELECT * FROM "no_such_table";`);

    const attempt = migrate(db, dir);
    await expect(attempt).rejects.toBeInstanceOf(MigrationError);
    await expect(attempt).rejects.toThrow(broken);
    expect(await tableExists(db, "half_done")).toBe(false);
    const rows = await migrationRows(db);
    expect(rows.map((r) => r.migration_name)).not.toContain(broken);
    // The migrations before it were applied and recorded in their own transactions.
    expect(rows.map((r) => r.migration_name)).toEqual(migrationNames());

    // Non-ASCII text and CRLF: the checksum is of the file's bytes, not of some decoding of them.
    fs.writeFileSync(file, `-- Réparée : « half_done » seule.\r\nCREATE TABLE "half_done" (id int);\r\n`);
    expect(await migrate(db, dir)).toEqual([broken]);
    expect(await tableExists(db, "half_done")).toBe(true);
    const fixed = (await migrationRows(db)).find((r) => r.migration_name === broken);
    expect(fixed?.checksum).toBe(checksumOf(broken, dir));
    expect(fixed?.finished_at).toBeInstanceOf(Date);
  });

  it("commits a migration together with its record: when the record cannot be written, the migration is undone", async () => {
    const dir = copyOfMigrations();
    const db = await open(await scratchUrl());
    await migrate(db, dir);
    const rowsBefore = await migrationRows(db);
    // Its statements all succeed; then recording it fails, because of the constraint it adds.
    const name = "29990101000000_unrecordable";
    fs.mkdirSync(path.join(dir, name));
    fs.writeFileSync(
      path.join(dir, name, "migration.sql"),
      `CREATE TABLE "half_done" (id int);\n` +
        `ALTER TABLE "_prisma_migrations" ADD CONSTRAINT "refuse_records" CHECK (false) NOT VALID;\n`,
    );

    const attempt = migrate(db, dir);
    await expect(attempt).rejects.toBeInstanceOf(MigrationError);
    await expect(attempt).rejects.toThrow(name);
    expect(await tableExists(db, "half_done")).toBe(false);
    expect(await migrationRows(db)).toEqual(rowsBefore);
  });

  it("refuses to run while a migration started and did not finish, until it is marked rolled back", async () => {
    const dir = copyOfMigrations();
    const db = await open(await scratchUrl());
    await migrate(db, dir);
    const name = "29990101000000_interrupted";
    fs.mkdirSync(path.join(dir, name));
    fs.writeFileSync(path.join(dir, name, "migration.sql"), `CREATE TABLE "interrupted" (id int);`);
    // What Prisma Migrate leaves behind when a migration fails half-way.
    await db.withSession((s) =>
      s.query(
        `INSERT INTO "_prisma_migrations" ("id", "checksum", "migration_name", "applied_steps_count")
         VALUES ($1, $2, $3, 0)`,
        [randomUUID(), checksumOf(name, dir), name],
      ),
    );

    const attempt = migrate(db, dir);
    await expect(attempt).rejects.toBeInstanceOf(MigrationError);
    await expect(attempt).rejects.toThrow(name);
    expect(await tableExists(db, "interrupted")).toBe(false);

    // `prisma migrate resolve --rolled-back` sets rolled_back_at; then the migration is applied afresh.
    await db.withSession((s) =>
      s.query(`UPDATE "_prisma_migrations" SET "rolled_back_at" = now() WHERE "migration_name" = $1`, [name]),
    );
    expect(await migrate(db, dir)).toEqual([name]);
    expect(await tableExists(db, "interrupted")).toBe(true);
    const rows = (await migrationRows(db)).filter((r) => r.migration_name === name);
    expect(rows.map((r) => [r.rolled_back_at === null, r.finished_at === null]).sort()).toEqual([
      [false, true],
      [true, false],
    ]);
  });

  it("role names: keeps one of the roles whose names differ only by case or spaces, renames the others, trims", async () => {
    const ROLE_NAMES = "20261201010000_role_names";
    const dir = copyOfMigrations();
    for (const name of migrationNames(dir).filter((n) => n >= ROLE_NAMES)) {
      fs.rmSync(path.join(dir, name), { recursive: true });
    }
    const db = await open(await scratchUrl());
    await migrate(db, dir);
    await db.withSession((s) =>
      s.exec(`INSERT INTO "roles" ("name", "created_at") VALUES
        ('Admin', now()), ('support ', now() - interval '1 day'), ('Support', now()), ('ops  ', now())`),
    );
    expect(await migrate(db)).toEqual(migrationNames().filter((n) => n >= ROLE_NAMES));
    const rows = await db.withSession((s) =>
      s.query<{ name: string; id: string; is_system: boolean }>(`SELECT "id", "name", "is_system" FROM "roles"`),
    );
    const named = (name: string) => rows.filter((r) => r.name === name);
    expect(named("admin")).toEqual([expect.objectContaining({ is_system: true })]);
    const renamedAdmin = rows.find((r) => r.name.startsWith("Admin-"))!;
    expect(renamedAdmin.name).toBe(`Admin-${renamedAdmin.id.slice(0, 8)}`);
    // The oldest keeps the name, trimmed.
    expect(named("support")).toHaveLength(1);
    expect(rows.filter((r) => r.name.startsWith("Support-"))).toHaveLength(1);
    expect(named("ops")).toHaveLength(1);
    const duplicate = db.withSession((s) => s.exec(`INSERT INTO "roles" ("name") VALUES ('OPS')`));
    await expect(duplicate).rejects.toThrow(/roles_organization_id_normalized_name_key/);
  });

  it("applies each migration exactly once when two instances migrate one database at the same moment", async () => {
    const url = await scratchUrl();
    const [a, b] = await Promise.all([open(url), open(url)]);
    const [fromA, fromB] = await Promise.all([migrate(a), migrate(b)]);

    const names = migrationNames();
    expect([...fromA, ...fromB].sort()).toEqual(names);
    expect(fromA.filter((name) => fromB.includes(name))).toEqual([]);
    const rows = await migrationRows(a);
    expect(rows.map((r) => r.migration_name)).toEqual(names);
  });
});

describe("the migrator on embedded PGlite", () => {
  it("applies the same migrations in memory, and the seed is there", async () => {
    const db = await openPglite(new PGlite());
    try {
      const names = migrationNames();
      expect(await migrate(db)).toEqual(names);
      const rows = await migrationRows(db);
      expect(rows.map((r) => [r.migration_name, r.checksum, r.applied_steps_count])).toEqual(
        names.map((name) => [name, checksumOf(name), 1]),
      );
      await expectSeed(db);
      expect(await migrate(db)).toEqual([]);
    } finally {
      await db.close();
    }
  });
});
