import { Field, ObjectType, registerEnumType } from "type-graphql";
import { DateTimeISOResolver, JSONResolver } from "graphql-scalars";
import { CursorPageInfo } from "../../graphql/pagination.js";
import { UUID } from "../../graphql/scalars.js";

/** GraphQL names on the left, stored values on the right. */
export enum AuditOutcome {
  SUCCESS = "success",
  FAILURE = "failure",
}
registerEnumType(AuditOutcome, { name: "AuditOutcome" });

@ObjectType({ description: "Who did it, from where. No id for someone not signed in, such as a failed login." })
export class AuditActor {
  // Not `id`: a client cache would take the user's id for this object's and merge every event's actor
  // (each with its own ip and userAgent) into one.
  @Field(() => UUID, { name: "userId", nullable: true, description: "The user who acted." })
  id!: string | null;

  @Field(() => String, { nullable: true })
  email!: string | null;

  @Field(() => String, { nullable: true })
  ip!: string | null;

  @Field(() => String, { nullable: true })
  userAgent!: string | null;
}

@ObjectType({ description: "What it was done to." })
export class AuditTarget {
  @Field(() => String, { description: "user, role, permission, session" })
  type!: string;

  @Field(() => UUID, { nullable: true })
  id!: string | null;
}

@ObjectType({ description: "One field that changed. Secrets show as [redacted]." })
export class AuditChange {
  @Field(() => String)
  field!: string;

  @Field(() => JSONResolver, { nullable: true })
  before!: unknown;

  @Field(() => JSONResolver, { nullable: true })
  after!: unknown;
}

@ObjectType({ description: "One administrative or security-relevant action: who did what, when, from where." })
export class AuditEvent {
  @Field(() => UUID)
  id!: string;

  @Field(() => DateTimeISOResolver)
  at!: Date;

  @Field(() => String, { description: "user.updated, user.role_assigned, auth.login_failed, ..." })
  action!: string;

  @Field(() => AuditOutcome)
  outcome!: AuditOutcome;

  @Field(() => AuditActor)
  actor!: AuditActor;

  @Field(() => AuditTarget, { nullable: true })
  target!: AuditTarget | null;

  @Field(() => [AuditChange])
  changes!: AuditChange[];

  @Field(() => String, { nullable: true, description: "The x-request-id of the request that did it." })
  requestId!: string | null;

  @Field(() => UUID, { nullable: true })
  organizationId!: string | null;
}

@ObjectType()
export class AuditEventEdge {
  @Field(() => String)
  cursor!: string;

  @Field(() => AuditEvent)
  node!: AuditEvent;
}

@ObjectType({ description: "Audit events, newest first." })
export class AuditEventConnection {
  @Field(() => [AuditEventEdge])
  edges!: AuditEventEdge[];

  @Field(() => CursorPageInfo)
  pageInfo!: CursorPageInfo;
}
