import { keyDigest, type KeyValueStore, StoreUnavailableError } from "../platform/kv/kv.js";
import { type Context } from "./context.js";
import { guardedRule } from "./rule.js";
import { RateLimitedError, ServiceUnavailableError } from "../kernel/errors.js";

export interface RateLimitOptions {
  max: number;
  windowSeconds: number;
}

/**
 * Fixed-window counters in the shared store, so every instance counts the same attempts. Counting
 * is atomic (one INCR), unlike graphql-rate-limit's read-then-write store, which loses attempts made
 * at the same moment.
 */
export class FieldRateLimiter {
  constructor(
    private readonly kv: KeyValueStore,
    private readonly options: RateLimitOptions,
  ) {}

  /**
   * Counts one attempt against each of `subjects` (an IP, an account, ...).
   * @returns the seconds to wait when any of them is over the limit, otherwise undefined.
   */
  async hit(field: string, subjects: string[]): Promise<number | undefined> {
    const windowMs = this.options.windowSeconds * 1000;
    const counts = await Promise.all(
      subjects.map((subject) => this.kv.increment(`ratelimit:${field}:${keyDigest(subject)}`, windowMs)),
    );
    const over = counts.filter((c) => c.count > this.options.max);
    if (over.length === 0) return undefined;
    return Math.max(1, Math.ceil(Math.max(...over.map((c) => c.ttlMs)) / 1000));
  }
}

/**
 * A rule that counts every call of the field, each alias and each operation of a request
 * separately, per IP and per whatever else `subjects` names (the account an email argument names).
 * Without the store it fails closed (SERVICE_UNAVAILABLE): each of these fields checks a guess (a
 * password, a code, a token) or sends something out, and uncounted that is unlimited.
 */
export function rateLimited(field: string, subjects: (args: Record<string, unknown>) => string[] = () => []) {
  return guardedRule(`rate-limit:${field}`, "no_cache", async (_parent, args, ctx: Context) => {
    const keys = [`ip:${ctx.client.ip}`, ...subjects(args).map((s) => `subject:${s}`)];
    let retryAfter: number | undefined;
    try {
      retryAfter = await ctx.container.get(FieldRateLimiter).hit(field, keys);
    } catch (error) {
      if (error instanceof StoreUnavailableError) return new ServiceUnavailableError();
      throw error;
    }
    return retryAfter === undefined ? true : new RateLimitedError(retryAfter);
  });
}
