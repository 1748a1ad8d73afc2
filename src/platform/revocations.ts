import { LRUCache } from "lru-cache";
import type { Database, Prisma } from "./db/database.js";
import type { Listening } from "./db/listener.js";
import type { KeyValueStore } from "./kv/kv.js";
import type { Logger } from "./observability/logger.js";

/** The PostgreSQL channel revocations are announced on. */
const CHANNEL = "kafkey_revocations";
/** Ids per `NOTIFY`: a payload must stay under PostgreSQL's 8,000 bytes. */
const IDS_PER_NOTIFY = 100;

/** A kind of credential that can be revoked: `session` now; API keys, signing keys later. */
export type CredentialKind = string;

/**
 * Reads from the database of record who a credential belongs to while it is live.
 * @returns its owner's id; null when it is revoked, expired or unknown.
 */
export type OwnerLoader = (id: string) => Promise<string | null>;

export interface RevocationOptions {
  /** How long an instance trusts an answer without asking the database again: the bound on a missed notification. */
  cacheMs: number;
  maxEntries: number;
}

/** Called for every revocation this instance hears of, whichever instance made it. */
export type RevocationListener = (kind: CredentialKind, id: string) => void;

const NONE = "";
const cacheKey = (kind: CredentialKind, id: string) => `${kind}:${id}`;
const markerKey = (kind: CredentialKind, id: string) => `revoked:${kind}:${id}`;

/**
 * Whether a credential is still live, decided by the database of record and made fast by a small
 * per-instance cache. Revoking writes the credential's row and announces it with `NOTIFY` in the same
 * transaction, so every instance drops its answer at the commit; a listening connection that breaks
 * (and so may have missed announcements) empties the cache when it reconnects, and nothing is cached
 * while it is down. A mark in the shared store covers the moment between a commit and its
 * announcement's arrival. A wiped or unreachable shared store costs database reads, never a revoked
 * credential accepted.
 */
export class Revocations {
  private readonly loaders = new Map<CredentialKind, OwnerLoader>();
  private readonly owners: LRUCache<string, string>;
  private readonly listeners = new Set<RevocationListener>();
  /** Bumped by every announcement and flush: a load that overlapped one is not cached. */
  private generation = 0;
  private listening: Listening | undefined;

  constructor(
    private readonly db: Database,
    private readonly kv: KeyValueStore,
    private readonly options: RevocationOptions,
    private readonly log: Logger,
  ) {
    this.owners = new LRUCache({ max: options.maxEntries, ttl: Math.max(options.cacheMs, 1) });
  }

  /** Declares how to read credentials of `kind` from the database. */
  register(kind: CredentialKind, loader: OwnerLoader): void {
    this.loaders.set(kind, loader);
  }

  /** Starts listening for revocations announced by any instance. */
  async start(): Promise<void> {
    this.listening = await this.db.listen(
      CHANNEL,
      {
        onMessage: (payload) => this.heard(payload),
        onConnected: () => this.flush(),
        onDisconnected: () => this.flush(),
      },
      this.log,
    );
  }

  /**
   * The owner of credential `kind`/`id` while it is live; null once it is revoked, expired or unknown.
   */
  async ownerOf(kind: CredentialKind, id: string): Promise<string | null> {
    const loader = this.loaders.get(kind);
    if (!loader) throw new Error(`no loader for credentials of kind ${kind}`);
    const key = cacheKey(kind, id);
    const trusted = this.options.cacheMs > 0 && this.listening?.connected === true;
    const generation = this.generation;
    const [marked, cached] = await Promise.all([this.marked(kind, id), trusted ? this.owners.get(key) : undefined]);
    if (marked) return null;
    if (cached !== undefined) return cached === NONE ? null : cached;
    const owner = await loader(id);
    if (trusted && generation === this.generation) this.owners.set(key, owner ?? NONE);
    return owner;
  }

  /**
   * Announces, inside the transaction that revokes them, that these credentials are revoked: every
   * instance hears it when the transaction commits, and not at all if it rolls back.
   */
  async announce(tx: Prisma.TransactionClient, kind: CredentialKind, ids: readonly string[]): Promise<void> {
    for (let i = 0; i < ids.length; i += IDS_PER_NOTIFY) {
      const payload = ids
        .slice(i, i + IDS_PER_NOTIFY)
        .map((id) => cacheKey(kind, id))
        .join(",");
      await tx.$queryRaw`SELECT pg_notify(${CHANNEL}, ${payload})::text AS "sent"`;
    }
  }

  /**
   * After the revoking transaction committed: this instance forgets the credentials at once, and the
   * shared store marks them until no instance can still hold an answer from before.
   */
  async revoked(kind: CredentialKind, ids: readonly string[]): Promise<void> {
    for (const id of ids) this.forget(kind, id);
    const ttlMs = this.options.cacheMs * 2 + 1_000;
    await Promise.all(ids.map((id) => this.kv.set(markerKey(kind, id), "1", ttlMs))).catch((error: unknown) =>
      // The announcement reaches every instance anyway; the mark only shortens the moment before it does.
      this.log.warn("revocation not marked in the shared store", { event: "revocation.mark_failed", kind, error }),
    );
  }

  /** @returns a function that stops `listener` from being called. */
  onRevoked(listener: RevocationListener): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.listeners.clear();
    await this.listening?.close();
  }

  private async marked(kind: CredentialKind, id: string): Promise<boolean> {
    try {
      return (await this.kv.get(markerKey(kind, id))) !== null;
    } catch {
      // The store is down: the database decides alone.
      return false;
    }
  }

  private heard(payload: string): void {
    const entries = payload.split(",").flatMap((entry) => {
      const split = entry.indexOf(":");
      return split > 0 ? [[entry.slice(0, split), entry.slice(split + 1)] as const] : [];
    });
    // Every id is forgotten before any listener runs: one that fails cannot leave the rest cached.
    for (const [kind, id] of entries) this.forget(kind, id, false);
    for (const [kind, id] of entries) this.tell(kind, id);
  }

  private forget(kind: CredentialKind, id: string, tell = true): void {
    this.generation++;
    this.owners.delete(cacheKey(kind, id));
    if (tell) this.tell(kind, id);
  }

  private tell(kind: CredentialKind, id: string): void {
    for (const listener of this.listeners) {
      try {
        listener(kind, id);
      } catch (error) {
        this.log.error("revocation listener failed", { event: "revocation.listener_failed", kind, error });
      }
    }
  }

  private flush(): void {
    this.generation++;
    this.owners.clear();
  }
}
