import type { User as UserRecord } from "../generated/prisma/client.js";
import { Prisma } from "../platform/db/database.js";

/** A user as the API shows them: their record without the password hash, the TOTP secret and the security stamp. */
export type UserProfile = Omit<UserRecord, "passwordHash" | "totpSecret" | "securityStamp">;

/** Prisma's `omit` of a user's secrets: never read where the user is only shown. */
export const USER_SECRETS = { passwordHash: true, totpSecret: true, securityStamp: true } as const;

/** A `UserProfile`'s columns of the users row aliased `u`, for raw SQL. */
export const USER_PROFILE_COLUMNS = Prisma.sql`u."id", u."email", u."display_name" AS "displayName",
  u."status"::text AS "status", u."email_verified_at" AS "emailVerifiedAt", u."totp_enabled_at" AS "totpEnabledAt",
  u."created_at" AS "createdAt", u."updated_at" AS "updatedAt"`;

/** `user` without its secrets (or anything else a row brought along). */
export function profileOf(user: UserProfile): UserProfile {
  const { id, email, displayName, status, emailVerifiedAt, totpEnabledAt, createdAt, updatedAt } = user;
  return { id, email, displayName, status, emailVerifiedAt, totpEnabledAt, createdAt, updatedAt };
}
