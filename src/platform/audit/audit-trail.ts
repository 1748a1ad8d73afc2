import { randomUUID } from "node:crypto";
import { Prisma, type PrismaClient } from "../db/database.js";
import { currentRequestContext } from "../observability/request-context.js";
import { type AuditChange, type AuditEvent, type AuditOutcome, type AuditTarget, toStored } from "./audit-event.js";

/** What a service says about an action; the trail adds the id, the time and the request's origin. */
export interface AuditEntry {
  action: string;
  /** @default "success" */
  outcome?: AuditOutcome;
  /** Who acted, when known: the signed-in caller, or the account a login was for. */
  actor?: { id: string | null; email: string | null };
  target?: AuditTarget;
  changes?: AuditChange[];
  /** The organization it happened in, if any. */
  organizationId?: string | null;
}

/** An action a user did to their own account. */
export function onOwnAccount(action: string, user: { id: string; email: string }): AuditEntry {
  return { action, actor: { id: user.id, email: user.email }, target: { type: "user", id: user.id } };
}

/** The Prisma client, or the transaction of the change an entry describes. */
export type AuditWriter = Pick<Prisma.TransactionClient, "auditOutbox">;

/**
 * Records audit events into the outbox, from where the dispatcher delivers them to the sink. Given the
 * transaction of the change it describes, an event commits or rolls back with that change: no change
 * goes unrecorded, and no event describes a change that did not happen.
 */
export class AuditTrail {
  constructor(
    private readonly prisma: PrismaClient,
    /** Called after each record, so the dispatcher can deliver soon. */
    private readonly onRecorded: () => void = () => undefined,
  ) {}

  /** @param tx the transaction of the change; without one, the event is recorded on its own. */
  async record(entry: AuditEntry, tx: AuditWriter = this.prisma): Promise<void> {
    const event = this.eventOf(entry);
    await tx.auditOutbox.create({
      data: { id: event.id, event: toStored(event) as unknown as Prisma.InputJsonObject },
    });
    this.onRecorded();
  }

  /**
   * `entry` as an insert into the outbox, for a change made in one statement: a member of its `WITH`,
   * so that the event commits with it. Call `recorded()` once the statement has run.
   */
  outboxInsert(entry: AuditEntry): Prisma.Sql {
    const event = this.eventOf(entry);
    // created_at and available_at by the database's clock, which the dispatcher compares them with.
    return Prisma.sql`INSERT INTO "audit_outbox" ("id", "event")
      VALUES (${event.id}::uuid, ${JSON.stringify(toStored(event))}::jsonb)`;
  }

  /** An `outboxInsert()` has committed: the dispatcher may deliver it. */
  recorded(): void {
    this.onRecorded();
  }

  /** The event `entry` describes, from the request being served. */
  private eventOf(entry: AuditEntry): AuditEvent {
    const request = currentRequestContext();
    return {
      id: randomUUID(),
      at: new Date(),
      action: entry.action,
      outcome: entry.outcome ?? "success",
      actor: {
        id: entry.actor?.id ?? null,
        email: entry.actor?.email ?? null,
        ip: request?.ip ?? null,
        userAgent: request?.userAgent ?? null,
      },
      target: entry.target ?? null,
      changes: entry.changes ?? [],
      requestId: request?.requestId ?? null,
      organizationId: entry.organizationId ?? null,
    };
  }
}
