-- Account locks after failed sign-ins live in the database of record: a wiped or failed-over Redis
-- (which keeps only the failure counters) must not unlock anyone. One row per account (a digest of
-- the email, so addresses that have no account can be locked too without storing them).

-- CreateTable
CREATE TABLE "account_locks" (
    "account" TEXT NOT NULL,
    "locked_until" TIMESTAMPTZ(3) NOT NULL,
    "level" INTEGER NOT NULL,
    "level_expires_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "account_locks_pkey" PRIMARY KEY ("account")
);
