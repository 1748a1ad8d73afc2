import type { Config } from "../../config.js";
import type { AuditTrail } from "../../platform/audit/audit-trail.js";
import type { PrismaClient } from "../../platform/db/database.js";
import { keyDigest, type KeyValueStore } from "../../platform/kv/kv.js";
import type { Logger } from "../../platform/observability/logger.js";

const DAY_MS = 24 * 3600 * 1000;

/** A sign-in attempt that was counted and may be checked. */
export interface Attempt {
  email: string;
  ip: string;
  /** Its place among the account's attempts of the window, and among the IP's. */
  accountCount: number;
  ipCount: number;
}

/**
 * Brute-force protection. Every sign-in attempt is counted per account and per IP in the shared store,
 * atomically and before its password or code is checked; attempts over the threshold are refused
 * unchecked, so a burst of parallel guesses gets no more checks than a sequence. At the threshold the
 * account (or IP) is locked, once per lock; an account's lock doubles on each repeat within a day and
 * is kept in the database, so that losing the store unlocks nobody. Locked attempts get the same
 * answer as a wrong password, so a lock reveals nothing. Without the store nothing can be counted:
 * sign-in fails closed (the store's error reaches the client as SERVICE_UNAVAILABLE).
 */
export class Lockout {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly kv: KeyValueStore,
    private readonly options: Config["lockout"],
    private readonly audit: AuditTrail,
    private readonly log: Logger,
  ) {}

  /**
   * Counts an attempt for `email` from `ip`.
   * @returns the attempt, to report its outcome; null when it must be refused without being checked
   * (the account or the IP is locked, or this attempt is over the threshold).
   */
  async admit(email: string, ip: string): Promise<Attempt | null> {
    const account = keyDigest(email);
    const windowMs = this.options.seconds * 1000;
    const [locked, ipLock] = await Promise.all([
      this.prisma.accountLock.findFirst({
        where: { account, lockedUntil: { gt: new Date() } },
        select: { account: true },
      }),
      this.kv.get(`lockout:lock:ip:${ip}`),
    ]);
    // Attempts during a lock are not counted: the count starts afresh when the lock ends.
    if (locked || ipLock !== null) return null;
    const [byAccount, byIp] = await Promise.all([
      this.kv.increment(`lockout:failures:account:${account}`, windowMs),
      this.kv.increment(`lockout:failures:ip:${ip}`, windowMs),
    ]);
    if (byAccount.count > this.options.threshold || byIp.count > this.options.ipThreshold) return null;
    return { email, ip, accountCount: byAccount.count, ipCount: byIp.count };
  }

  /**
   * Runs `check` (a password or code of a signed-in user) as one counted attempt: refused unchecked
   * while locked or over the threshold, then recorded as failed or succeeded.
   * @returns whether it was admitted and passed.
   */
  async counted(email: string, ip: string, userId: string, check: () => Promise<boolean>): Promise<boolean> {
    const attempt = await this.admit(email, ip);
    if (!attempt) return false;
    if (!(await check())) {
      await this.failed(attempt, userId);
      return false;
    }
    await this.succeeded(attempt);
    return true;
  }

  /**
   * The attempt's password or code was wrong: the one that reached the threshold locks.
   * @param userId the account's user, when the email names one (for the audit trail).
   */
  async failed(attempt: Attempt, userId?: string): Promise<void> {
    if (attempt.accountCount >= this.options.threshold) await this.lockAccount(attempt, userId);
    if (attempt.ipCount >= this.options.ipThreshold) await this.lockIp(attempt.ip);
  }

  /**
   * The attempt succeeded: the account's count starts again (not its repeat level), and the IP's
   * count gives the attempt back (only failures may lock an address that many users share).
   */
  async succeeded(attempt: Attempt): Promise<void> {
    await Promise.all([
      this.kv.delete(`lockout:failures:account:${keyDigest(attempt.email)}`),
      this.kv.increment(`lockout:failures:ip:${attempt.ip}`, this.options.seconds * 1000, -1),
    ]);
  }

  /**
   * The attempt's password was right, but it did not sign in yet (a second factor is due, the email is
   * unverified, the account disabled): the attempt is given back, and the count of wrong ones kept.
   */
  async withdrawn(attempt: Attempt): Promise<void> {
    const windowMs = this.options.seconds * 1000;
    await Promise.all([
      this.kv.increment(`lockout:failures:account:${keyDigest(attempt.email)}`, windowMs, -1),
      this.kv.increment(`lockout:failures:ip:${attempt.ip}`, windowMs, -1),
    ]);
  }

  async unlock(email: string): Promise<void> {
    const account = keyDigest(email);
    await this.prisma.accountLock.deleteMany({ where: { account } });
    await this.kv.delete(`lockout:failures:account:${account}`);
  }

  /**
   * Locks the account unless it is locked already: of many failures racing past the threshold, one
   * locks and escalates; the others find the lock in place.
   */
  private async lockAccount(attempt: Attempt, userId: string | undefined): Promise<void> {
    const account = keyDigest(attempt.email);
    const windowMs = this.options.seconds * 1000;
    const now = new Date();
    // The level lives a day past the end of the lock it set, so a day-long lock still escalates.
    const dayLater = new Date(now.getTime() + DAY_MS);
    const [lock] = await this.prisma.$queryRaw<{ level: number }[]>`
      INSERT INTO "account_locks" AS l ("account", "locked_until", "level", "level_expires_at")
      VALUES (${account}, ${new Date(now.getTime() + windowMs)}, 1, ${new Date(dayLater.getTime() + windowMs)})
      ON CONFLICT ("account") DO UPDATE SET
        "level" = CASE WHEN l."level_expires_at" > ${now} THEN l."level" + 1 ELSE 1 END,
        "locked_until" = ${now}::timestamptz + LEAST(
          ${windowMs}::float8 * power(2, CASE WHEN l."level_expires_at" > ${now} THEN l."level" ELSE 0 END),
          ${DAY_MS}::float8
        ) * interval '1 millisecond',
        "level_expires_at" = ${dayLater}::timestamptz + LEAST(
          ${windowMs}::float8 * power(2, CASE WHEN l."level_expires_at" > ${now} THEN l."level" ELSE 0 END),
          ${DAY_MS}::float8
        ) * interval '1 millisecond'
      WHERE l."locked_until" <= ${now}
      RETURNING l."level"`;
    // The count is left to run out with its window (before the lock does): deleting it would let
    // attempts that read "not locked" a moment ago start counting from one again.
    if (!lock) return;
    const lockMs = Math.min(windowMs * 2 ** (lock.level - 1), DAY_MS);
    this.log.warn("account locked after failed logins", {
      event: "security.account_locked",
      account,
      ip: attempt.ip,
      lockSeconds: lockMs / 1000,
    });
    await this.audit.record({
      action: "security.account_locked",
      outcome: "failure",
      actor: { id: null, email: attempt.email },
      target: userId ? { type: "user", id: userId } : undefined,
      changes: [{ field: "lockedSeconds", before: 0, after: lockMs / 1000 }],
    });
  }

  private async lockIp(ip: string): Promise<void> {
    const windowMs = this.options.seconds * 1000;
    if (!(await this.kv.setIfAbsent(`lockout:lock:ip:${ip}`, "1", windowMs))) return;
    this.log.warn("IP locked out after failed logins", { event: "security.ip_locked", ip });
    await this.audit.record({
      action: "security.ip_locked",
      outcome: "failure",
      changes: [{ field: "lockedSeconds", before: 0, after: windowMs / 1000 }],
    });
  }
}
