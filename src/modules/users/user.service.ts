import { Prisma } from "../../generated/prisma/client.js";
import { changesBetween } from "../../platform/audit/audit-event.js";
import type { AuditTrail } from "../../platform/audit/audit-trail.js";
import { likeLiteral, lockRow, type PrismaClient } from "../../platform/db/database.js";
import { type AccessService } from "../permissions/index.js";
import { isFixedRole, keysOf, type RoleChange, type RoleService } from "../roles/index.js";
import type { SessionService } from "../sessions/index.js";
import { USER_CONFLICTS } from "./user.errors.js";
import type { UpdateMeInput, UpdateUserInput, UserFilter } from "./user.inputs.js";
import { UserStatus } from "./user.type.js";
import { ConflictError, NotFoundError } from "../../kernel/errors.js";
import { type Page, pageOf, type PageRequest, pageWindow } from "../../kernel/paging.js";
import { asActor, type Principal } from "../../kernel/principal.js";
import { USER_PROFILE_COLUMNS, USER_SECRETS, type UserProfile } from "../../kernel/user-profile.js";

type Tx = Prisma.TransactionClient;

/** The fields of a user an audit event shows the change of. */
const AUDITED_FIELDS = ["email", "displayName", "status", "emailVerifiedAt"] as const;

const userTarget = (id: string) => ({ type: "user", id });

/** What the messages of requireManageable call changing a user. */
const MANAGE = "manage a user";

const lastAdmin = () => new ConflictError("This is the last active admin", USER_CONFLICTS.LAST_ADMIN);

