import { ArgsType, Field, Int, ObjectType } from "type-graphql";
import { IsOptional, Max, MaxLength, Min } from "class-validator";
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, type PageInfo as PageStanding, type PageRequest } from "../kernel/paging.js";

@ArgsType()
export class PageArgs implements PageRequest {
  @Field(() => Int, { defaultValue: 1, description: "1-based page number" })
  @Min(1)
  page!: number;

  @Field(() => Int, { defaultValue: DEFAULT_PAGE_SIZE, description: `At most ${MAX_PAGE_SIZE}` })
  @Min(1)
  @Max(MAX_PAGE_SIZE)
  pageSize!: number;
}

@ObjectType()
export class PageInfo implements PageStanding {
  @Field(() => Int)
  page!: number;

  @Field(() => Int)
  pageSize!: number;

  @Field(() => Int)
  totalItems!: number;

  @Field(() => Int)
  totalPages!: number;

  @Field(() => Boolean)
  hasNext!: boolean;

  @Field(() => Boolean)
  hasPrev!: boolean;
}

/** `first` and `after` of a cursor-paginated list (newest first); lists extend it with their filters. */
@ArgsType()
export class CursorArgs {
  @Field(() => Int, { defaultValue: DEFAULT_PAGE_SIZE, description: `At most ${MAX_PAGE_SIZE}` })
  @Min(1)
  @Max(MAX_PAGE_SIZE)
  first!: number;

  @Field(() => String, { nullable: true, description: "The endCursor of the page before" })
  @IsOptional()
  @MaxLength(200)
  after?: string;
}

/** Where a cursor-paginated list stands (Relay's PageInfo, forward only). */
@ObjectType()
export class CursorPageInfo {
  @Field(() => String, { nullable: true, description: "Pass as `after` for the next page; null on an empty page." })
  endCursor!: string | null;

  @Field(() => Boolean)
  hasNextPage!: boolean;
}
