import { ArgsType, Field, InputType, Int } from "type-graphql";
import { DateTimeISOResolver, UUIDResolver } from "graphql-scalars";
import { IsOptional, Max, MaxLength, Min } from "class-validator";
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from "../../graphql/pagination.js";

@InputType({ description: "Events matching every given condition." })
export class AuditEventFilter {
  @Field(() => UUIDResolver, { nullable: true })
  @IsOptional()
  actorId?: string;

  @Field(() => UUIDResolver, { nullable: true })
  @IsOptional()
  targetId?: string;

  @Field(() => String, { nullable: true, description: "Exactly this action, e.g. user.role_assigned" })
  @IsOptional()
  @MaxLength(100)
  action?: string;

  @Field(() => UUIDResolver, {
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
export class AuditEventArgs {
  @Field(() => AuditEventFilter, { nullable: true })
  @IsOptional()
  filter?: AuditEventFilter;

  @Field(() => Int, { defaultValue: DEFAULT_PAGE_SIZE, description: `At most ${MAX_PAGE_SIZE}` })
  @Min(1)
  @Max(MAX_PAGE_SIZE)
  first!: number;

  @Field(() => String, { nullable: true, description: "The endCursor of the page before" })
  @IsOptional()
  @MaxLength(200)
  after?: string;
}
