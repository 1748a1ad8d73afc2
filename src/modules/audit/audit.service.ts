import { decodeCursor, encodeCursor } from "../../graphql/pagination.js";
import type { AuditEvent, AuditFilter, AuditSink } from "../../platform/audit/audit-event.js";

export interface AuditEventPage {
  edges: { cursor: string; node: AuditEvent }[];
  pageInfo: { endCursor: string | null; hasNextPage: boolean };
}

/** Reads the audit trail, wherever the sink keeps it. */
export class AuditService {
  constructor(private readonly sink: AuditSink) {}

  async find(filter: AuditFilter, first: number, after?: string): Promise<AuditEventPage> {
    const page = await this.sink.find(filter, first, after === undefined ? undefined : decodeCursor(after));
    const edges = page.events.map((node) => ({ cursor: encodeCursor(node.at, node.id), node }));
    return { edges, pageInfo: { endCursor: edges.at(-1)?.cursor ?? null, hasNextPage: page.hasNextPage } };
  }
}
