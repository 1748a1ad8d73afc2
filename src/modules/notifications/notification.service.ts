import type { Notification as NotificationRecord, Prisma } from "../../generated/prisma/client.js";
import type { AuditEvent, AuditFilter } from "../../platform/audit/audit-event.js";
import { fromStored, toStored, type StoredAuditEvent } from "../../platform/audit/audit-event.js";
import type { PrismaClient } from "../../platform/db/database.js";
import type { EventBus, Stream } from "../../platform/events/event-bus.js";
import { actedAlone, securityNotice } from "./security-events.js";
import type { SecurityEvent } from "./notification.type.js";
import { BadUserInputError } from "../../kernel/errors.js";
import { decodeCursor, encodeCursor, MAX_PAGE_SIZE } from "../../kernel/paging.js";
import { can, canInOrganization, type Principal } from "../../kernel/principal.js";

/** The live topics: every audit event as it is delivered, and every new notification. */
const AUDIT_TOPIC = "audit";
const NOTIFICATION_TOPIC = "notifications";

/** Which part of the audit trail one may follow live: all of it, or one organization's. */
type AuditScope = { organizationId?: string };

/** A live audit stream: whom it is for, checked before it opens and before each event; and its opening. */
export interface LiveAudit {
  allowed(principal: Principal): boolean;
  open(): Promise<Stream<AuditEvent>>;
}

type StoredNotification = Omit<NotificationRecord, "createdAt" | "readAt"> & { createdAt: string; readAt: null };

function matches(event: AuditEvent, filter: AuditFilter): boolean {
  return (
    (!filter.actorId || event.actor.id === filter.actorId) &&
    (!filter.targetId || event.target?.id === filter.targetId) &&
    (!filter.action || event.action === filter.action) &&
    (!filter.organizationId || event.organizationId === filter.organizationId)
  );
}

/** Who may follow the audit trail live, and which part: all of it, or the active organization's. */
function auditScope(principal: Principal): AuditScope | undefined {
  if (can(principal, "audit.read")) return {};
  const active = principal.organization;
  if (active && canInOrganization(principal, active.id, "audit.read")) return { organizationId: active.id };
  return undefined;
}

function asSecurityEvent(event: AuditEvent, userId: string): SecurityEvent | undefined {
  const notice = securityNotice(event);
  if (notice?.userId !== userId) return undefined;
  return {
    id: event.id,
    at: event.at,
    action: event.action,
    title: notice.title,
    // Where the user was, not where an administrator who acted on them was.
    ip: actedAlone(event, userId) ? event.actor.ip : null,
    userAgent: actedAlone(event, userId) ? event.actor.userAgent : null,
    actorEmail: event.actor.id !== userId ? event.actor.email : null,
    sessionId: event.target?.type === "session" ? event.target.id : null,
  };
}

/**
 * Users' notifications and the live streams. Every audit event, once delivered to the audit sink,
 * comes through `delivered()`: the ones about a user's own account go into that user's inbox (once
 * each, however often delivered), and everything is published to the streams of every instance.
 */
