-- What a password reset must be able to void, and which linked identity an account was made with.

-- A value per user that a password reset rotates: link flows, link codes and MFA challenges live in the
-- shared store keyed by their tokens' hashes (they cannot be listed), so each remembers the stamp it
-- was made under and is refused once the stamp changed.
ALTER TABLE "users" ADD COLUMN "security_stamp" UUID NOT NULL DEFAULT gen_random_uuid();

-- The identity an account was created with (a social sign-up), as opposed to one linked later: only
-- that one signs in to an account whose email is not verified.
ALTER TABLE "user_social_accounts" ADD COLUMN "signed_up_with" BOOLEAN NOT NULL DEFAULT false;

-- Accounts made by a social sign-up: their identity was created with the user, in one statement.
UPDATE "user_social_accounts" s
   SET "signed_up_with" = true
  FROM "users" u
 WHERE u."id" = s."user_id" AND u."password_hash" IS NULL AND s."linked_at" <= u."created_at" + interval '1 second';
