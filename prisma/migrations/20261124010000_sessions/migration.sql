-- CreateTable
CREATE TABLE "sessions" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "user_id" UUID NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_used_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "revoked_at" TIMESTAMPTZ(3),
    "revoked_reason" TEXT,
    "user_agent" TEXT,
    "ip" TEXT,

    CONSTRAINT "sessions_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "sessions_user_id_idx" ON "sessions"("user_id");

-- CreateIndex
CREATE INDEX "sessions_expires_at_idx" ON "sessions"("expires_at");

-- Every refresh-token family so far becomes a session.
INSERT INTO "sessions" ("id", "user_id", "created_at", "last_used_at", "expires_at", "revoked_at", "revoked_reason", "user_agent", "ip")
SELECT DISTINCT ON ("family_id")
    "family_id",
    "user_id",
    MIN("created_at") OVER (PARTITION BY "family_id"),
    MAX("created_at") OVER (PARTITION BY "family_id"),
    MAX("expires_at") OVER (PARTITION BY "family_id"),
    CASE WHEN bool_and("revoked_at" IS NOT NULL) OVER (PARTITION BY "family_id")
         THEN MAX("revoked_at") OVER (PARTITION BY "family_id") END,
    CASE WHEN bool_and("revoked_at" IS NOT NULL) OVER (PARTITION BY "family_id")
         THEN 'revoked' END,
    "user_agent",
    "ip"
FROM "refresh_tokens"
ORDER BY "family_id", "created_at" ASC;

-- AddForeignKey
ALTER TABLE "sessions" ADD CONSTRAINT "sessions_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "refresh_tokens" ADD CONSTRAINT "refresh_tokens_family_id_fkey" FOREIGN KEY ("family_id") REFERENCES "sessions"("id") ON DELETE CASCADE ON UPDATE CASCADE;
