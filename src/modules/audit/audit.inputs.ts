import { ArgsType, Field, InputType } from "type-graphql";
import { DateTimeISOResolver } from "graphql-scalars";
import { IsOptional, MaxLength } from "class-validator";
import { CursorArgs } from "../../graphql/pagination.js";
import { UUID } from "../../graphql/scalars.js";

@InputType({ description: "Events matching every given condition." })
export class AuditEventFilter {
  @Field(() => UUID, { nullable: true })
  @IsOptional()
  actorId?: string;

  @Field(() => UUID, { nullable: true })
  @IsOptional()
  targetId?: string;

  @Field(() => String, { nullable: true, description: "Exactly this action, e.g. user.role_assigned" })
  @IsOptional()
  @MaxLength(100)
  action?: string;

  @Field(() => UUID, {
    nullable: true,
    description: "Only what happened in this organization. An organization admin always reads their own.",
  })
  @IsOptional()
  organizationId?: string;

  @Field(() => DateTimeISOResolver, { nullable: true, description: "At or after" })
  @IsOptional()
  from?: Date;

  @Field(() => DateTimeISOResolver, { nullable: true, description: "Before" })
  @IsOptional()
  to?: Date;
}

@ArgsType()
export class AuditEventArgs extends CursorArgs {
  @Field(() => AuditEventFilter, { nullable: true })
  @IsOptional()
  filter?: AuditEventFilter;
}
