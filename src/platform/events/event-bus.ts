import type { KeyValueStore } from "../kv/kv.js";
import type { Logger } from "../observability/logger.js";

/** A subscriber that fell this many events behind is dropped rather than buffered without bound. */
export const DEFAULT_MAX_QUEUE = 100;

/** The subscriber did not keep up: its stream ended instead of buffering without bound. */
export class SlowConsumerError extends Error {
  constructor() {
    super("Too slow to keep up with the stream");
  }
}

/** A live stream of one topic's messages, ended by `return()` or by falling too far behind. */
export interface Stream<T> extends AsyncIterableIterator<T> {
  return(): Promise<IteratorResult<T>>;
}

/**
 * Live messages across every instance, over the store's pub/sub (Redis, or in-process without it).
 * Each instance subscribes to a topic once and fans its messages out to its local streams. Delivery
 * is at most once and only to whoever is listening: what must not be missed is persisted elsewhere.
 */
export class EventBus {
  private readonly topics = new Map<
    string,
    { listeners: Set<(message: unknown) => void>; ready: Promise<() => Promise<void>> }
  >();

  constructor(
    private readonly kv: KeyValueStore,
    private readonly log: Logger,
  ) {}

  /** Sends `message` (JSON) to every stream of `topic` on every instance. Never throws: it logs. */
  async publish(topic: string, message: unknown): Promise<void> {
    try {
      await this.kv.publish(`events:${topic}`, JSON.stringify(message));
    } catch (error) {
      this.log.warn("event not published", { topic, error });
    }
  }

  /**
   * A stream of `topic`'s messages from now on, `parse`d: a message it answers undefined for is
   * skipped (not for this subscriber, or not understood).
   */
  async subscribe<T>(
    topic: string,
    parse: (message: unknown) => T | undefined,
    maxQueue = DEFAULT_MAX_QUEUE,
  ): Promise<Stream<T>> {
    const queue: T[] = [];
    let waiting: ((result: IteratorResult<T>) => void) | undefined;
    let failed: ((error: Error) => void) | undefined;
    let ended = false;
    let overflow = false;
    const end = async (): Promise<IteratorResult<T>> => {
      if (!ended) {
        ended = true;
        await this.unlisten(topic, listener);
        if (overflow && failed) failed(new SlowConsumerError());
        else waiting?.({ value: undefined, done: true });
        waiting = failed = undefined;
      }
      return { value: undefined, done: true };
    };
    const listener = (message: unknown) => {
      if (ended) return;
      const value = parse(message);
      if (value === undefined) return;
      if (waiting) {
        const resolve = waiting;
        waiting = failed = undefined;
        resolve({ value, done: false });
      } else if (queue.length >= maxQueue) {
        overflow = true;
        queue.length = 0;
        void end();
      } else queue.push(value);
    };
    await this.listen(topic, listener);
    const stream: Stream<T> = {
      next() {
        if (queue.length > 0) return Promise.resolve({ value: queue.shift()!, done: false });
        if (overflow) return Promise.reject(new SlowConsumerError());
        if (ended) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve, reject) => {
          waiting = resolve;
          failed = reject;
        });
      },
      return: end,
      [Symbol.asyncIterator]() {
        return stream;
      },
    };
    return stream;
  }

  private async listen(topic: string, listener: (message: unknown) => void): Promise<void> {
    let entry = this.topics.get(topic);
    if (!entry) {
      const listeners = new Set<(message: unknown) => void>();
      const ready = this.kv.subscribe(`events:${topic}`, (raw) => {
        let message: unknown;
        try {
          message = JSON.parse(raw);
        } catch {
          return;
        }
        for (const each of listeners) {
          try {
            each(message);
          } catch (error) {
            // One subscriber's trouble (a message it cannot read) is nobody else's.
            this.log.warn("event listener failed", { topic, error });
          }
        }
      });
      const created = { listeners, ready };
      entry = created;
      this.topics.set(topic, created);
      // A store that refused the subscription must not keep the topic broken for later subscribers.
      ready.catch(() => {
        if (this.topics.get(topic) === created) this.topics.delete(topic);
      });
    }
    entry.listeners.add(listener);
    try {
      await entry.ready;
    } catch (error) {
      entry.listeners.delete(listener);
      throw error;
    }
  }

  private async unlisten(topic: string, listener: (message: unknown) => void): Promise<void> {
    const entry = this.topics.get(topic);
    if (!entry) return;
    entry.listeners.delete(listener);
    if (entry.listeners.size > 0) return;
    this.topics.delete(topic);
    await (
      await entry.ready
    )();
  }

  /** Ends every subscription of this instance to the store. */
  async close(): Promise<void> {
    const entries = [...this.topics.values()];
    this.topics.clear();
    await Promise.allSettled(entries.map(async (entry) => (await entry.ready)()));
  }
}
