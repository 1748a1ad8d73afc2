-- The keys access tokens are signed with (ES256), shared by every instance: each signs with the current
-- one and verifies with every key still published. The private key is sealed with KAFKEY_ENCRYPTION_KEY.

-- CreateTable
CREATE TABLE "signing_keys" (
    "id" TEXT NOT NULL,
    "algorithm" TEXT NOT NULL,
    "public_jwk" JSONB NOT NULL,
    "private_key" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "activates_at" TIMESTAMPTZ(3) NOT NULL,
    "retires_at" TIMESTAMPTZ(3),
    "expires_at" TIMESTAMPTZ(3),
    "revoked_at" TIMESTAMPTZ(3),

    CONSTRAINT "signing_keys_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "signing_keys_activates_at_idx" ON "signing_keys"("activates_at");

-- Rotating the keys is an admin's (who holds `*`) unless granted.
INSERT INTO "permissions" ("key", "description") VALUES
    ('keys.rotate', 'Rotate the signing keys of access tokens, in an emergency too');
