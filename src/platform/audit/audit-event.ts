import { isSecretKey, redact, REDACTED } from "../observability/redact.js";
import type { TimeCursor } from "../time-cursor.js";

/** One field an audited action changed. Secrets are never recorded, only that they changed. */
export interface AuditChange {
  field: string;
  before: unknown;
  after: unknown;
}

/** Who did it, from where. `id` is null for someone not (yet) signed in, such as a failed login. */
export interface AuditActor {
  id: string | null;
  email: string | null;
  ip: string | null;
  userAgent: string | null;
}

/** What it was done to: `{ type: "user", id }`, `{ type: "role", id }`, ... */
export interface AuditTarget {
  type: string;
  id: string | null;
}

export type AuditOutcome = "success" | "failure";

/** "Who did what, when, from where": one administrative or security-relevant action. */
export interface AuditEvent {
  /** A UUID; sinks store an event once however often it is delivered. */
  id: string;
  at: Date;
  /** `user.updated`, `auth.login_failed`, `security.refresh_reuse`, ... */
  action: string;
  outcome: AuditOutcome;
  actor: AuditActor;
  target: AuditTarget | null;
  changes: AuditChange[];
  /** The `x-request-id` of the request that caused it. */
  requestId: string | null;
  /** Null until organizations exist. */
  organizationId: string | null;
}

/** How an event travels through the outbox: JSON, with the time as an ISO string. */
export type StoredAuditEvent = Omit<AuditEvent, "at"> & { at: string };

export function toStored(event: AuditEvent): StoredAuditEvent {
  return { ...event, at: event.at.toISOString() };
}

export function fromStored(stored: StoredAuditEvent): AuditEvent {
  return { ...stored, at: new Date(stored.at) };
}

/**
 * The fields among `fields` whose values differ between `before` and `after` (either may be null:
 * created or deleted). Values are compared as JSON; secret-sounding fields are redacted regardless.
 */
export function changesBetween<T extends Record<string, unknown>>(
  before: T | null,
  after: T | null,
  fields: readonly (keyof T & string)[],
): AuditChange[] {
  const changes: AuditChange[] = [];
  for (const field of fields) {
    const was = before?.[field] ?? null;
    const is = after?.[field] ?? null;
    if (JSON.stringify(was) === JSON.stringify(is)) continue;
    const secret = isSecretKey(field);
    changes.push({ field, before: secret ? REDACTED : redact(was), after: secret ? REDACTED : redact(is) });
  }
  return changes;
}

/** Events matching every given condition; `from` inclusive, `to` exclusive. */
export interface AuditFilter {
  actorId?: string;
  targetId?: string;
  action?: string;
  /** Only what happened in this organization. */
  organizationId?: string;
  from?: Date;
  to?: Date;
}

export interface AuditPage {
  events: AuditEvent[];
  hasNextPage: boolean;
}

/**
 * Where the audit trail is kept: MongoDB (mongo.ts) or PostgreSQL (postgres.ts). Chosen in app.ts.
 */
export interface AuditSink {
  readonly kind: "mongodb" | "postgres";
  /** Stores the events; an event whose id is already stored is left as it is. */
  write(events: AuditEvent[]): Promise<void>;
  /** Up to `first` events matching `filter`, newest first, after `cursor`. */
  find(filter: AuditFilter, first: number, cursor?: TimeCursor): Promise<AuditPage>;
  /** Resolves when the sink answers. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
