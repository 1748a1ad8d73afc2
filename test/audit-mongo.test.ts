import { randomUUID } from "node:crypto";
import { Binary, BSON, MongoClient, UUID } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuditEvent } from "../src/platform/audit/audit-event.js";
import { fromDocument, MongoAuditSink, mongoQuery, toDocument } from "../src/platform/audit/mongo.js";
import { createLogger } from "../src/platform/observability/logger.js";

function event(overrides: Partial<AuditEvent> = {}): AuditEvent {
  return {
    id: randomUUID(),
    at: new Date("2026-11-25T08:00:00.123Z"),
    action: "user.role_assigned",
    outcome: "success",
    actor: { id: randomUUID(), email: "admin@example.com", ip: "10.0.0.1", userAgent: "curl/8" },
    target: { type: "user", id: randomUUID() },
    changes: [{ field: "roles", before: ["user"], after: ["editor", "user"] }],
    requestId: "req-1",
    organizationId: null,
    ...overrides,
  };
}

describe("the MongoDB document of an audit event (BSON, no server needed)", () => {
  it("stores UUIDs as Binary subtype 4 and round-trips through BSON unchanged", () => {
    const original = event({ organizationId: randomUUID() });
    const bytes = BSON.serialize(toDocument(original));
    const raw = BSON.deserialize(bytes, { promoteBuffers: false, promoteValues: false });
    for (const binary of [raw._id, raw.actor.id, raw.target.id, raw.organizationId]) {
      expect(binary).toBeInstanceOf(Binary);
      expect((binary as Binary).sub_type).toBe(Binary.SUBTYPE_UUID);
    }
    expect(Buffer.from((raw._id as Binary).buffer).toString("hex")).toBe(original.id.replaceAll("-", ""));

    const back = fromDocument(BSON.deserialize(bytes) as never);
    expect(back).toEqual(original);
  });

  it("has the documented shape: times as dates, no id strings", () => {
    const doc = toDocument(event({ target: null, actor: { id: null, email: "x@y.z", ip: null, userAgent: null } }));
    expect(Object.keys(doc).sort()).toEqual(
      ["_id", "action", "actor", "at", "changes", "organizationId", "outcome", "requestId", "target"].sort(),
    );
    expect(doc.at).toBeInstanceOf(Date);
    expect(doc.target).toBeNull();
    expect(doc.actor).toEqual({ id: null, email: "x@y.z", ip: null, userAgent: null });
  });

  it("queries by the same UUID encoding, newest first after a cursor", () => {
    const actorId = randomUUID();
    const cursor = { at: new Date("2026-11-25T08:00:00Z"), id: randomUUID() };
    const query = mongoQuery({ actorId, action: "auth.login", from: new Date(0) }, cursor);
    expect(query["actor.id"]).toEqual(new UUID(actorId));
    expect(query.action).toBe("auth.login");
    expect(query.at).toEqual({ $gte: new Date(0), $lte: cursor.at });
    expect(query.$or).toEqual([{ at: { $lt: cursor.at } }, { at: cursor.at, _id: { $lt: new UUID(cursor.id) } }]);
  });
});

const url = process.env.MONGODB_TEST_URL;
if (!url) {
  console.warn(
    "MongoDB sink tests skipped: MONGODB_TEST_URL is not set (no MongoDB server can be installed on this machine; " +
      "GitHub Actions runs them against its mongo service).",
  );
}

describe.skipIf(!url)("the MongoDB audit sink against a real server (MONGODB_TEST_URL)", () => {
  const database = `kafkey_test_${randomUUID().slice(0, 8)}`;
  let sink: MongoAuditSink;
  let client: MongoClient;

  beforeAll(async () => {
    // The sink's database comes from its URL: this file's own, dropped afterwards.
    const sinkUrl = url!.replace(/^(mongodb(?:\+srv)?:\/\/[^/?]+)\/?[^?]*/, `$1/${database}`);
    const options = { url: sinkUrl, poolSize: 5, connectTimeoutMs: 5000, serverSelectionTimeoutMs: 5000 };
    sink = new MongoAuditSink(options, createLogger("silent"));
    await sink.prepare();
    client = await new MongoClient(url!).connect();
  });
  afterAll(async () => {
    await client?.db(database).dropDatabase();
    await client?.close();
    await sink?.close();
  });

  it("creates the collection with its indexes at start-up", async () => {
    const indexes = await client.db(database).collection("audit_events").indexes();
    expect(indexes.map((i) => i.name).sort()).toEqual(["_id_", "action", "actor_id", "at", "target_id"]);
  });

  it("stores each event once however often it is delivered, with UUIDs as subtype 4", async () => {
    const once = event();
    await sink.write([once]);
    await sink.write([once, event()]);
    const stored = await client
      .db(database)
      .collection<{ _id: UUID }>("audit_events")
      .find({ _id: new UUID(once.id) })
      .toArray();
    expect(stored).toHaveLength(1);
    expect((stored[0]!._id as unknown as Binary).sub_type).toBe(Binary.SUBTYPE_UUID);
  });

  it("finds by actor, target and action, newest first, page by page", async () => {
    const actorId = randomUUID();
    const events = Array.from({ length: 5 }, (_, i) =>
      event({
        at: new Date(Date.UTC(2026, 10, 25, 9, 0, i)),
        actor: { id: actorId, email: null, ip: null, userAgent: null },
      }),
    );
    await sink.write(events);
    const first = await sink.find({ actorId }, 3);
    expect(first.hasNextPage).toBe(true);
    const last = first.events.at(-1)!;
    const second = await sink.find({ actorId }, 3, { at: last.at, id: last.id });
    expect([...first.events, ...second.events].map((e) => e.id)).toEqual(events.reverse().map((e) => e.id));
    expect(second.hasNextPage).toBe(false);
    expect((await sink.find({ targetId: events[0]!.target!.id! }, 10)).events).toHaveLength(1);
  });
});
