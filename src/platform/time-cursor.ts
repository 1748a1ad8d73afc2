/**
 * Where a page of a newest-first list starts: after the row at `at` with id `id` (the id breaks ties
 * between rows of the same instant). Audit sinks and notifications page by it; kernel/paging.ts turns it
 * into the opaque `after` cursor clients pass.
 */
export interface TimeCursor {
  at: Date;
  id: string;
}
