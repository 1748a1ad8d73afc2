import pg from "pg";
import type { PGlite } from "@electric-sql/pglite";
import type { Logger } from "../observability/logger.js";

/** What a `LISTEN` on one channel tells its owner. */
export interface ListenHandlers {
  onMessage(payload: string): void;
  /**
   * The listening connection is (again) open. Whatever was announced while it was closed is unknown:
   * an owner that caches on the strength of notifications drops its cache here.
   */
  onConnected(): void;
  /** The listening connection broke: until `onConnected`, notifications may be missed. */
  onDisconnected(): void;
}

export interface Listening {
  /** Whether notifications reach the owner now. */
  readonly connected: boolean;
  close(): Promise<void>;
}

const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 2_000;

/**
 * `LISTEN channel` on a connection of its own (a pooled one would be handed to other queries),
 * reopened with a growing pause whenever it breaks (a crash, a failover, a network cut).
 */
export function listenPostgres(
  connection: pg.ClientConfig,
  channel: string,
  handlers: ListenHandlers,
  log: Logger,
): Listening {
  let client: pg.Client | undefined;
  let connected = false;
  let closed = false;
  let retryMs = RETRY_MIN_MS;
  let timer: NodeJS.Timeout | undefined;

  const lost = (current: pg.Client, error?: unknown) => {
    if (client !== current) return;
    client = undefined;
    current.removeAllListeners("notification");
    current.end().catch(() => undefined);
    if (connected) {
      connected = false;
      handlers.onDisconnected();
      log.warn("database notifications interrupted", { event: "db.listen_lost", channel, error });
    } else if (retryMs === RETRY_MIN_MS) {
      // Never connected (or just lost again): said once per outage, not once per retry.
      log.warn("database notifications unavailable", { event: "db.listen_failed", channel, error });
    }
    if (!closed) {
      timer = setTimeout(open, retryMs);
      retryMs = Math.min(retryMs * 2, RETRY_MAX_MS);
    }
  };

  const open = () => {
    if (closed) return;
    const current = new pg.Client(connection);
    client = current;
    // Without a listener, a broken connection's 'error' would end the process.
    current.on("error", (error) => lost(current, error));
    current.on("end", () => lost(current));
    current.on("notification", (message) => {
      if (message.channel === channel && message.payload !== undefined) handlers.onMessage(message.payload);
    });
    current
      .connect()
      .then(() => current.query(`LISTEN "${channel}"`))
      .then(() => {
        if (client !== current) return;
        connected = true;
        retryMs = RETRY_MIN_MS;
        handlers.onConnected();
      })
      .catch((error: unknown) => lost(current, error));
  };

  open();
  return {
    get connected() {
      return connected;
    },
    async close() {
      closed = true;
      clearTimeout(timer);
      const current = client;
      client = undefined;
      connected = false;
      await current?.end().catch(() => undefined);
    },
  };
}

/** `LISTEN` on embedded PGlite: one in-process connection, so it never breaks. */
export async function listenPglite(pglite: PGlite, channel: string, handlers: ListenHandlers): Promise<Listening> {
  const unlisten = await pglite.listen(channel, (payload) => handlers.onMessage(payload));
  handlers.onConnected();
  return {
    connected: true,
    close: () => unlisten(),
  };
}