/** The user `id`, their row locked until `tx` ends (see lockRow): one statement, where lockRow and a read are two. */
async function lockedUser(tx: Tx, id: string): Promise<UserProfile> {
  const [user] = await tx.$queryRaw<UserProfile[]>`
    SELECT ${USER_PROFILE_COLUMNS} FROM "users" u WHERE u."id" = ${id}::uuid AND u."kind" = 'human' FOR UPDATE`;
  if (!user) throw new NotFoundError("User");
  return user;
}

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** Users and their roles. The platform always keeps at least one active admin. */
export class UserService {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly access: AccessService,
    private readonly roles: RoleService,
    private readonly sessions: SessionService,
    private readonly audit: AuditTrail,
  ) {}

  async get(id: string): Promise<UserProfile> {
    // A service account is no user here: serviceAccount(id) shows it.
    const user = await this.prisma.user.findFirst({ where: { id, kind: "human" }, omit: USER_SECRETS });
    if (!user) throw new NotFoundError("User");
    return user;
  }

  async updateMe(userId: string, input: UpdateMeInput): Promise<UserProfile> {
    const user = await this.prisma.user.update({
      where: { id: userId },
      data: { displayName: input.displayName?.trim() },
      omit: USER_SECRETS,
    });
    await this.access.invalidateUser(userId);
    return user;
  }

  /**
   * A page of users, oldest first, with the total: one statement (the count is a subquery PostgreSQL
   * runs once), not a count and a select. Only a page past the end needs a second one, for the total.
   */
  async list(page: PageRequest, filter: UserFilter = {}): Promise<Page<UserProfile>> {
    const search = filter.search?.trim() ? `%${likeLiteral(filter.search.trim())}%` : undefined;
    const conditions = [
      // Service accounts are listed by serviceAccounts, not among the users.
      Prisma.sql`u."kind" = 'human'`,
      filter.status ? Prisma.sql`u."status" = ${filter.status}::"user_status"` : undefined,
      filter.roleId
        ? Prisma.sql`EXISTS (SELECT 1 FROM "user_roles" ur WHERE ur."user_id" = u."id" AND ur."role_id" = ${filter.roleId}::uuid)`
        : undefined,
      search ? Prisma.sql`(u."email" ILIKE ${search} OR u."display_name" ILIKE ${search})` : undefined,
    ].filter((condition) => condition !== undefined);
    const where = conditions.length > 0 ? Prisma.sql`WHERE ${Prisma.join(conditions, " AND ")}` : Prisma.empty;
    const { skip, take } = pageWindow(page);
    const rows = await this.prisma.$queryRaw<(UserProfile & { total: number })[]>`
      SELECT ${USER_PROFILE_COLUMNS}, (SELECT count(*)::int FROM "users" u ${where}) AS "total"
      FROM "users" u ${where}
      ORDER BY u."created_at", u."id"
      LIMIT ${take} OFFSET ${skip}`;
    const totalItems =
      rows[0]?.total ??
      Number(
        (await this.prisma.$queryRaw<{ n: number }[]>`SELECT count(*)::int AS "n" FROM "users" u ${where}`)[0]?.n ?? 0,
      );
    const items = rows.map(({ total: _, ...user }) => user);
    return pageOf(page, items, totalItems);
  }

  async update(actor: Principal, id: string, input: UpdateUserInput): Promise<UserProfile> {
    await this.requireManageable(actor, id);
    const disabling = input.status === UserStatus.DISABLED;
    const email = input.email === undefined ? undefined : normalizeEmail(input.email);
    const user = await this.prisma.$transaction(async (tx) => {
      const before = await lockedUser(tx, id);
      if (disabling) await this.keepAnAdmin(tx, id);
      // Links mailed to the old address (reset, verification) must not work for the new one, and none
      // mailed before a disabling may bring the account back in.
      if (email !== undefined || disabling) {
        await tx.oneTimeToken.updateMany({ where: { userId: id, usedAt: null }, data: { usedAt: new Date() } });
      }
      const after = await tx.user.update({
        where: { id },
        data: {
          displayName: input.displayName?.trim(),
          email,
          // A new address is not verified until its owner proves it.
          ...(email === undefined ? {} : { emailVerifiedAt: null }),
          status: input.status,
        },
        omit: USER_SECRETS,
      });
      const changes = changesBetween(before, after, AUDITED_FIELDS);
      await this.audit.record({ action: "user.updated", actor: asActor(actor), target: userTarget(id), changes }, tx);
      // A disabled account's sessions end with the change itself.
      const ended = disabling ? await this.sessions.revokeAllIn(tx, id, "user_disabled") : [];
      return { after, ended };
    });
    await this.access.invalidateUser(id);
    await this.sessions.ended(user.ended);
    return user.after;
  }

  async delete(actor: Principal, id: string): Promise<boolean> {
    await this.requireManageable(actor, id);
    const ended = await this.prisma.$transaction(async (tx) => {
      // The user's row first, then the admin role's: the order every change of a user's roles locks in.
      await lockRow(tx, "users", id);
      await this.keepAnAdmin(tx, id);
      // Ended (and announced) before the rows go with the user: open sockets close at once.
      const ended = await this.sessions.revokeAllIn(tx, id, "user_deleted");
      const before = await tx.user.delete({ where: { id } });
      const changes = changesBetween(before, null, AUDITED_FIELDS);
      await this.audit.record({ action: "user.deleted", actor: asActor(actor), target: userTarget(id), changes }, tx);
      return ended;
    });
    await this.access.invalidateUser(id);
    await this.sessions.ended(ended);
    return true;
  }

  /**
   * Grants a role; the actor must hold every permission the role carries. Idempotent.
   * @returns the user as the change leaves them.
   */
  assignRole(actor: Principal, userId: string, roleId: string): Promise<UserProfile> {
    return this.changeRole(actor, userId, roleId, "user.role_assigned", async (tx) => {
      const { count } = await tx.userRole.createMany({
        data: [{ userId, roleId, grantedBy: actor.userId }],
        skipDuplicates: true,
      });
      return { before: count === 0, after: true };
    });
  }

  /**
   * Takes a role away; the actor must hold every permission the role carries, and, as for every change
   * to another user, every permission the user holds (see requireManageable). The last active admin
   * keeps the admin role. Idempotent.
   * @returns the user as the change leaves them.
   */
  removeRole(actor: Principal, userId: string, roleId: string): Promise<UserProfile> {
    const platform = this.roles.platform;
    return this.changeRole(actor, userId, roleId, "user.role_removed", async (tx, { role, others }) => {
      this.roles.requireManageable(actor, platform, keysOf(others), MANAGE);
      if (isFixedRole(platform, role) && (await this.roles.isLastHolder(tx, platform, userId, role))) {
        throw lastAdmin();
      }
      const { count } = await tx.userRole.deleteMany({ where: { userId, roleId } });
      return { before: count > 0, after: false };
    });
  }

  /**
   * A change of one role of `userId` (see RoleService.changeHolder), in one transaction that locks the
   * user's row first.
   */
  private async changeRole(
    actor: Principal,
    userId: string,
    roleId: string,
    action: string,
    write: (tx: Tx, roles: RoleChange) => Promise<{ before: boolean; after: boolean }>,
  ): Promise<UserProfile> {
    const user = await this.prisma.$transaction(async (tx) => {
      // Roles live outside the users row: as read under its lock, the user is as the change leaves them.
      const user = await lockedUser(tx, userId);
      await this.roles.changeHolder(tx, this.roles.platform, actor, { userId, roleId, action }, (roles) =>
        write(tx, roles),
      );
      return user;
    });
    await this.access.invalidateUser(userId);
    return user;
  }

  /** Ends every session of a user, as an admin; needs every permission the user holds. @returns how many. */
  async revokeSessions(actor: Principal, userId: string): Promise<number> {
    await this.requireManageable(actor, userId);
    return this.sessions.revokeAll(userId, "revoked_by_admin", {
      audit: { action: "user.sessions_revoked", actor: asActor(actor), target: userTarget(userId) },
    });
  }

  /**
   * Nobody manages a user more powerful than themselves: changing another user's email (then
   * resetting their password), disabling, deleting, signing out or unlocking them needs every
   * permission that user holds.
   */
  async requireManageable(actor: Principal, userId: string): Promise<void> {
    // A service account is managed as one (modules/service-accounts), not as a user.
    const person = await this.prisma.user.findFirst({ where: { id: userId, kind: "human" }, select: { id: true } });
    if (!person) throw new NotFoundError("User");
    this.roles.requireManageable(actor, this.roles.platform, await this.access.grantsOf(userId), MANAGE);
  }

  /** Refuses a change that would leave no active admin when `userId` stops being one (see isLastHolder). */
  private async keepAnAdmin(tx: Tx, userId: string): Promise<void> {
    if (await this.roles.isLastHolder(tx, this.roles.platform, userId)) throw lastAdmin();
  }
}
