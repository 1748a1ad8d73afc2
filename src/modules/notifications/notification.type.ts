import { Field, Int, ObjectType } from "type-graphql";
import { DateTimeISOResolver } from "graphql-scalars";
import { CursorPageInfo } from "../../graphql/pagination.js";
import { UUID } from "../../graphql/scalars.js";

@ObjectType({ description: "Something that happened to the caller's account, as it happens." })
export class SecurityEvent {
  @Field(() => UUID, { description: "The audit event's id" })
  id!: string;

  @Field(() => DateTimeISOResolver)
  at!: Date;

  @Field(() => String, { description: "auth.login, auth.password_changed, session.revoked, ..." })
  action!: string;

  @Field(() => String)
  title!: string;

  @Field(() => String, { nullable: true, description: "Where it came from" })
  ip!: string | null;

  @Field(() => String, { nullable: true, description: "The device's user agent" })
  userAgent!: string | null;

  @Field(() => String, {
    nullable: true,
    description: "Who did it, when not the user themself; only to a caller who may read users (users.read)",
  })
  actorEmail!: string | null;

  @Field(() => UUID, { nullable: true, description: "The session concerned, for session events" })
  sessionId!: string | null;
}

@ObjectType({ description: "An entry of the caller's inbox." })
export class Notification {
  @Field(() => UUID)
  id!: string;

  @Field(() => String, { description: "The audit action it tells of: auth.login, ..." })
  kind!: string;

  @Field(() => String)
  title!: string;

  @Field(() => String)
  body!: string;

  @Field(() => DateTimeISOResolver)
  createdAt!: Date;

  @Field(() => DateTimeISOResolver, { nullable: true })
  readAt!: Date | null;
}

@ObjectType()
export class NotificationEdge {
  @Field(() => String)
  cursor!: string;

  @Field(() => Notification)
  node!: Notification;
}

@ObjectType({ description: "Notifications, newest first." })
export class NotificationConnection {
  @Field(() => [NotificationEdge])
  edges!: NotificationEdge[];

  @Field(() => CursorPageInfo)
  pageInfo!: CursorPageInfo;

  @Field(() => Int, { description: "How many are unread, in all" })
  unreadCount!: number;
}
