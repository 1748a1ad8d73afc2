import type { AuditEvent, AuditFilter, AuditSink } from "../../platform/audit/audit-event.js";
import { NotFoundError } from "../../kernel/errors.js";
import { decodeCursor, encodeCursor } from "../../kernel/paging.js";
import { can, type Principal } from "../../kernel/principal.js";

export interface AuditEventPage {
  edges: { cursor: string; node: AuditEvent }[];
  pageInfo: { endCursor: string | null; hasNextPage: boolean };
}

/** Reads the audit trail, wherever the sink keeps it. */
export class AuditService {
  constructor(private readonly sink: AuditSink) {}

  /**
   * The events matching `filter` that `actor` may read: with the platform's `audit.read`, the whole
   * trail; else (through a role in the active organization) only that organization's, whatever the
   * filter names. NOT_FOUND without an active organization.
   */
  async find(
    actor: Principal,
    filter: AuditFilter | undefined,
    first: number,
    after?: string,
  ): Promise<AuditEventPage> {
    const scoped = can(actor, "audit.read") ? { ...filter } : { ...filter, organizationId: activeOrganization(actor) };
    const page = await this.sink.find(scoped, first, after === undefined ? undefined : decodeCursor(after));
    const edges = page.events.map((node) => ({ cursor: encodeCursor(node.at, node.id), node }));
    return { edges, pageInfo: { endCursor: edges.at(-1)?.cursor ?? null, hasNextPage: page.hasNextPage } };
  }
}

/** The organization the caller acts in (membership already checked), as `Context.tenant()` finds it. */
function activeOrganization(actor: Principal): string {
  const id = actor.organization?.id;
  if (!id) throw new NotFoundError("Organization");
  return id;
}
