import { Cluster, Redis } from "ioredis";
import type { KeyValueStore } from "./kv.js";

/** INCRBY that starts the key's lifetime on its first increment, atomically. Returns {count, pttl}. */
const INCREMENT = `
local count = redis.call('INCRBY', KEYS[1], ARGV[2])
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {count, redis.call('PTTL', KEYS[1])}`;

export interface HostPort {
  host: string;
  port: number;
}

/** Where Redis is: one node, a master found through Sentinel (failovers followed), or a Cluster. */
export type RedisTopology =
  | { kind: "node"; url: string }
  | { kind: "sentinel"; sentinels: HostPort[]; master: string; password?: string; sentinelPassword?: string }
  | { kind: "cluster"; nodes: HostPort[]; password?: string };

export interface RedisStoreOptions {
  topology: RedisTopology;
  /** Prepended to every key and channel, so deployments (and test runs) can share one Redis. */
  prefix: string;
}

function connect(topology: RedisTopology, options: { keyPrefix?: string; enableAutoPipelining?: boolean }) {
  switch (topology.kind) {
    case "node":
      return new Redis(topology.url, options);
    case "sentinel":
      return new Redis({
        ...options,
        sentinels: topology.sentinels,
        name: topology.master,
        password: topology.password,
        sentinelPassword: topology.sentinelPassword,
      });
    case "cluster":
      return new Cluster(topology.nodes, { ...options, redisOptions: { password: topology.password } });
  }
}

/**
 * The shared store on Redis through ioredis: one node, Sentinel or Cluster. Subscriptions use a second
 * connection, opened on demand. On a Cluster, keys of one call may live on different nodes: they are
 * read and deleted one by one (pipelined), never with one multi-key command.
 */
export class RedisStore implements KeyValueStore {
  readonly kind = "redis";
  private readonly client: Redis | Cluster;
  private readonly cluster: boolean;
  private subscriber: Redis | Cluster | undefined;
  private readonly handlers = new Map<string, Set<(message: string) => void>>();

  constructor(private readonly options: RedisStoreOptions) {
    this.client = connect(options.topology, { keyPrefix: options.prefix, enableAutoPipelining: true });
    this.cluster = options.topology.kind === "cluster";
    this.client.defineCommand("kafkeyIncrement", { numberOfKeys: 1, lua: INCREMENT });
  }

  async get(key: string) {
    return this.client.get(key);
  }

  async getMany(keys: string[]) {
    if (keys.length === 0) return [];
    return this.cluster ? Promise.all(keys.map((key) => this.client.get(key))) : this.client.mget(...keys);
  }

  async set(key: string, value: string, ttlMs?: number) {
    if (ttlMs === undefined) await this.client.set(key, value);
    else await this.client.set(key, value, "PX", Math.max(1, Math.ceil(ttlMs)));
  }

  async setIfAbsent(key: string, value: string, ttlMs: number) {
    return (await this.client.set(key, value, "PX", Math.max(1, Math.ceil(ttlMs)), "NX")) === "OK";
  }

  async take(key: string) {
    return this.client.getdel(key);
  }

  async delete(...keys: string[]) {
    if (keys.length === 0) return;
    if (this.cluster) await Promise.all(keys.map((key) => this.client.del(key)));
    else await this.client.del(...keys);
  }

  async increment(key: string, ttlMs: number, by = 1) {
    const increment = (
      this.client as unknown as Record<string, (key: string, ttl: number, by: number) => Promise<[number, number]>>
    ).kafkeyIncrement!;
    const [count, pttl] = await increment.call(this.client, key, Math.max(1, Math.ceil(ttlMs)), by);
    return { count, ttlMs: Math.max(0, pttl) };
  }

  async ttl(key: string) {
    const pttl = await this.client.pttl(key);
    return pttl < 0 ? null : pttl;
  }

  async publish(channel: string, message: string) {
    await this.client.publish(this.options.prefix + channel, message);
  }

  async subscribe(channel: string, onMessage: (message: string) => void) {
    const name = this.options.prefix + channel;
    if (!this.subscriber) {
      // The same topology; channels carry the prefix by hand (ioredis prefixes keys only).
      const subscriber = connect(this.options.topology, {});
      this.subscriber = subscriber;
      subscriber.on("message", (from: string, message: string) => {
        for (const handler of this.handlers.get(from) ?? []) handler(message);
      });
    }
    let handlers = this.handlers.get(name);
    if (!handlers) {
      const created = new Set<(message: string) => void>();
      handlers = created;
      this.handlers.set(name, created);
      try {
        await this.subscriber.subscribe(name);
      } catch (error) {
        // Not subscribed: the next subscriber to this channel tries again.
        if (this.handlers.get(name) === created) this.handlers.delete(name);
        throw error;
      }
    }
    handlers.add(onMessage);
    return async () => {
      handlers.delete(onMessage);
      if (handlers.size === 0 && this.handlers.get(name) === handlers) {
        this.handlers.delete(name);
        await this.subscriber?.unsubscribe(name);
      }
    };
  }

  async ping() {
    await this.client.ping();
  }

  async close() {
    await Promise.all([this.client.quit(), this.subscriber?.quit()]);
  }
}
