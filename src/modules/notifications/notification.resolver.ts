import { Arg, Args, ArgsType, Ctx, Field, Int, Mutation, Query, Resolver, Root, Subscription } from "type-graphql";

import { actorOf, type Context } from "../../graphql/context.js";
import { BadUserInputError } from "../../graphql/errors.js";
import { CursorArgs, MAX_PAGE_SIZE } from "../../graphql/pagination.js";
import type { AuditEvent as AuditEventRecord, AuditFilter } from "../../platform/audit/audit-event.js";
import { AuditEvent, AuditEventFilter } from "../audit/index.js";
import { can, canInOrganization, type Principal } from "../permissions/index.js";
import { openLive } from "./live.js";
import { Notification, NotificationConnection, SecurityEvent } from "./notification.type.js";
import { UUID } from "../../graphql/scalars.js";

@ArgsType()
class NotificationArgs extends CursorArgs {
  @Field(() => Boolean, { defaultValue: false })
  unreadOnly!: boolean;
}

interface LiveAuditArgs {
  filter?: AuditFilter | null;
}

/** Who may follow the audit trail live, and which part: all of it, or the active organization's. */
function auditScope(principal: Principal): { organizationId?: string } | undefined {
  if (can(principal, "audit.read")) return {};
  const active = principal.organization;
  if (active && canInOrganization(principal, active.id, "audit.read")) return { organizationId: active.id };
  return undefined;
}

@Resolver()
export class NotificationResolver {
  @Query(() => NotificationConnection, { description: "The caller's notifications, newest first." })
  async notifications(@Args(() => NotificationArgs) args: NotificationArgs, @Ctx() ctx: Context) {
    const { userId } = await actorOf(ctx);
    return ctx.services.notifications.list(userId, args.first, args.after, args.unreadOnly);
  }

  @Mutation(() => Int, { description: "Marks the caller's notifications read; answers how many were unread." })
  async markNotificationsRead(@Arg("ids", () => [UUID]) ids: string[], @Ctx() ctx: Context) {
    if (ids.length > MAX_PAGE_SIZE) {
      throw new BadUserInputError([{ path: "ids", message: `at most ${MAX_PAGE_SIZE} at a time` }]);
    }
    return ctx.services.notifications.markRead((await actorOf(ctx)).userId, ids);
  }

  @Subscription(() => SecurityEvent, {
    description:
      "What happens to the caller's account from now on: sign-ins (with IP and device), password and " +
      "two-factor changes, sessions ended, roles changed, lockouts.",
    subscribe: ({ context }) =>
      openLive(
        context as Context,
        () => true,
        undefined,
        (principal) => (context as Context).services.notifications.securityEvents(principal.userId),
      ),
  })
  async securityEvents(@Root() event: SecurityEvent, @Ctx() ctx: Context): Promise<SecurityEvent> {
    if (event.actorEmail === null) return event;
    // Someone else acted: their email is for those who may read users, as of now.
    const viewer = await ctx.reload();
    return viewer && can(viewer, "users.read") ? event : { ...event, actorEmail: null };
  }

  @Subscription(() => AuditEvent, {
    name: "auditEvents",
    description:
      "The audit trail live. Needs audit.read: through a platform role, every event; through a role in " +
      "the active organization, that organization's.",
    subscribe: ({ args, context }) => {
      const ctx = context as Context;
      let scope: { organizationId?: string } | undefined;
      return openLive(
        ctx,
        (principal) => {
          const now = auditScope(principal);
          // A stream opened for one organization ends when the caller no longer reads it.
          const same = now !== undefined && (scope === undefined || now.organizationId === scope.organizationId);
          scope ??= now;
          return same;
        },
        "audit.read",
        () => ctx.services.notifications.auditEvents({ ...(args as LiveAuditArgs).filter, ...scope }),
      );
    },
  })
  auditEventsLive(
    @Root() event: AuditEventRecord,
    @Arg("filter", () => AuditEventFilter, {
      nullable: true,
      description: "As for the query; from and to do not apply to a live stream",
    })
    _filter: AuditEventFilter | undefined,
  ): AuditEventRecord {
    return event;
  }

  @Subscription(() => Notification, {
    description: "The caller's new notifications, as they are added.",
    subscribe: ({ context }) =>
      openLive(
        context as Context,
        () => true,
        undefined,
        (principal) => (context as Context).services.notifications.added(principal.userId),
      ),
  })
  notificationAdded(@Root() notification: Notification): Notification {
    return notification;
  }
}
