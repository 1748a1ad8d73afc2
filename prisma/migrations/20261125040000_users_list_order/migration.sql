-- The users list is ordered by (created_at, id): an index in that order serves a page without sorting
-- every user first (users created in the same millisecond, as by an import, made that sort the cost).
DROP INDEX "users_created_at_idx";

-- CreateIndex
CREATE INDEX "users_created_at_id_idx" ON "users"("created_at", "id");
