import { Cluster, Redis } from "ioredis";
import { type KeyValueStore, StoreUnavailableError } from "./kv.js";
import type { Logger } from "../observability/logger.js";

/** INCRBY that starts the key's lifetime on its first increment, atomically. Returns {count, pttl}. */
const INCREMENT = `
local count = redis.call('INCRBY', KEYS[1], ARGV[2])
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {count, redis.call('PTTL', KEYS[1])}`;

/** How long calls fail at once, without trying, after one found Redis unavailable. */
const CIRCUIT_OPEN_MS = 1_000;
/** Longest pause between reconnection attempts: a Redis that is back is used again within it. */
const RECONNECT_MAX_MS = 500;
/** Redis's own refusals that mean "not now" (a replica, a loading or failing-over server), not a bug. */
const UNAVAILABLE_REPLY = /^(LOADING|READONLY|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|BUSY|NOREPLICAS)\b/;

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
  /**
   * The bound of one call: the reply's wait, and as long again for a connection being re-established
   * (a Sentinel failover, a restart) before the call fails. @default 500
   */
  commandTimeoutMs?: number;
  /** Where outages and recoveries are told, as one line each (ioredis's own errors would be stack traces). */
  log?: Logger;
}

type Connection = Redis | Cluster;

function connect(
  topology: RedisTopology,
  options: { keyPrefix?: string; enableAutoPipelining?: boolean },
  commandTimeout: number,
) {
  // Every call is bounded: no queueing while disconnected (the store waits, bounded, itself), a reply
  // timeout, and commands in flight when a connection drops fail instead of waiting for the next one.
  const bounded = {
    commandTimeout,
    connectTimeout: Math.max(1_000, commandTimeout * 4),
    maxRetriesPerRequest: 1,
  };
  const retryStrategy = (times: number) => Math.min(times * 50, RECONNECT_MAX_MS);
  switch (topology.kind) {
    case "node":
      return new Redis(topology.url, { ...options, ...bounded, enableOfflineQueue: false, retryStrategy });
    case "sentinel":
      return new Redis({
        ...options,
        ...bounded,
        enableOfflineQueue: false,
        retryStrategy,
        sentinelRetryStrategy: retryStrategy,
        // Redis closes its clients' connections when the Sentinels demote it, but a frozen or cut-off
        // master closes nothing, and once awake it is demoted only some ten seconds later: until then
        // its writes would be lost and instances split. So the Sentinels' +switch-master is followed,
        // and a connection to a silent master is dropped within the command bound, not ioredis's 2 s.
        failoverDetector: true,
        disconnectTimeout: commandTimeout,
        sentinels: topology.sentinels,
        name: topology.master,
        password: topology.password,
        sentinelPassword: topology.sentinelPassword,
      });
    case "cluster":
      return new Cluster(topology.nodes, {
        ...options,
        enableOfflineQueue: false,
        clusterRetryStrategy: retryStrategy,
        redisOptions: { ...bounded, password: topology.password },
      });
  }
}

/** Whether `error` says Redis cannot be reached or cannot answer now (rather than that the call was wrong). */
function isUnavailability(error: unknown): boolean {
  const { name, message } = error as { name?: string; message?: string };
  return name !== "ReplyError" || UNAVAILABLE_REPLY.test(message ?? "");
}

/**
 * The shared store on Redis through ioredis: one node, Sentinel or Cluster. Subscriptions use a second
 * connection, opened on demand. On a Cluster, keys of one call may live on different nodes: they are
 * read and deleted one by one (pipelined), never with one multi-key command.
 *
 * Every call is bounded and fails with StoreUnavailableError when Redis is away: it waits at most
 * `commandTimeoutMs` for a connection being re-established (a failover within that is not noticed),
 * then as long for the reply. A call that found Redis away opens the circuit: for the next second,
 * calls fail at once rather than each waiting; a connection that is ready again closes it.
 */
export class RedisStore implements KeyValueStore {
  readonly kind = "redis";
  private readonly client: Connection;
  private readonly cluster: boolean;
  private readonly timeoutMs: number;
  private subscriber: Connection | undefined;
  private readonly handlers = new Map<string, Set<(message: string) => void>>();
  /** Until when calls fail without trying (0: the circuit is closed). */
  private openUntil = 0;
  /** Whether the last call, or the connection's last news, found Redis available. */
  private up = true;
  private readonly waits = new Map<Connection, Promise<void>>();

  constructor(private readonly options: RedisStoreOptions) {
    this.timeoutMs = options.commandTimeoutMs ?? 500;
    this.client = this.open({ keyPrefix: options.prefix, enableAutoPipelining: true });
    this.cluster = options.topology.kind === "cluster";
    this.client.defineCommand("kafkeyIncrement", { numberOfKeys: 1, lua: INCREMENT });
  }

  /** Whether Redis answered the last time it was asked (for the `kafkey_kv_available` gauge). */
  get available(): boolean {
    return this.up;
  }

  private open(options: { keyPrefix?: string; enableAutoPipelining?: boolean }): Connection {
    const connection = connect(this.options.topology, options, this.timeoutMs);
    // Without a listener ioredis prints each connection error as a stack trace on stderr: the
    // outage is told once, as a log line, when a call finds it (see `trip`).
    connection.on("error", (error: Error) =>
      this.options.log?.debug("Redis connection error", { error: error.message }),
    );
    connection.on("ready", () => this.recovered());
    return connection;
  }

