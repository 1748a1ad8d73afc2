/**
 * prisma/schema.prisma and the hand-written SQL migrations must describe the same database: the Prisma
 * client is generated from the one, the database is built from the other. This migrates a fresh
 * PostgreSQL database and compares what it holds with Prisma's data model, both ways.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import internals from "@prisma/internals";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase, type Database } from "../src/platform/db/database.js";
import { migrate } from "../src/platform/db/migrator.js";
import { createScratchDatabase, postgresAvailable, type ScratchDatabase } from "./support/databases.js";

const { getDMMF } = internals;

const SCHEMA = path.resolve(import.meta.dirname, "../prisma/schema.prisma");
const dmmf = await getDMMF({ datamodel: fs.readFileSync(SCHEMA, "utf8") });
const { models, enums, indexes } = dmmf.datamodel;

type Model = (typeof models)[number];
type Field = Model["fields"][number];

/**
 * Indexes on expressions, which Prisma's schema language cannot declare: each lives only in its
 * migration, which says why.
 */
const EXPRESSION_INDEXES = new Set(["roles_organization_id_normalized_name_key"]);

/** PostgreSQL's limit on identifiers, to which Prisma truncates the names it derives. */
const MAX_IDENTIFIER = 63;

const tableOf = (model: Model): string => model.dbName ?? model.name;
const columnOf = (field: Field): string => field.dbName ?? field.name;
const isColumn = (field: Field): boolean => field.kind === "scalar" || field.kind === "enum";

function modelNamed(name: string): Model {
  const model = models.find((m) => m.name === name);
  if (!model) throw new Error(`no model ${name} in the Prisma schema`);
  return model;
}

function fieldNamed(model: Model, name: string): Field {
  const field = model.fields.find((f) => f.name === name);
  if (!field) throw new Error(`no field ${model.name}.${name} in the Prisma schema`);
  return field;
}

function enumNamed(name: string) {
  const found = enums.find((e) => e.name === name);
  if (!found) throw new Error(`no enum ${name} in the Prisma schema`);
  return found;
}

/** Prisma's default constraint and index names: `<table>_<columns>_<suffix>`, truncated to fit. */
function defaultName(table: string, columns: readonly string[], suffix: string): string {
  const base = columns.length ? `${table}_${columns.join("_")}` : table;
  return `${base.slice(0, MAX_IDENTIFIER - suffix.length - 1)}_${suffix}`;
}

interface ExpectedType {
  dataType: string;
  udtName?: string;
  datetimePrecision?: number;
  maxLength?: number;
}

/** The column type Prisma Migrate would create for a scalar or enum field. */
function expectedType(field: Field): ExpectedType {
  // A list of text (api_keys.permissions): text[], NOT NULL, as the migrations make it.
  if (field.isList && field.type === "String" && !field.nativeType) return { dataType: "ARRAY", udtName: "_text" };
  if (field.isList) throw new Error(`${field.name}: list fields are not handled by this test; extend it`);
  if (field.kind === "enum") return { dataType: "USER-DEFINED", udtName: enumNamed(field.type).dbName ?? field.type };
  const [native, args = []] = field.nativeType ?? [undefined, []];
  const arg = args[0] === undefined ? undefined : Number(args[0]);
  switch (`${field.type}:${native ?? ""}`) {
    case "String:":
    case "String:Text":
      return { dataType: "text" };
    case "String:Uuid":
      return { dataType: "uuid" };
    case "String:VarChar":
      return { dataType: "character varying", maxLength: arg };
    case "Boolean:":
      return { dataType: "boolean" };
    case "Int:":
    case "Int:Integer":
      return { dataType: "integer" };
    case "BigInt:":
      return { dataType: "bigint" };
    case "Float:":
      return { dataType: "double precision" };
    case "Json:":
      return { dataType: "jsonb" };
    case "Bytes:":
      return { dataType: "bytea" };
    case "DateTime:Timestamptz":
      return { dataType: "timestamp with time zone", datetimePrecision: arg ?? 3 };
    case "DateTime:":
    case "DateTime:Timestamp":
      return { dataType: "timestamp without time zone", datetimePrecision: arg ?? 3 };
    default:
      throw new Error(`${field.name}: no expected column type for ${field.type} @db.${native}; extend this test`);
  }
}

