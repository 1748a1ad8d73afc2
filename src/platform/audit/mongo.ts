import { type Collection, type Db, type Filter, MongoClient, UUID } from "mongodb";
import type { Logger } from "../observability/logger.js";
import type { TimeCursor } from "../time-cursor.js";
import type { AuditChange, AuditEvent, AuditFilter, AuditOutcome, AuditPage, AuditSink } from "./audit-event.js";

/** An audit event as MongoDB stores it: UUIDs as BSON Binary subtype 4, times as BSON dates. */
export interface AuditDocument {
  _id: UUID;
  at: Date;
  action: string;
  outcome: AuditOutcome;
  actor: { id: UUID | null; email: string | null; ip: string | null; userAgent: string | null };
  target: { type: string; id: UUID | null } | null;
  changes: AuditChange[];
  requestId: string | null;
  organizationId: UUID | null;
}

const uuid = (id: string | null) => (id === null ? null : new UUID(id));
const text = (id: UUID | null) => (id === null ? null : id.toHexString());

export function toDocument(event: AuditEvent): AuditDocument {
  return {
    _id: new UUID(event.id),
    at: event.at,
    action: event.action,
    outcome: event.outcome,
    actor: { ...event.actor, id: uuid(event.actor.id) },
    target: event.target && { type: event.target.type, id: uuid(event.target.id) },
    changes: event.changes,
    requestId: event.requestId,
    organizationId: uuid(event.organizationId),
  };
}

export function fromDocument(doc: AuditDocument): AuditEvent {
  return {
    id: doc._id.toHexString(),
    at: doc.at,
    action: doc.action,
    outcome: doc.outcome,
    actor: { ...doc.actor, id: text(doc.actor.id) },
    target: doc.target && { type: doc.target.type, id: text(doc.target.id) },
    changes: doc.changes,
    requestId: doc.requestId,
    organizationId: text(doc.organizationId),
  };
}

/** The MongoDB query of a filter and a cursor, newest first. */
export function mongoQuery(filter: AuditFilter, cursor?: TimeCursor): Filter<AuditDocument> {
  const query: Filter<AuditDocument> = {};
  if (filter.actorId) query["actor.id"] = new UUID(filter.actorId);
  if (filter.targetId) query["target.id"] = new UUID(filter.targetId);
  if (filter.action) query.action = filter.action;
  if (filter.organizationId) query.organizationId = new UUID(filter.organizationId);
  if (filter.from || filter.to)
    query.at = { ...(filter.from && { $gte: filter.from }), ...(filter.to && { $lt: filter.to }) };
  if (cursor) {
    // The `$lte` bounds the index range; the `$or` breaks ties between events of the same millisecond.
    query.at = { ...query.at, $lte: cursor.at };
    query.$or = [{ at: { $lt: cursor.at } }, { at: cursor.at, _id: { $lt: new UUID(cursor.id) } }];
  }
  return query;
}

export interface MongoAuditOptions {
  url: string;
  poolSize: number;
  connectTimeoutMs: number;
  serverSelectionTimeoutMs: number;
}

const COLLECTION = "audit_events";
/** How long an operation of the sink may wait for MongoDB's answer (finding a server has its own bound). */
const OPERATION_TIMEOUT_MS = 15_000;

/**
 * The audit trail in MongoDB, when `MONGODB_URL` is set. The database is the URL's (`kafkey` when it
 * names none). The collection and its indexes are created at start-up, or at the first delivery when
 * MongoDB was down then; events wait in the outbox meanwhile.
 */
export class MongoAuditSink implements AuditSink {
  readonly kind = "mongodb";
  private readonly client: MongoClient;
  private readonly database: Db;
  private readonly events: Collection<AuditDocument>;
  private ready: Promise<void> | undefined;

  constructor(
    options: MongoAuditOptions,
    private readonly log: Logger,
  ) {
    this.client = new MongoClient(options.url, {
      maxPoolSize: options.poolSize,
      connectTimeoutMS: options.connectTimeoutMs,
      serverSelectionTimeoutMS: options.serverSelectionTimeoutMs,
      // This driver (7.9) ignores timeoutMS: a server that stops answering mid-operation is
      // bounded by the socket going quiet instead.
      socketTimeoutMS: OPERATION_TIMEOUT_MS,
      appName: "kafkey",
    });
    // Multi-host URLs are not WHATWG URLs: the database is read from the path by hand.
    const named = /^mongodb(?:\+srv)?:\/\/[^/]+\/([^?/]+)/.exec(options.url)?.[1];
    this.database = this.client.db(named ? decodeURIComponent(named) : "kafkey");
    this.events = this.database.collection<AuditDocument>(COLLECTION);
  }

  /** Creates the collection and its indexes; a failure is logged and tried again at the next write. */
  async prepare(): Promise<void> {
    await this.ensureCollection().catch((error: unknown) =>
      this.log.warn("MongoDB audit collection not prepared yet", { error }),
    );
  }

  /**
   * Connects when not connected. A client whose first connection failed stays closed unless asked
   * to connect again: every operation asks, so the sink recovers when MongoDB comes back.
   */
  private async connected(): Promise<void> {
    await this.client.connect();
  }

  private ensureCollection(): Promise<void> {
    this.ready ??= (async () => {
      await this.connected();
      // Creates the collection too. Each index ends in the list's sort order, so a filtered page is an
      // index range, never an in-memory sort.
      await this.events.createIndexes([
        { key: { at: -1, _id: -1 }, name: "at" },
        { key: { "actor.id": 1, at: -1, _id: -1 }, name: "actor_id" },
        { key: { "target.id": 1, at: -1, _id: -1 }, name: "target_id" },
        { key: { action: 1, at: -1, _id: -1 }, name: "action" },
        { key: { organizationId: 1, at: -1, _id: -1 }, name: "organization_id" },
      ]);
    })().catch((error: unknown) => {
      this.ready = undefined;
      throw error;
    });
    return this.ready;
  }

  async write(events: AuditEvent[]): Promise<void> {
    if (events.length === 0) return;
    await this.ensureCollection();
    // An upsert that only sets on insert: delivering an event again leaves the stored one as it is.
    await this.events.bulkWrite(
      events.map((event) => {
        const { _id, ...fields } = toDocument(event);
        return { updateOne: { filter: { _id }, update: { $setOnInsert: fields }, upsert: true } };
      }),
      { ordered: false },
    );
  }

  async find(filter: AuditFilter, first: number, cursor?: TimeCursor): Promise<AuditPage> {
    await this.connected();
    const docs = await this.events
      .find(mongoQuery(filter, cursor))
      .sort({ at: -1, _id: -1 })
      .limit(first + 1)
      .toArray();
    return { events: docs.slice(0, first).map(fromDocument), hasNextPage: docs.length > first };
  }

  async ping(): Promise<void> {
    await this.connected();
    await this.database.command({ ping: 1 });
  }

  close(): Promise<void> {
    return this.client.close();
  }
}