  private recovered(): void {
    this.openUntil = 0;
    if (this.up) return;
    this.up = true;
    this.options.log?.info("Redis is available again", { event: "kv.circuit_closed" });
  }

  private trip(error: unknown): StoreUnavailableError {
    this.openUntil = Date.now() + CIRCUIT_OPEN_MS;
    if (this.up) {
      this.up = false;
      this.options.log?.warn("Redis is unavailable: sign-in refuses, the rest degrades", {
        event: "kv.circuit_open",
        error: (error as Error | undefined)?.message,
      });
    }
    return new StoreUnavailableError("Redis is unavailable", { cause: error });
  }

  /** Resolves once `connection` is ready, waiting at most the command timeout; rejects at once while the circuit is open. */
  private ready(connection: Connection): Promise<void> {
    if (Date.now() < this.openUntil) return Promise.reject(new StoreUnavailableError("Redis is unavailable"));
    if (connection.status === "ready") return Promise.resolve();
    let wait = this.waits.get(connection);
    if (!wait) {
      wait = new Promise<void>((resolve, reject) => {
        const done = () => {
          clearTimeout(timer);
          connection.off("ready", done);
          this.waits.delete(connection);
          resolve();
        };
        const timer = setTimeout(() => {
          connection.off("ready", done);
          this.waits.delete(connection);
          reject(this.trip(new Error(`not connected (${connection.status})`)));
        }, this.timeoutMs);
        connection.once("ready", done);
      });
      this.waits.set(connection, wait);
    }
    return wait;
  }

  /** Runs `command` on `connection` within the bounds; failures of Redis become StoreUnavailableError. */
  private async call<T>(command: () => Promise<T>, connection: Connection = this.client): Promise<T> {
    await this.ready(connection);
    try {
      const result = await command();
      if (!this.up) this.recovered();
      return result;
    } catch (error) {
      throw isUnavailability(error) ? this.trip(error) : error;
    }
  }

  async get(key: string) {
    return this.call(() => this.client.get(key));
  }

  async getMany(keys: string[]) {
    if (keys.length === 0) return [];
    return this.call(() =>
      this.cluster ? Promise.all(keys.map((key) => this.client.get(key))) : this.client.mget(...keys),
    );
  }

  async set(key: string, value: string, ttlMs?: number) {
    await this.call(() =>
      ttlMs === undefined
        ? this.client.set(key, value)
        : this.client.set(key, value, "PX", Math.max(1, Math.ceil(ttlMs))),
    );
  }

  async setIfAbsent(key: string, value: string, ttlMs: number) {
    return (await this.call(() => this.client.set(key, value, "PX", Math.max(1, Math.ceil(ttlMs)), "NX"))) === "OK";
  }

  async take(key: string) {
    return this.call(() => this.client.getdel(key));
  }

  async delete(...keys: string[]) {
    if (keys.length === 0) return;
    await this.call<unknown>(() =>
      this.cluster ? Promise.all(keys.map((key) => this.client.del(key))) : this.client.del(...keys),
    );
  }

  async increment(key: string, ttlMs: number, by = 1) {
    const increment = (
      this.client as unknown as Record<string, (key: string, ttl: number, by: number) => Promise<[number, number]>>
    ).kafkeyIncrement!;
    const [count, pttl] = await this.call(() => increment.call(this.client, key, Math.max(1, Math.ceil(ttlMs)), by));
    return { count, ttlMs: Math.max(0, pttl) };
  }

  async ttl(key: string) {
    const pttl = await this.call(() => this.client.pttl(key));
    return pttl < 0 ? null : pttl;
  }

  async publish(channel: string, message: string) {
    await this.call(() => this.client.publish(this.options.prefix + channel, message));
  }

  async subscribe(channel: string, onMessage: (message: string) => void) {
    const name = this.options.prefix + channel;
    if (!this.subscriber) {
      // The same topology; channels carry the prefix by hand (ioredis prefixes keys only). Its
      // subscriptions are renewed by ioredis whenever it reconnects.
      const subscriber = this.open({});
      this.subscriber = subscriber;
      subscriber.on("message", (from: string, message: string) => {
        for (const handler of this.handlers.get(from) ?? []) handler(message);
      });
    }
    const subscriber = this.subscriber;
    let handlers = this.handlers.get(name);
    if (!handlers) {
      const created = new Set<(message: string) => void>();
      handlers = created;
      this.handlers.set(name, created);
      try {
        await this.call(() => subscriber.subscribe(name), subscriber);
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
        // With Redis away the channel stays subscribed, with no handler here: its messages are dropped.
        await this.call(() => subscriber.unsubscribe(name), subscriber).catch(() => undefined);
      }
    };
  }

  async ping() {
    await this.call(() => this.client.ping());
  }

  async close() {
    // QUIT needs a connection; a store closed while Redis is away just drops its sockets. QUIT leaves
    // the failover detector's Sentinel connections open (ioredis #1362): disconnect() closes them.
    const end = async (connection: Connection | undefined) => {
      if (connection?.status === "ready") await connection.quit().catch(() => undefined);
      connection?.disconnect();
    };
    await Promise.all([end(this.client), end(this.subscriber)]);
  }
}
