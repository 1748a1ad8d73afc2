import { BadUserInputError } from "../../graphql/errors.js";
import type { AuditCursor, AuditEvent, AuditFilter, AuditSink } from "../../platform/audit/audit-event.js";
import { isUuid } from "../../platform/uuid.js";

export interface AuditEventPage {
  edges: { cursor: string; node: AuditEvent }[];
  pageInfo: { endCursor: string | null; hasNextPage: boolean };
}

function encodeCursor(event: AuditEvent): string {
  return Buffer.from(JSON.stringify([event.at.toISOString(), event.id])).toString("base64url");
}

function decodeCursor(cursor: string): AuditCursor {
  try {
    const [at, id] = JSON.parse(Buffer.from(cursor, "base64url").toString()) as unknown[];
    const time = new Date(typeof at === "string" ? at : Number.NaN);
    if (isUuid(id) && !Number.isNaN(time.getTime())) return { at: time, id };
  } catch {
    // Not JSON: refused below like any other cursor Kafkey did not make.
  }
  throw new BadUserInputError([{ path: "after", message: "is not a cursor from this list" }]);
}

/** Reads the audit trail, wherever the sink keeps it. */
export class AuditService {
  constructor(private readonly sink: AuditSink) {}

  async find(filter: AuditFilter, first: number, after?: string): Promise<AuditEventPage> {
    const page = await this.sink.find(filter, first, after === undefined ? undefined : decodeCursor(after));
    const edges = page.events.map((node) => ({ cursor: encodeCursor(node), node }));
    return { edges, pageInfo: { endCursor: edges.at(-1)?.cursor ?? null, hasNextPage: page.hasNextPage } };
  }
}
