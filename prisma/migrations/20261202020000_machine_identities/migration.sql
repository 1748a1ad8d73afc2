-- Machine identities: service accounts and API keys (personal access tokens, service accounts' keys).

-- Service accounts are users of another kind: roles, memberships and grants work for them as for
-- anyone, while sign-in, the users list and the last-admin checks leave them out. One owned by an
-- organization goes with it.
CREATE TYPE "user_kind" AS ENUM ('human', 'service');
ALTER TABLE "users" ADD COLUMN "kind" "user_kind" NOT NULL DEFAULT 'human';
ALTER TABLE "users" ADD COLUMN "organization_id" UUID;
ALTER TABLE "users" ADD CONSTRAINT "users_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "organizations"("id") ON DELETE CASCADE ON UPDATE CASCADE;
CREATE INDEX "users_organization_id_idx" ON "users"("organization_id");

-- Seed: the service-account permissions (src/kernel/permission-catalog.ts).
INSERT INTO "permissions" ("key", "description") VALUES
    ('service_accounts.read', 'Platform: list service accounts and their API keys'),
    ('service_accounts.manage', 'Platform: create, change and delete service accounts; make and revoke their API keys')
-- An application's own permission of the same key becomes the built-in one.
ON CONFLICT ("key") DO NOTHING;

-- CreateTable
CREATE TABLE "api_keys" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "user_id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "secret_hash" TEXT NOT NULL,
    "prefix" TEXT NOT NULL,
    "permissions" TEXT[] NOT NULL,
    "organization_id" UUID,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_used_at" TIMESTAMPTZ(3),
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "revoked_at" TIMESTAMPTZ(3),

    CONSTRAINT "api_keys_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "api_keys_secret_hash_key" ON "api_keys"("secret_hash");

-- CreateIndex
CREATE INDEX "api_keys_user_id_created_at_idx" ON "api_keys"("user_id", "created_at");

-- CreateIndex
CREATE INDEX "api_keys_organization_id_idx" ON "api_keys"("organization_id");

-- AddForeignKey
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "organizations"("id") ON DELETE CASCADE ON UPDATE CASCADE;
