-- The users list is ordered by (created_at, id): an index in that order serves a page without sorting
-- every user first (users created in the same millisecond, as by an import, made that sort the cost).
-- The new index is built before the old one goes, so the list is never without one.

-- CreateIndex
CREATE INDEX "users_created_at_id_idx" ON "users"("created_at", "id");

DROP INDEX "users_created_at_idx";
