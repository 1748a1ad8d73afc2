import type { Config } from "../../config.js";
import type { AuditTrail } from "../../platform/audit/audit-trail.js";
import { keyDigest, type KeyValueStore } from "../../platform/kv/kv.js";
import type { Logger } from "../../platform/observability/logger.js";

const DAY_MS = 24 * 3600 * 1000;

/**
 * Brute-force protection. Failed logins are counted per account and per IP in the shared store;
 * at the threshold the account (or IP) is locked. An account's lock doubles on each repeat within a
 * day. Locked logins get the same answer as a wrong password, so a lock reveals nothing.
 */
export class Lockout {
  constructor(
    private readonly kv: KeyValueStore,
    private readonly options: Config["lockout"],
    private readonly audit: AuditTrail,
    private readonly log: Logger,
  ) {}

  /** Whether logins for `email`, or from `ip`, are refused now. */
  async isLocked(email: string, ip: string): Promise<boolean> {
    const [accountLock, ipLock] = await this.kv.getMany([
      `lockout:lock:account:${keyDigest(email)}`,
      `lockout:lock:ip:${ip}`,
    ]);
    return accountLock !== null || ipLock !== null;
  }

  /** @param userId the account's user, when `email` names one (for the audit trail). */
  async recordFailure(email: string, ip: string, userId?: string): Promise<void> {
    const id = keyDigest(email);
    const windowMs = this.options.seconds * 1000;
    const [byAccount, byIp] = await Promise.all([
      this.kv.increment(`lockout:failures:account:${id}`, windowMs),
      this.kv.increment(`lockout:failures:ip:${ip}`, windowMs),
    ]);
    if (byAccount.count >= this.options.threshold) {
      const { count: level } = await this.kv.increment(`lockout:level:account:${id}`, DAY_MS);
      const lockMs = Math.min(windowMs * 2 ** (level - 1), DAY_MS);
      await this.kv.set(`lockout:lock:account:${id}`, "1", lockMs);
      await this.kv.delete(`lockout:failures:account:${id}`);
      this.log.warn("account locked after failed logins", {
        event: "security.account_locked",
        account: id,
        ip,
        lockSeconds: lockMs / 1000,
      });
      await this.audit.record({
        action: "security.account_locked",
        outcome: "failure",
        actor: { id: null, email },
        target: userId ? { type: "user", id: userId } : undefined,
        changes: [{ field: "lockedSeconds", before: 0, after: lockMs / 1000 }],
      });
    }
    if (byIp.count >= this.options.ipThreshold) {
      await this.kv.set(`lockout:lock:ip:${ip}`, "1", windowMs);
      await this.kv.delete(`lockout:failures:ip:${ip}`);
      this.log.warn("IP locked out after failed logins", { event: "security.ip_locked", ip });
      await this.audit.record({
        action: "security.ip_locked",
        outcome: "failure",
        changes: [{ field: "lockedSeconds", before: 0, after: windowMs / 1000 }],
      });
    }
  }

  /** A successful login clears the account's failure count (not its repeat level). */
  async recordSuccess(email: string): Promise<void> {
    await this.kv.delete(`lockout:failures:account:${keyDigest(email)}`);
  }

  async unlock(email: string): Promise<void> {
    const id = keyDigest(email);
    await this.kv.delete(`lockout:lock:account:${id}`, `lockout:failures:account:${id}`, `lockout:level:account:${id}`);
  }
}
