import { ArgsType, Field, Int, ObjectType } from "type-graphql";
import { IsOptional, Max, MaxLength, Min } from "class-validator";
import { isUuid } from "../platform/uuid.js";
import { BadUserInputError } from "./errors.js";
import { isStorableDate } from "./input-check.js";

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

@ArgsType()
export class PageArgs {
  @Field(() => Int, { defaultValue: 1, description: "1-based page number" })
  @Min(1)
  page!: number;

  @Field(() => Int, { defaultValue: DEFAULT_PAGE_SIZE, description: `At most ${MAX_PAGE_SIZE}` })
  @Min(1)
  @Max(MAX_PAGE_SIZE)
  pageSize!: number;
}

@ObjectType()
export class PageInfo {
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

export function pageInfo({ page, pageSize }: PageArgs, totalItems: number): PageInfo {
  const totalPages = Math.ceil(totalItems / pageSize);
  return { page, pageSize, totalItems, totalPages, hasNext: page < totalPages, hasPrev: page > 1 };
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

/** Where a newest-first page starts: after the row at `at` with id `id`. */
export interface TimeCursor {
  at: Date;
  id: string;
}

/** An opaque cursor for the row at `at` with id `id`. */
export function encodeCursor(at: Date, id: string): string {
  return Buffer.from(JSON.stringify([at.toISOString(), id])).toString("base64url");
}

/** The position in an `after` cursor; BAD_USER_INPUT for one Kafkey did not make. */
export function decodeCursor(cursor: string): TimeCursor {
  try {
    const [at, id] = JSON.parse(Buffer.from(cursor, "base64url").toString()) as unknown[];
    const time = new Date(typeof at === "string" ? at : Number.NaN);
    if (isUuid(id) && isStorableDate(time)) return { at: time, id };
  } catch {
    // Not JSON: refused below like any other cursor Kafkey did not make.
  }
  throw new BadUserInputError([{ path: "after", message: "is not a cursor from this list" }]);
}
