import { sha256 } from "../hash.js";

/** A key part standing for `text` (an email, an IP): stores hold no such values in clear. */
export function keyDigest(text: string): string {
  return sha256(text, "base64url").slice(0, 32);
}

/**
 * The shared store did not answer (down, timed out, or its circuit is open). Callers that can decide
 * without the store (the database decides revocation and grants) degrade; those that must not (sign-in
 * counters, one-time codes) let it through, and the client sees SERVICE_UNAVAILABLE.
 */
export class StoreUnavailableError extends Error {
  override readonly name = "StoreUnavailableError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * Fast state shared by every instance: revoked tokens, counters, single-use codes, caches, and
 * pub/sub. Redis in production (redis.ts), an in-process map otherwise (memory.ts); both pass
 * test/kv.test.ts. Keys are given without the deployment's prefix: the store adds it.
 */
export interface KeyValueStore {
  readonly kind: "redis" | "memory";
  get(key: string): Promise<string | null>;
  /** Values of `keys`, in order; null for a missing one. */
  getMany(keys: string[]): Promise<(string | null)[]>;
  /** @param ttlMs lifetime; without it the key never expires. */
  set(key: string, value: string, ttlMs?: number): Promise<void>;
  /** Sets the key only when it does not exist. @returns whether it was set. */
  setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean>;
  /** Reads and deletes in one step, so that of two takers only one gets the value. */
  take(key: string): Promise<string | null>;
  delete(...keys: string[]): Promise<void>;
  /**
   * Adds `by` (default 1) to a counter. The first increment starts its lifetime of `ttlMs`; later ones keep it.
   * @returns the new count and the milliseconds until the counter expires.
   */
  increment(key: string, ttlMs: number, by?: number): Promise<{ count: number; ttlMs: number }>;
  /** Milliseconds until `key` expires; null when it does not exist or never expires. */
  ttl(key: string): Promise<number | null>;
  publish(channel: string, message: string): Promise<void>;
  /** @returns a function that ends the subscription. */
  subscribe(channel: string, onMessage: (message: string) => void): Promise<() => Promise<void>>;
  ping(): Promise<void>;
  close(): Promise<void>;
}
