import type { TimeCursor } from "../platform/time-cursor.js";
import { isUuid } from "../platform/uuid.js";
import { BadUserInputError } from "./errors.js";

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

/** Which page of an offset-paginated list (1-based), and how many rows a page has. */
export interface PageRequest {
  page: number;
  pageSize: number;
}

/** Where an offset-paginated page stands in its list. */
export interface PageInfo {
  page: number;
  pageSize: number;
  totalItems: number;
  totalPages: number;
  hasNext: boolean;
  hasPrev: boolean;
}

/** One page of an offset-paginated list, and where it stands. */
export interface Page<T> {
  items: T[];
  pageInfo: PageInfo;
}

/** The rows a page is: Prisma's `skip` and `take` (SQL's `OFFSET` and `LIMIT`). */
export function pageWindow({ page, pageSize }: PageRequest): { skip: number; take: number } {
  return { skip: (page - 1) * pageSize, take: pageSize };
}

/** The page `request` asked for: its `items`, in a list of `totalItems`. */
export function pageOf<T>(request: PageRequest, items: T[], totalItems: number): Page<T> {
  const { page, pageSize } = request;
  const totalPages = Math.ceil(totalItems / pageSize);
  return {
    items,
    pageInfo: { page, pageSize, totalItems, totalPages, hasNext: page < totalPages, hasPrev: page > 1 },
  };
}

/**
 * Whether a date is one every store keeps as it is: the years 1 to 9999 (ISO 8601 without
 * extension; PostgreSQL and JavaScript take wider ranges, but not the same ones).
 */
export function isStorableDate(date: Date): boolean {
  const year = date.getUTCFullYear();
  return year >= 1 && year <= 9999;
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
