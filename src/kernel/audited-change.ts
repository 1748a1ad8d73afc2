import { type AuditTarget, changesBetween } from "../platform/audit/audit-event.js";
import type { AuditEntry } from "../platform/audit/audit-trail.js";
import { asActor, type Principal } from "./principal.js";

/** What a signed-in caller changed, as an audit event describes it. */
export interface AuditedChange<T extends Record<string, unknown>> {
  action: string;
  target: AuditTarget;
  /** The target before the change: null when it is created. */
  before?: T | null;
  /** The target after the change: null when it is deleted. */
  after?: T | null;
  /** The fields the event shows the change of; none when omitted. */
  fields?: readonly (keyof T & string)[];
  /** The organization it happened in, if any. */
  organizationId?: string | null;
}

/**
 * The audit entry of `actor`'s change: the fields among `fields` that differ between `before` and
 * `after`. Every service that records what an admin did builds its entry here.
 */
export function changeBy<T extends Record<string, unknown>>(actor: Principal, change: AuditedChange<T>): AuditEntry {
  const { before = null, after = null, fields = [], ...entry } = change;
  return { ...entry, actor: asActor(actor), changes: changesBetween(before, after, fields) };
}
