import { Prisma } from "../../generated/prisma/client.js";
import { changesBetween } from "../../platform/audit/audit-event.js";
import type { AuditTrail } from "../../platform/audit/audit-trail.js";
import { likeLiteral, lockRow, type PrismaClient } from "../../platform/db/database.js";
import { type AccessService } from "../permissions/index.js";
import type { RoleService } from "../roles/index.js";
import type { SessionService } from "../sessions/index.js";
import type { UpdateMeInput, UpdateUserInput, UserFilter } from "./user.inputs.js";
import { UserStatus } from "./user.type.js";
import { ConflictError, ForbiddenError, NotFoundError } from "../../kernel/errors.js";
import { pageInfo, type PageInfo, type PageRequest } from "../../kernel/paging.js";
import { asActor, firstMissing, type Principal } from "../../kernel/principal.js";
import { SystemRole } from "../../kernel/permission-catalog.js";
import { USER_PROFILE_COLUMNS, USER_SECRETS, type UserProfile } from "../../kernel/user-profile.js";

type Tx = Prisma.TransactionClient;

/** The fields of a user an audit event shows the change of. */
const AUDITED_FIELDS = ["email", "displayName", "status", "emailVerifiedAt"] as const;

const userTarget = (id: string) => ({ type: "user", id });

/** The names of a user's roles, sorted: what a role change's audit event shows before and after. */
async function roleNames(tx: Tx, userId: string): Promise<string[]> {
  const held = await tx.userRole.findMany({ where: { userId }, select: { role: { select: { name: true } } } });
  return held.map((ur) => ur.role.name).sort();
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
    const user = await this.prisma.user.findUnique({ where: { id }, omit: USER_SECRETS });
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
  async list(page: PageRequest, filter: UserFilter = {}): Promise<{ items: UserProfile[]; pageInfo: PageInfo }> {
    const search = filter.search?.trim() ? `%${likeLiteral(filter.search.trim())}%` : undefined;
    const conditions = [
      filter.status ? Prisma.sql`u."status" = ${filter.status}::"user_status"` : undefined,
      filter.roleId
        ? Prisma.sql`EXISTS (SELECT 1 FROM "user_roles" ur WHERE ur."user_id" = u."id" AND ur."role_id" = ${filter.roleId}::uuid)`
        : undefined,
      search ? Prisma.sql`(u."email" ILIKE ${search} OR u."display_name" ILIKE ${search})` : undefined,
    ].filter((condition) => condition !== undefined);
    const where = conditions.length > 0 ? Prisma.sql`WHERE ${Prisma.join(conditions, " AND ")}` : Prisma.empty;
    const rows = await this.prisma.$queryRaw<(UserProfile & { total: number })[]>`
      SELECT ${USER_PROFILE_COLUMNS}, (SELECT count(*)::int FROM "users" u ${where}) AS "total"
      FROM "users" u ${where}
      ORDER BY u."created_at", u."id"
      LIMIT ${page.pageSize} OFFSET ${(page.page - 1) * page.pageSize}`;
    const totalItems =
      rows[0]?.total ??
      Number(
        (await this.prisma.$queryRaw<{ n: number }[]>`SELECT count(*)::int AS "n" FROM "users" u ${where}`)[0]?.n ?? 0,
      );
    const items = rows.map(({ total: _, ...user }) => user);
    return { items, pageInfo: pageInfo(page, totalItems) };
  }

  async update(actor: Principal, id: string, input: UpdateUserInput): Promise<UserProfile> {
    await this.requireManageable(actor, id);
    const disabling = input.status === UserStatus.DISABLED;
    const email = input.email === undefined ? undefined : normalizeEmail(input.email);
    const user = await this.prisma.$transaction(async (tx) => {
      await lockRow(tx, "users", id);
      const before = await tx.user.findUnique({ where: { id } });
      if (!before) throw new NotFoundError("User");
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

  /** Grants a role; the actor must hold every permission the role carries. Idempotent. */
  async assignRole(actor: Principal, userId: string, roleId: string): Promise<UserProfile> {
    const user = await this.get(userId);
    await this.roles.requireGrantable(actor, this.roles.platform, roleId);
    await this.prisma.$transaction(async (tx) => {
      await lockRow(tx, "users", userId);
      const before = await roleNames(tx, userId);
      await tx.userRole.upsert({
        where: { userId_roleId: { userId, roleId } },
        create: { userId, roleId, grantedBy: actor.userId },
        update: {},
      });
      await this.recordRoleChange(tx, actor, "user.role_assigned", userId, before);
    });
    await this.access.invalidateUser(userId);
    return user;
  }

  /**
   * Takes a role away; the actor must hold every permission the role carries, and, as for every change
   * to another user, every permission the user holds (see requireManageable). Idempotent.
   */
  async removeRole(actor: Principal, userId: string, roleId: string): Promise<UserProfile> {
    const user = await this.get(userId);
    await this.requireManageable(actor, userId);
    const role = await this.roles.requireGrantable(actor, this.roles.platform, roleId);
    await this.prisma.$transaction(async (tx) => {
      await lockRow(tx, "users", userId);
      if (role.isSystem && role.name === SystemRole.ADMIN) await this.keepAnAdmin(tx, userId);
      const before = await roleNames(tx, userId);
      await tx.userRole.deleteMany({ where: { userId, roleId } });
      await this.recordRoleChange(tx, actor, "user.role_removed", userId, before);
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

  private async recordRoleChange(tx: Tx, actor: Principal, action: string, userId: string, before: string[]) {
    const changes = changesBetween({ roles: before }, { roles: await roleNames(tx, userId) }, ["roles"]);
    await this.audit.record({ action, actor: asActor(actor), target: userTarget(userId), changes }, tx);
  }

  /**
   * Nobody manages a user more powerful than themselves: changing another user's email (then
   * resetting their password), disabling, deleting, signing out or unlocking them needs every
   * permission that user holds.
   */
  async requireManageable(actor: Principal, userId: string): Promise<void> {
    const missing = firstMissing(actor, await this.access.grantsOf(userId));
    if (missing !== undefined) {
      throw new ForbiddenError(missing, `You cannot manage a user who holds ${missing}: you do not hold it`);
    }
  }

  /**
   * Refuses a change that would leave no active admin when `userId` stops being one. The admin role's
   * row is locked first, so two such changes at once cannot each see the other admin still there.
   */
  private async keepAnAdmin(tx: Tx, userId: string): Promise<void> {
    const admin = await tx.role.findFirst({
      where: { name: SystemRole.ADMIN, organizationId: null },
      select: { id: true },
    });
    if (!admin) return;
    await lockRow(tx, "roles", admin.id);
    const holds = await tx.userRole.count({ where: { roleId: admin.id, userId, user: { status: "active" } } });
    if (holds === 0) return;
    const others = await tx.userRole.count({
      where: { roleId: admin.id, userId: { not: userId }, user: { status: "active" } },
    });
    if (others === 0) throw new ConflictError("This is the last active admin", "LAST_ADMIN");
  }
}