const sqlString = (value: string): string => `'${value.replaceAll("'", "''")}'`;

/** The `column_default` PostgreSQL reports for a field's `@default`, or null when none belongs in the database. */
function expectedDefault(field: Field): string | null {
  const value = field.default;
  if (value === undefined) return null;
  if (Array.isArray(value)) throw new Error(`${field.name}: list defaults are not handled by this test; extend it`);
  if (typeof value === "object") {
    const fn = value as { name: string; args: readonly (string | number)[] };
    if (fn.name === "now") return "CURRENT_TIMESTAMP";
    if (fn.name === "dbgenerated") return String(fn.args[0]);
    // Generated by the Prisma client, not the database.
    if (["uuid", "cuid", "nanoid", "ulid"].includes(fn.name)) return null;
    throw new Error(`${field.name}: no expected default for ${fn.name}(); extend this test`);
  }
  if (field.kind === "enum") return `${sqlString(String(value))}::${enumNamed(field.type).dbName ?? field.type}`;
  if (typeof value === "string") return `${sqlString(value)}::text`;
  return String(value);
}

/** Prisma's referential actions as `pg_constraint.confdeltype` / `confupdtype` letters. */
const ACTION_CODES: Record<string, string> = {
  Cascade: "c",
  Restrict: "r",
  NoAction: "a",
  SetNull: "n",
  SetDefault: "d",
};

interface ColumnInfo {
  table_name: string;
  column_name: string;
  data_type: string;
  udt_name: string;
  is_nullable: "YES" | "NO";
  datetime_precision: number | null;
  character_maximum_length: number | null;
  column_default: string | null;
}

interface IndexInfo {
  table: string;
  name: string;
  unique: boolean;
  primary: boolean;
  columns: string[];
  /** Per column; bit 1 set means DESC. */
  options: number[];
  expressions: boolean;
  partial: boolean;
}

interface ForeignKeyInfo {
  table: string;
  name: string;
  columns: string[];
  ref_table: string;
  ref_columns: string[];
  on_delete: string;
  on_update: string;
}

interface Snapshot {
  tables: string[];
  columns: ColumnInfo[];
  indexes: IndexInfo[];
  enums: Map<string, string[]>;
  foreignKeys: ForeignKeyInfo[];
}

