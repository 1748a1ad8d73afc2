import { Arg, Args, ArgsType, Ctx, Field, Int, Mutation, Query, Resolver, Root, Subscription } from "type-graphql";

import type { Context } from "../../graphql/context.js";
import { Actor } from "../../graphql/decorators.js";
import { openLive } from "../../graphql/live.js";
import { CursorArgs } from "../../graphql/pagination.js";
import { UUID } from "../../graphql/scalars.js";
import type { Principal } from "../../kernel/principal.js";
import type { AuditEvent as AuditEventRecord, AuditFilter } from "../../platform/audit/audit-event.js";
import { AuditEvent, AuditEventFilter } from "../audit/index.js";
import { NotificationService } from "./notification.service.js";
import { Notification, NotificationConnection, SecurityEvent } from "./notification.type.js";

@ArgsType()
class NotificationArgs extends CursorArgs {
  @Field(() => Boolean, { defaultValue: false })
  unreadOnly!: boolean;
}

interface LiveAuditArgs {
  filter?: AuditFilter | null;
}

@Resolver()
export class NotificationResolver {
  constructor(private readonly service: NotificationService) {}

  /** A subscribe step runs outside any instance: this app's service, from the request's container. */
  private static serviceOf(context: unknown): NotificationService {
    return (context as Context).container.get(NotificationService);
  }

  @Query(() => NotificationConnection, { description: "The caller's notifications, newest first." })
  notifications(@Args(() => NotificationArgs) args: NotificationArgs, @Actor() actor: Principal) {
    return this.service.list(actor.userId, args.first, args.after, args.unreadOnly);
  }

  @Mutation(() => Int, { description: "Marks the caller's notifications read; answers how many were unread." })
  markNotificationsRead(@Arg("ids", () => [UUID]) ids: string[], @Actor() actor: Principal) {
    return this.service.markRead(actor.userId, ids);
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
        (principal) => NotificationResolver.serviceOf(context).securityEvents(principal.userId),
      ),
  })
  securityEvents(@Root() event: SecurityEvent, @Ctx() ctx: Context): Promise<SecurityEvent> {
    return this.service.securityEventFor(event, () => ctx.reload());
  }

  @Subscription(() => AuditEvent, {
    name: "auditEvents",
    description:
      "The audit trail live. Needs audit.read: through a platform role, every event; through a role in " +
      "the active organization, that organization's.",
    subscribe: ({ args, context }) => {
      const live = NotificationResolver.serviceOf(context).liveAudit((args as LiveAuditArgs).filter);
      return openLive(context as Context, live.allowed, "audit.read", live.open);
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
        (principal) => NotificationResolver.serviceOf(context).added(principal.userId),
      ),
  })
  notificationAdded(@Root() notification: Notification): Notification {
    return notification;
  }
}
