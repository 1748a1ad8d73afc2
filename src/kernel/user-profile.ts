import type { User as UserRecord } from "../generated/prisma/client.js";
import { Prisma } from "../platform/db/database.js";

/** Prisma's `omit` of a user's secrets (password hash, TOTP secret, security stamp): never read where the user is only shown. */
export const USER_SECRETS = { passwordHash: true, totpSecret: true, securityStamp: true } as const;

/** A user as the API shows them: their record without its secrets. */
export type UserProfile = Omit<UserRecord, keyof typeof USER_SECRETS>;

/** Each field of a `UserProfile` as SQL over the users row aliased `u`: the one list of them. */
const PROFILE_SQL: Record<keyof UserProfile, string> = {
  id: `u."id"`,
  email: `u."email"`,
  displayName: `u."display_name"`,
  status: `u."status"::text`,
  emailVerifiedAt: `u."email_verified_at"`,
  totpEnabledAt: `u."totp_enabled_at"`,
  createdAt: `u."created_at"`,
  updatedAt: `u."updated_at"`,
  kind: `u."kind"::text`,
  organizationId: `u."organization_id"`,
};
const PROFILE_FIELDS = Object.keys(PROFILE_SQL) as (keyof UserProfile)[];

/** A `UserProfile`'s columns of the users row aliased `u`, for raw SQL. */
export const USER_PROFILE_COLUMNS = Prisma.raw(
  Object.entries(PROFILE_SQL)
    .map(([field, sql]) => `${sql} AS "${field}"`)
    .join(", "),
);

/** `user` without its secrets (or anything else a row brought along). */
export function profileOf(user: UserProfile): UserProfile {
  return Object.fromEntries(PROFILE_FIELDS.map((field) => [field, user[field]])) as UserProfile;
}
