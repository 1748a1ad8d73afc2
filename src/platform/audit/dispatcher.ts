import type { Database } from "../db/database.js";
import { settleWithin } from "../settle-within.js";
import type { Logger } from "../observability/logger.js";
import type { Metrics } from "../observability/metrics.js";
import { type AuditEvent, type AuditSink, fromStored, type StoredAuditEvent } from "./audit-event.js";

export interface DispatcherOptions {
  /** How often the outbox is looked at when nothing nudges the dispatcher. */
  intervalMs: number;
  /** Events delivered in one write. */
  batchSize: number;
  /** Longest wait before a failed delivery is tried again (the wait doubles from `intervalMs`). */
  retryMaxMs: number;
  /**
   * Runs after the sink took a batch and before it leaves the outbox (users' notifications, the live
   * streams); a failure retries the batch like a failed sink. Must be idempotent.
   */
  afterDelivery?: (events: AuditEvent[]) => Promise<void>;
}

/** How long a taken batch is reserved for its dispatcher: a crashed one's batch is taken again then. */
const LEASE_MS = 60_000;
/** How long stopping waits for a delivery under way. */
const STOP_WAIT_MS = 5_000;

interface OutboxRow {
  id: string;
  event: StoredAuditEvent;
  attempts: number;
}

export interface Backlog {
  count: number;
  /** Age of the oldest waiting event, in seconds (0 when none waits). */
  oldestSeconds: number;
}

/**
 * Moves audit events from the outbox to the sink, on every instance at once without double work:
 * a batch is taken with `FOR UPDATE SKIP LOCKED` and leased, written to the sink, then deleted.
 * When the sink fails, the batch waits (with a doubling backoff) and is delivered when it is back.
 * An instance that dies after writing and before deleting leaves its batch to be delivered again
 * when the lease runs out; sinks ignore ids they already hold, so each event is stored once.
 */
export class AuditDispatcher {
  private timer: NodeJS.Timeout | undefined;
  private nudged: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  /** After a failed delivery, nothing is tried before this time (ms), however often nudged. */
  private pausedUntil = 0;

  constructor(
    private readonly db: Database,
    private readonly sink: AuditSink,
    private readonly options: DispatcherOptions,
    private readonly log: Logger,
    private readonly metrics?: Metrics,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.run(), this.options.intervalMs);
    this.timer.unref();
    this.run();
  }

  /** Something was recorded: deliver it soon (once its transaction has committed). */
  nudge(): void {
    if (this.stopped || this.nudged) return;
    this.nudged = setTimeout(() => {
      this.nudged = undefined;
      this.run();
    }, 20);
    this.nudged.unref();
  }

  /** Starts a pass, or asks the running one to go round once more. */
  private run(): void {
    if (this.stopped || Date.now() < this.pausedUntil) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.pass()
      .then(() => undefined)
      .catch((error: unknown) => void this.log.error("audit dispatch failed", { error }))
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.run();
        }
      });
  }

  /**
   * Delivers everything that is due, batch after batch, and waits for a pass of its own that is under
   * way: that pass holds its batch leased, out of this call's reach, and a caller that drains expects
   * those events delivered too when this returns.
   * @returns how many events this call delivered; stops at the first failure of the sink.
   */
  async drain(): Promise<number> {
    await this.running;
    const delivered = await this.pass();
    await this.running;
    return delivered;
  }

  /** Delivers everything that is due, batch after batch; stops at the first failure of the sink. */
  private async pass(): Promise<number> {
    let delivered = 0;
    for (;;) {
      const batch = await this.take();
      if (batch.length === 0 || !(await this.deliver(batch))) return delivered;
      delivered += batch.length;
      if (batch.length < this.options.batchSize || this.stopped) return delivered;
    }
  }

  /** The events waiting in the outbox. */
  async backlog(): Promise<Backlog> {
    const [row] = await this.db.withSession((s) =>
      s.query<{ count: number; oldest: number | null }>(
        `SELECT count(*)::int AS "count", extract(epoch FROM now() - min("created_at"))::float8 AS "oldest"
         FROM "audit_outbox"`,
      ),
    );
    return { count: row?.count ?? 0, oldestSeconds: Math.max(0, Math.round(row?.oldest ?? 0)) };
  }

  /**
   * Stops taking work and waits (up to `STOP_WAIT_MS`) for the running pass; what is left waits in the
   * outbox, and a batch still being written is delivered again once its lease ends.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    clearTimeout(this.nudged);
    if (this.running) await settleWithin(this.running, STOP_WAIT_MS);
  }

  private take(): Promise<OutboxRow[]> {
    return this.db.withSession((s) =>
      s.query<OutboxRow>(
        `UPDATE "audit_outbox" SET "available_at" = now() + $2::int * interval '1 millisecond',
                "attempts" = "attempts" + 1
         WHERE "id" IN (SELECT "id" FROM "audit_outbox" WHERE "available_at" <= now()
                        ORDER BY "created_at", "id" LIMIT $1 FOR UPDATE SKIP LOCKED)
         RETURNING "id", "event", "attempts"`,
        [this.options.batchSize, LEASE_MS],
      ),
    );
  }

  /** @returns whether the sink took the batch. */
  private async deliver(batch: OutboxRow[]): Promise<boolean> {
    const ids = batch.map((row) => row.id);
    try {
      const events = batch.map((row) => fromStored(row.event));
      await this.sink.write(events);
      await this.options.afterDelivery?.(events);
    } catch (error) {
      const attempts = Math.min(...batch.map((row) => row.attempts));
      const retryMs = Math.min(this.options.retryMaxMs, this.options.intervalMs * 2 ** (attempts - 1));
      const reason = error instanceof Error ? error.message : String(error);
      await this.db.withSession((s) =>
        s.query(
          `UPDATE "audit_outbox" SET "available_at" = now() + $2::int * interval '1 millisecond', "last_error" = $3
           WHERE "id" = ANY($1::uuid[])`,
          [ids, Math.round(retryMs), reason.slice(0, 1000)],
        ),
      );
      // The sink is down: every batch would fail alike, so none is tried before the wait is over.
      this.pausedUntil = Date.now() + retryMs;
      this.metrics?.auditDeliveryFailures.add(batch.length, { sink: this.sink.kind });
      this.log.warn("audit sink unavailable: events wait in the outbox", {
        sink: this.sink.kind,
        events: batch.length,
        retryInMs: retryMs,
        error,
      });
      return false;
    }
    await this.db.withSession((s) => s.query(`DELETE FROM "audit_outbox" WHERE "id" = ANY($1::uuid[])`, [ids]));
    this.metrics?.auditDelivered.add(batch.length, { sink: this.sink.kind });
    return true;
  }
}