export class NotificationService {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly bus: EventBus,
  ) {}

  async delivered(events: AuditEvent[]): Promise<void> {
    const rows: Prisma.NotificationCreateManyInput[] = [];
    for (const event of events) {
      const notice = securityNotice(event);
      if (notice?.notify) {
        rows.push({
          userId: notice.userId,
          eventId: event.id,
          kind: event.action,
          title: notice.title,
          body: notice.body,
        });
      }
    }
    const added = rows.length > 0 ? await this.addToInboxes(rows) : [];
    // Not awaited: the live streams must not hold up delivery (a Redis that is down would stall it).
    void Promise.allSettled([
      ...events.map((event) => this.bus.publish(AUDIT_TOPIC, toStored(event))),
      ...added.map((notification) => this.bus.publish(NOTIFICATION_TOPIC, notification)),
    ]);
  }

  /** Users deleted since have no inbox; a second delivery of an event adds nothing. */
  private async addToInboxes(rows: Prisma.NotificationCreateManyInput[]): Promise<NotificationRecord[]> {
    const userIds = [...new Set(rows.map((row) => row.userId))];
    const existing = new Set(
      (await this.prisma.user.findMany({ where: { id: { in: userIds } }, select: { id: true } })).map((u) => u.id),
    );
    return this.prisma.notification.createManyAndReturn({
      data: rows.filter((row) => existing.has(row.userId)),
      skipDuplicates: true,
    });
  }

  /** The caller's inbox, newest first. */
  async list(userId: string, first: number, after: string | undefined, unreadOnly: boolean) {
    const where: Prisma.NotificationWhereInput = { userId, ...(unreadOnly ? { readAt: null } : {}) };
    const cursor = after === undefined ? undefined : decodeCursor(after);
    const [rows, unreadCount] = await Promise.all([
      this.prisma.notification.findMany({
        where: cursor
          ? { ...where, OR: [{ createdAt: { lt: cursor.at } }, { createdAt: cursor.at, id: { lt: cursor.id } }] }
          : where,
        orderBy: [{ createdAt: "desc" }, { id: "desc" }],
        take: first + 1,
      }),
      this.prisma.notification.count({ where: { userId, readAt: null } }),
    ]);
    const edges = rows.slice(0, first).map((node) => ({ cursor: encodeCursor(node.createdAt, node.id), node }));
    return {
      edges,
      pageInfo: { endCursor: edges.at(-1)?.cursor ?? null, hasNextPage: rows.length > first },
      unreadCount,
    };
  }

  /** Marks the caller's notifications `ids` (at most a page of them) read. @returns how many were unread. */
  async markRead(userId: string, ids: string[]): Promise<number> {
    if (ids.length > MAX_PAGE_SIZE) {
      throw new BadUserInputError([{ path: "ids", message: `at most ${MAX_PAGE_SIZE} at a time` }]);
    }
    const { count } = await this.prisma.notification.updateMany({
      where: { userId, id: { in: ids }, readAt: null },
      data: { readAt: new Date() },
    });
    return count;
  }

  /** What happens to `userId`'s account from now on. */
  securityEvents(userId: string): Promise<Stream<SecurityEvent>> {
    return this.bus.subscribe(AUDIT_TOPIC, (message) => {
      const event = fromStored(message as StoredAuditEvent);
      return asSecurityEvent(event, userId);
    });
  }

  /**
   * A security event as `viewer` (loaded again, as of now) may see it: the email of someone else who
   * acted is only for those who may read users.
   */
  async securityEventFor(event: SecurityEvent, viewer: () => Promise<Principal | null>): Promise<SecurityEvent> {
    if (event.actorEmail === null) return event;
    const now = await viewer();
    return now && can(now, "users.read") ? event : { ...event, actorEmail: null };
  }

  /**
   * The audit trail live, matching `filter`, in the part the caller may follow when it opens: all of
   * it, or their active organization's. A stream opened for one organization ends when the caller no
   * longer reads it (or acts in another).
   */
  liveAudit(filter: AuditFilter | null | undefined): LiveAudit {
    let scope: AuditScope | undefined;
    return {
      allowed: (principal) => {
        const now = auditScope(principal);
        const same = now !== undefined && (scope === undefined || now.organizationId === scope.organizationId);
        scope ??= now;
        return same;
      },
      open: () => this.auditEvents({ ...filter, ...scope }),
    };
  }

  /** Audit events matching `filter` from now on. */
  auditEvents(filter: AuditFilter): Promise<Stream<AuditEvent>> {
    return this.bus.subscribe(AUDIT_TOPIC, (message) => {
      const event = fromStored(message as StoredAuditEvent);
      return matches(event, filter) ? event : undefined;
    });
  }

  /** `userId`'s new notifications from now on. */
  added(userId: string): Promise<Stream<NotificationRecord>> {
    return this.bus.subscribe(NOTIFICATION_TOPIC, (message) => {
      const stored = message as StoredNotification;
      if (stored.userId !== userId) return undefined;
      return { ...stored, createdAt: new Date(stored.createdAt), readAt: null };
    });
  }
}
