import type { Database } from "../db/database.js";
import type { TimeCursor } from "../time-cursor.js";
import type { AuditEvent, AuditFilter, AuditPage, AuditSink } from "./audit-event.js";

const COLUMNS = [
  "id",
  "at",
  "action",
  "outcome",
  "actor_id",
  "actor_email",
  "actor_ip",
  "actor_user_agent",
  "target_type",
  "target_id",
  "changes",
  "request_id",
  "organization_id",
] as const;

interface Row {
  id: string;
  at: Date | string;
  action: string;
  outcome: AuditEvent["outcome"];
  actor_id: string | null;
  actor_email: string | null;
  actor_ip: string | null;
  actor_user_agent: string | null;
  target_type: string | null;
  target_id: string | null;
  changes: AuditEvent["changes"];
  request_id: string | null;
  organization_id: string | null;
}

function toRow(event: AuditEvent): unknown[] {
  return [
    event.id,
    event.at.toISOString(),
    event.action,
    event.outcome,
    event.actor.id,
    event.actor.email,
    event.actor.ip,
    event.actor.userAgent,
    event.target?.type ?? null,
    event.target?.id ?? null,
    JSON.stringify(event.changes),
    event.requestId,
    event.organizationId,
  ];
}

function fromRow(row: Row): AuditEvent {
  return {
    id: row.id,
    at: new Date(row.at),
    action: row.action,
    outcome: row.outcome,
    actor: { id: row.actor_id, email: row.actor_email, ip: row.actor_ip, userAgent: row.actor_user_agent },
    target: row.target_type === null ? null : { type: row.target_type, id: row.target_id },
    changes: row.changes,
    requestId: row.request_id,
    organizationId: row.organization_id,
  };
}

/** The audit trail in the `audit_events` table of Kafkey's own database: the embedded default. */
export class PostgresAuditSink implements AuditSink {
  readonly kind = "postgres";

  constructor(private readonly db: Database) {}

  async write(events: AuditEvent[]): Promise<void> {
    if (events.length === 0) return;
    const params = events.flatMap(toRow);
    const tuples = events.map(
      (_, row) => `(${COLUMNS.map((_c, column) => `$${row * COLUMNS.length + column + 1}`).join(", ")})`,
    );
    await this.db.withSession((s) =>
      s.query(
        `INSERT INTO "audit_events" (${COLUMNS.map((c) => `"${c}"`).join(", ")}) VALUES ${tuples.join(", ")}
         ON CONFLICT ("id") DO NOTHING`,
        params,
      ),
    );
  }

  async find(filter: AuditFilter, first: number, cursor?: TimeCursor): Promise<AuditPage> {
    const params: unknown[] = [];
    const where: string[] = [];
    const condition = (sql: (placeholder: string) => string, value: unknown) => {
      params.push(value);
      where.push(sql(`$${params.length}`));
    };
    if (filter.actorId) condition((p) => `"actor_id" = ${p}::uuid`, filter.actorId);
    if (filter.targetId) condition((p) => `"target_id" = ${p}::uuid`, filter.targetId);
    if (filter.action) condition((p) => `"action" = ${p}`, filter.action);
    if (filter.organizationId) condition((p) => `"organization_id" = ${p}::uuid`, filter.organizationId);
    if (filter.from) condition((p) => `"at" >= ${p}::timestamptz`, filter.from.toISOString());
    if (filter.to) condition((p) => `"at" < ${p}::timestamptz`, filter.to.toISOString());
    if (cursor) {
      params.push(cursor.at.toISOString(), cursor.id);
      where.push(`("at", "id") < ($${params.length - 1}::timestamptz, $${params.length}::uuid)`);
    }
    params.push(first + 1);
    const rows = await this.db.withSession((s) =>
      s.query<Row>(
        `SELECT * FROM "audit_events" ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
         ORDER BY "at" DESC, "id" DESC LIMIT $${params.length}`,
        params,
      ),
    );
    return { events: rows.slice(0, first).map(fromRow), hasNextPage: rows.length > first };
  }

  async ping(): Promise<void> {
    await this.db.withSession((s) => s.query(`SELECT 1 FROM "audit_events" LIMIT 1`));
  }

  async close(): Promise<void> {
    // The database is Kafkey's own, closed with the app.
  }
}
