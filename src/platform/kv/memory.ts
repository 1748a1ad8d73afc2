import { EventEmitter } from "node:events";
import type { KeyValueStore } from "./kv.js";

interface Entry {
  value: string;
  /** Epoch ms; Infinity for keys that never expire. */
  expiresAt: number;
}

/** Sweep expired keys at most this often, so that a store that is only written to stays small. */
const SWEEP_EVERY_MS = 60_000;

/**
 * The store for a single instance without Redis (development, tests of one process). Nothing is
 * shared with other processes: run Redis as soon as there is more than one instance.
 */
export class MemoryStore implements KeyValueStore {
  readonly kind = "memory";
  private readonly entries = new Map<string, Entry>();
  private readonly bus = new EventEmitter().setMaxListeners(0);
  private lastSweep = Date.now();

  private live(key: string): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry && entry.expiresAt <= Date.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  private put(key: string, value: string, ttlMs?: number): void {
    const now = Date.now();
    if (now - this.lastSweep > SWEEP_EVERY_MS) {
      this.lastSweep = now;
      for (const [k, e] of this.entries) if (e.expiresAt <= now) this.entries.delete(k);
    }
    this.entries.set(key, { value, expiresAt: ttlMs === undefined ? Infinity : now + ttlMs });
  }

  async get(key: string) {
    return this.live(key)?.value ?? null;
  }

  async getMany(keys: string[]) {
    return keys.map((key) => this.live(key)?.value ?? null);
  }

  async set(key: string, value: string, ttlMs?: number) {
    this.put(key, value, ttlMs);
  }

  async setIfAbsent(key: string, value: string, ttlMs: number) {
    if (this.live(key)) return false;
    this.put(key, value, ttlMs);
    return true;
  }

  async take(key: string) {
    const entry = this.live(key);
    this.entries.delete(key);
    return entry?.value ?? null;
  }

  async delete(...keys: string[]) {
    for (const key of keys) this.entries.delete(key);
  }

  async increment(key: string, ttlMs: number, by = 1) {
    const entry = this.live(key);
    if (!entry) {
      this.put(key, String(by), ttlMs);
      return { count: by, ttlMs };
    }
    entry.value = String(Number(entry.value) + by);
    return { count: Number(entry.value), ttlMs: Math.max(0, entry.expiresAt - Date.now()) };
  }

  async ttl(key: string) {
    const entry = this.live(key);
    return entry && entry.expiresAt !== Infinity ? Math.max(0, entry.expiresAt - Date.now()) : null;
  }

  async publish(channel: string, message: string) {
    // Delivered asynchronously, as Redis would.
    setImmediate(() => this.bus.emit(channel, message));
  }

  async subscribe(channel: string, onMessage: (message: string) => void) {
    this.bus.on(channel, onMessage);
    return async () => void this.bus.off(channel, onMessage);
  }

  async ping() {}

  async close() {
    this.entries.clear();
    this.bus.removeAllListeners();
  }
}