async function introspect(db: Database): Promise<Snapshot> {
  return db.withSession(async (s) => {
    const tables = await s.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`,
    );
    const columns = await s.query<ColumnInfo>(
      `SELECT table_name, column_name, data_type, udt_name, is_nullable, datetime_precision,
              character_maximum_length, column_default
         FROM information_schema.columns WHERE table_schema = 'public'`,
    );
    const indexRows = await s.query<IndexInfo>(
      `SELECT t.relname::text AS "table", i.relname::text AS "name", ix.indisunique AS "unique",
              ix.indisprimary AS "primary",
              array(SELECT a.attname::text
                      FROM unnest(ix.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
                      JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
                     ORDER BY k.ord) AS "columns",
              ix.indoption::int2[] AS "options",
              ix.indexprs IS NOT NULL AS "expressions", ix.indpred IS NOT NULL AS "partial"
         FROM pg_index ix
         JOIN pg_class t ON t.oid = ix.indrelid
         JOIN pg_class i ON i.oid = ix.indexrelid
         JOIN pg_namespace n ON n.oid = t.relnamespace
        WHERE n.nspname = 'public'`,
    );
    const enumRows = await s.query<{ name: string; labels: string[] }>(
      `SELECT t.typname::text AS "name", array_agg(e.enumlabel::text ORDER BY e.enumsortorder) AS "labels"
         FROM pg_type t
         JOIN pg_enum e ON e.enumtypid = t.oid
         JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE n.nspname = 'public'
        GROUP BY t.typname`,
    );
    const foreignKeys = await s.query<ForeignKeyInfo>(
      `SELECT t.relname::text AS "table", c.conname::text AS "name", rt.relname::text AS "ref_table",
              array(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord)
                      JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum ORDER BY k.ord)
                AS "columns",
              array(SELECT a.attname::text FROM unnest(c.confkey) WITH ORDINALITY AS k(attnum, ord)
                      JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.attnum ORDER BY k.ord)
                AS "ref_columns",
              c.confdeltype::text AS "on_delete", c.confupdtype::text AS "on_update"
         FROM pg_constraint c
         JOIN pg_class t ON t.oid = c.conrelid
         JOIN pg_class rt ON rt.oid = c.confrelid
         JOIN pg_namespace n ON n.oid = t.relnamespace
        WHERE c.contype = 'f' AND n.nspname = 'public'`,
    );
    return {
      tables: tables.map((t) => t.table_name),
      columns,
      indexes: indexRows,
      enums: new Map(enumRows.map((e) => [e.name, e.labels])),
      foreignKeys,
    };
  });
}

const pgUp = await postgresAvailable();
if (!pgUp) {
  console.warn(
    "test/schema-drift.test.ts: PostgreSQL is unreachable, so the schema drift tests are skipped " +
      "(set KAFKEY_TEST_REQUIRE_SERVICES=1 to make that a failure).",
  );
}

describe.skipIf(!pgUp)("prisma/schema.prisma and the SQL migrations", () => {
  let scratch: ScratchDatabase | undefined;
  let db: Database | undefined;
  let live: Snapshot;

  beforeAll(async () => {
    scratch = await createScratchDatabase();
    db = await openDatabase({
      dataDir: os.tmpdir(),
      database: {
        url: scratch.url,
        poolSize: 1,
        idleTimeoutMs: 10_000,
        statementTimeoutMs: 15_000,
        connectTimeoutMs: 5_000,
      },
    });
    await migrate(db);
    live = await introspect(db);
  });

  afterAll(async () => {
    await db?.close();
    await scratch?.drop();
  });

  const columnsOf = (table: string) => live.columns.filter((c) => c.table_name === table);
  const indexesOf = (table: string) => live.indexes.filter((i) => i.table === table);

  it("has the data model to compare", () => {
    expect(models.length).toBeGreaterThan(0);
  });

  it("creates a table for every model", () => {
    const missing = models.filter((m) => !live.tables.includes(tableOf(m))).map((m) => `${m.name} (${tableOf(m)})`);
    expect(missing, "models without a table").toEqual([]);
  });

  it("creates no table the schema lacks, other than Prisma Migrate's own bookkeeping", () => {
    const known = new Set([...models.map(tableOf), "_prisma_migrations"]);
    expect(live.tables.filter((t) => !known.has(t)).sort(), "tables no model maps").toEqual([]);
  });

  it("gives every scalar and enum field a column of a compatible type and the same nullability", () => {
    const problems: string[] = [];
    for (const model of models) {
      const columns = columnsOf(tableOf(model));
      for (const field of model.fields.filter(isColumn)) {
        const where = `${model.name}.${field.name} (${tableOf(model)}.${columnOf(field)})`;
        const column = columns.find((c) => c.column_name === columnOf(field));
        if (!column) {
          problems.push(`${where}: no such column`);
          continue;
        }
        const expected = expectedType(field);
        const actual: ExpectedType = { dataType: column.data_type };
        if (expected.udtName !== undefined) actual.udtName = column.udt_name;
        if (expected.datetimePrecision !== undefined) actual.datetimePrecision = column.datetime_precision ?? undefined;
        if (expected.maxLength !== undefined) actual.maxLength = column.character_maximum_length ?? undefined;
        if (JSON.stringify(actual) !== JSON.stringify(expected)) {
          problems.push(`${where}: type ${JSON.stringify(actual)}, the schema says ${JSON.stringify(expected)}`);
        }
        const nullable = column.is_nullable === "YES";
        if (nullable === field.isRequired) {
          problems.push(
            `${where}: ${nullable ? "NULL" : "NOT NULL"}, the schema says ${field.isRequired ? "required" : "optional"}`,
          );
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it("has no column that the Prisma model lacks", () => {
    const problems: string[] = [];
    for (const model of models) {
      const mapped = new Set(model.fields.filter(isColumn).map(columnOf));
      for (const column of columnsOf(tableOf(model))) {
        if (!mapped.has(column.column_name)) {
          problems.push(`${model.name} (${tableOf(model)}): column ${column.column_name} is not in the model`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it("gives every column the default the schema declares, and none it does not", () => {
    const problems: string[] = [];
    for (const model of models) {
      const columns = columnsOf(tableOf(model));
      for (const field of model.fields.filter(isColumn)) {
        const column = columns.find((c) => c.column_name === columnOf(field));
        if (!column) continue; // reported by the column test
        const expected = expectedDefault(field);
        if (column.column_default !== expected) {
          problems.push(
            `${model.name}.${field.name}: default ${column.column_default ?? "none"}, the schema says ${expected ?? "none"}`,
          );
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it("creates every @id, @unique and @@index over exactly those columns, in order, with Prisma's names", () => {
    const problems: string[] = [];
    for (const index of indexes) {
      const model = modelNamed(index.model);
      const table = tableOf(model);
      const columns = index.fields.map((f) => columnOf(fieldNamed(model, f.name)));
      const descending = index.fields.map((f) => f.sortOrder === "desc");
      const where = `${model.name} ${index.type} index on (${index.fields.map((f) => f.name).join(", ")})`;
      if (index.type === "fulltext") {
        problems.push(`${where}: fulltext indexes do not exist on PostgreSQL`);
        continue;
      }
      const suffix = { id: "pkey", unique: "key", normal: "idx" }[index.type];
      const name = index.dbName ?? defaultName(table, index.type === "id" ? [] : columns, suffix);
      const found = indexesOf(table).filter(
        (i) =>
          !i.expressions &&
          !i.partial &&
          JSON.stringify(i.columns) === JSON.stringify(columns) &&
          JSON.stringify(i.options.map((o) => (o & 1) === 1)) === JSON.stringify(descending),
      );
      const match = found.find((i) =>
        index.type === "id" ? i.primary : index.type === "unique" ? i.unique && !i.primary : !i.unique,
      );
      if (!match) {
        const seen = found.map((i) => `${i.name} (${i.primary ? "primary key" : i.unique ? "unique" : "non-unique"})`);
        problems.push(
          `${where}: no such ${index.type} index on ${table}(${columns.join(", ")}); found ${seen.join(", ") || "none"}`,
        );
      } else if (match.name !== name) {
        problems.push(`${where}: named ${match.name}, Prisma expects ${name}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it("has no index the schema does not declare", () => {
    const declared = new Set(
      indexes.map((index) => {
        const model = modelNamed(index.model);
        return `${tableOf(model)}(${index.fields.map((f) => columnOf(fieldNamed(model, f.name))).join(",")})`;
      }),
    );
    const known = new Set(models.map(tableOf));
    const undeclared = live.indexes
      .filter((i) => !(i.expressions && EXPRESSION_INDEXES.has(i.name)))
      .filter((i) => known.has(i.table) && !declared.has(`${i.table}(${i.columns.join(",")})`))
      .map((i) => `${i.name} on ${i.table}(${i.columns.join(", ")})`);
    expect(undeclared).toEqual([]);
  });

  it("creates every enum with the same values in the same order, and no other", () => {
    const problems: string[] = [];
    for (const e of enums) {
      const type = e.dbName ?? e.name;
      const labels = live.enums.get(type);
      const values = e.values.map((v) => v.dbName ?? v.name);
      if (!labels) problems.push(`enum ${e.name}: no type ${type}`);
      else if (JSON.stringify(labels) !== JSON.stringify(values)) {
        problems.push(`enum ${e.name} (${type}): values ${labels.join(", ")}, the schema says ${values.join(", ")}`);
      }
    }
    const declared = new Set(enums.map((e) => e.dbName ?? e.name));
    for (const type of live.enums.keys())
      if (!declared.has(type)) problems.push(`enum type ${type} is not in the schema`);
    expect(problems).toEqual([]);
  });

  it("creates the foreign key of every relation, with its referential actions, and no other", () => {
    const problems: string[] = [];
    const expected = new Set<string>();
    for (const model of models) {
      const table = tableOf(model);
      for (const field of model.fields.filter((f) => f.kind === "object" && f.relationFromFields?.length)) {
        const where = `${model.name}.${field.name}`;
        const target = modelNamed(field.type);
        const columns = field.relationFromFields!.map((f) => columnOf(fieldNamed(model, f)));
        const refColumns = (field.relationToFields ?? []).map((f) => columnOf(fieldNamed(target, f)));
        const name = defaultName(table, columns, "fkey");
        expected.add(name);
        const fk = live.foreignKeys.find(
          (k) => k.table === table && JSON.stringify(k.columns) === JSON.stringify(columns),
        );
        if (!fk) {
          problems.push(`${where}: no foreign key on ${table}(${columns.join(", ")})`);
          continue;
        }
        if (fk.name !== name) problems.push(`${where}: foreign key named ${fk.name}, Prisma expects ${name}`);
        if (fk.ref_table !== tableOf(target) || JSON.stringify(fk.ref_columns) !== JSON.stringify(refColumns)) {
          problems.push(
            `${where}: references ${fk.ref_table}(${fk.ref_columns.join(", ")}), ` +
              `the schema says ${tableOf(target)}(${refColumns.join(", ")})`,
          );
        }
        const required = field.relationFromFields!.every((f) => fieldNamed(model, f).isRequired);
        const onDelete = field.relationOnDelete ?? (required ? "Restrict" : "SetNull");
        const onUpdate = field.relationOnUpdate ?? "Cascade";
        if (fk.on_delete !== ACTION_CODES[onDelete]) {
          problems.push(`${where}: ON DELETE '${fk.on_delete}', the schema says ${onDelete}`);
        }
        if (fk.on_update !== ACTION_CODES[onUpdate]) {
          problems.push(`${where}: ON UPDATE '${fk.on_update}', the schema says ${onUpdate}`);
        }
      }
    }
    const known = new Set(models.map(tableOf));
    for (const fk of live.foreignKeys) {
      if (known.has(fk.table) && !expected.has(fk.name)) {
        problems.push(`foreign key ${fk.name} on ${fk.table}(${fk.columns.join(", ")}) is not in the schema`);
      }
    }
    expect(problems).toEqual([]);
  });

  it("indexes every foreign key: some index on its table starts with its columns", () => {
    const problems: string[] = [];
    for (const model of models) {
      const table = tableOf(model);
      for (const field of model.fields.filter((f) => f.kind === "object" && f.relationFromFields?.length)) {
        const columns = field.relationFromFields!.map((f) => columnOf(fieldNamed(model, f)));
        const covered = indexesOf(table).some(
          (i) => !i.partial && JSON.stringify(i.columns.slice(0, columns.length)) === JSON.stringify(columns),
        );
        if (!covered) {
          problems.push(
            `${model.name}.${field.name}: no index on ${table} starts with (${field.relationFromFields!.join(", ")}) ` +
              `= (${columns.join(", ")})`,
          );
        }
      }
    }
    expect(problems).toEqual([]);
  });
});
