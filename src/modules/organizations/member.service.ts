import type { Organization as OrganizationRecord, Prisma, Role as RoleRecord } from "../../generated/prisma/client.js";
import { changesBetween } from "../../platform/audit/audit-event.js";
import type { AuditTrail } from "../../platform/audit/audit-trail.js";
import { likeLiteral, lockRow, type PrismaClient } from "../../platform/db/database.js";
import type { ScopedClients } from "../../platform/db/scoped.js";
import type { Mailer } from "../../platform/mail/mailer.js";
import { hashToken, MAX_TOKEN_LENGTH, randomToken } from "../../platform/secret-tokens.js";
import type { Logger } from "../../platform/observability/logger.js";
import { type AccessService } from "../permissions/index.js";
import type { RoleService } from "../roles/index.js";
import type { SessionService } from "../sessions/index.js";
import { normalizeEmail } from "../users/index.js";
import { invitationMail } from "./invitation-mail.js";
import type { InviteMemberInput, MemberFilter } from "./organization.inputs.js";
import { type Tenant } from "../../kernel/request.js";
import { BadUserInputError, ConflictError, ForbiddenError, NotFoundError } from "../../kernel/errors.js";
import { pageInfo, type PageInfo, type PageRequest } from "../../kernel/paging.js";
import { asActor, firstMissingGrant, organizationGrants, type Principal } from "../../kernel/principal.js";

type Tx = Prisma.TransactionClient;

/** How long an invitation link works. */
export const INVITATION_DAYS = 7;

export interface Member {
  organizationId: string;
  userId: string;
  email: string;
  displayName: string;
  joinedAt: Date;
}

export interface PendingInvitation {
  id: string;
  organizationId: string;
  email: string;
  role: RoleRecord;
  expiresAt: Date;
  createdAt: Date;
}

const invalidInvitation = () =>
  new BadUserInputError([{ path: "token", message: "is not a valid invitation: unknown, used, revoked or expired" }]);

/** The names of a member's roles, sorted: what a role change's audit event shows before and after. */
async function roleNames(tx: Tx, organizationId: string, userId: string): Promise<string[]> {
  const held = await tx.organizationMemberRole.findMany({
    where: { organizationId, userId },
    select: { role: { select: { name: true } } },
  });
  return held.map((mr) => mr.role.name).sort();
}

export interface MemberDependencies {
  prisma: PrismaClient;
  scoped: ScopedClients;
  access: AccessService;
  roles: RoleService;
  sessions: SessionService;
  mailer: Mailer;
  audit: AuditTrail;
  appUrl: string;
  log: Logger;
}

/**
 * Who belongs to an organization: invitations, joining, roles and leaving. Every query on the
 * organization's rows goes through the tenant's scoped client. An organization always keeps an owner.
 */
export class MemberService {
  constructor(private readonly deps: MemberDependencies) {}

  async list(
    tenant: Tenant,
    page: PageRequest,
    filter: MemberFilter = {},
  ): Promise<{ items: Member[]; pageInfo: PageInfo }> {
    const search = filter.search?.trim() ? likeLiteral(filter.search.trim()) : undefined;
    const where: Prisma.OrganizationMemberWhereInput = {
      roles: filter.roleId ? { some: { roleId: filter.roleId } } : undefined,
      user: search
        ? {
            OR: [
              { email: { contains: search, mode: "insensitive" } },
              { displayName: { contains: search, mode: "insensitive" } },
            ],
          }
        : undefined,
    };
    const [totalItems, rows] = await Promise.all([
      tenant.db.organizationMember.count({ where }),
      tenant.db.organizationMember.findMany({
        where,
        include: { user: { select: { email: true, displayName: true } } },
        orderBy: [{ joinedAt: "asc" }, { userId: "asc" }],
        skip: (page.page - 1) * page.pageSize,
        take: page.pageSize,
      }),
    ]);
    const items = rows.map(({ user, ...member }) => ({ ...member, ...user }));
    return { items, pageInfo: pageInfo(page, totalItems) };
  }

  /**
   * Invites `email` with a role (the member role by default), mailing a single-use link. A pending
   * invitation of the same address is replaced. The inviter must hold every permission of the role.
   */
  async invite(actor: Principal, tenant: Tenant, input: InviteMemberInput): Promise<PendingInvitation> {
    const { organizationId, db } = tenant;
    const email = normalizeEmail(input.email);
    const role = input.roleId
      ? await this.deps.roles.requireGrantable(actor, tenant, input.roleId)
      : await db.role.findFirst({ where: { name: "member", isSystem: true } });
    if (!role) throw new NotFoundError("Role");
    const organization = await db.organization.findUnique({ where: { id: organizationId } });
    if (!organization) throw new NotFoundError("Organization");
    const already = await db.organizationMember.count({ where: { user: { email } } });
    if (already > 0) throw new ConflictError("This address is a member already", "ALREADY_MEMBER");
    const token = randomToken();
    const now = new Date();
    const invitation = await db.$transaction(async (tx) => {
      await tx.organizationInvitation.updateMany({
        where: { email, acceptedAt: null, revokedAt: null },
        data: { revokedAt: now },
      });
      const created = await tx.organizationInvitation.create({
        data: {
          organizationId,
          email,
          roleId: role.id,
          tokenHash: hashToken(token),
          invitedById: actor.userId,
          expiresAt: new Date(now.getTime() + INVITATION_DAYS * 24 * 3600 * 1000),
        },
      });
      await this.record(tx, actor, organizationId, "organization.member_invited", "invitation", created.id, [
        { field: "email", before: null, after: email },
        { field: "role", before: null, after: role.name },
      ]);
      return created;
    });
    // A mail that cannot be sent is logged, not thrown: inviting again sends a new link.
    await this.deps.mailer
      .send(
        invitationMail(
          this.deps.appUrl,
          email,
          actor.profile.email,
          organization.name,
          role.name,
          token,
          INVITATION_DAYS,
        ),
      )
      .catch((error: unknown) => this.deps.log.error("invitation mail not sent", { organizationId, error }));
    this.deps.log.info("member invited", { event: "organization.member_invited", organizationId });
    return { ...invitation, role };
  }

  /** Invitations not yet accepted, revoked or expired, newest first. */
  async pending(tenant: Tenant): Promise<PendingInvitation[]> {
    return tenant.db.organizationInvitation.findMany({
      where: { acceptedAt: null, revokedAt: null, expiresAt: { gt: new Date() } },
      include: { role: true },
      orderBy: [{ createdAt: "desc" }, { id: "asc" }],
    });
  }

  /** Its link stops working. NOT_FOUND when it is not pending in this organization. */
  async revokeInvitation(actor: Principal, tenant: Tenant, id: string): Promise<boolean> {
    return tenant.db.$transaction(async (tx) => {
      const { count } = await tx.organizationInvitation.updateMany({
        where: { id, acceptedAt: null, revokedAt: null },
        data: { revokedAt: new Date() },
      });
      if (count === 0) throw new NotFoundError("Invitation");
      await this.record(tx, actor, tenant.organizationId, "organization.invitation_revoked", "invitation", id, []);
      return true;
    });
  }

  /** What an invitation link is for, without using it up. */
  async preview(token: string): Promise<{ organizationName: string; email: string; expiresAt: Date }> {
    const invitation = await this.findPending(token);
    return { organizationName: invitation.organization.name, email: invitation.email, expiresAt: invitation.expiresAt };
  }

  /** The pending invitation of `token`; BAD_USER_INPUT when there is none. */
  async findPending(token: string) {
    if (token.length > MAX_TOKEN_LENGTH) throw invalidInvitation();
    const invitation = await this.deps.prisma.organizationInvitation.findUnique({
      where: { tokenHash: hashToken(token) },
      include: { organization: { select: { name: true, status: true } } },
    });
    if (!invitation || invitation.acceptedAt || invitation.revokedAt || invitation.expiresAt <= new Date()) {
      throw invalidInvitation();
    }
    if (invitation.organization.status !== "active") {
      throw new ForbiddenError(undefined, "This organization is suspended");
    }
    return invitation;
  }

  /**
   * Joins the organization of an invitation as the user it was sent to: the link works once, and only
   * for an account with the invited address. Having received the mail proves the address, so it counts
   * as verified from here on.
   * @param tx the transaction of a sign-up that accepts it.
   */
  async accept(user: { id: string; email: string }, token: string, tx?: Tx): Promise<string> {
    const invitation = await this.findPending(token);
    if (invitation.email !== normalizeEmail(user.email)) {
      throw new ForbiddenError(undefined, "This invitation was sent to another email address");
    }
    const join = async (t: Tx) => {
      const [used] = await t.organizationInvitation.updateManyAndReturn({
        where: { id: invitation.id, acceptedAt: null, revokedAt: null, expiresAt: { gt: new Date() } },
        data: { acceptedAt: new Date() },
        select: { organizationId: true, roleId: true },
      });
      if (!used) throw invalidInvitation();
      const { organizationId, roleId } = used;
      const before = await roleNames(t, organizationId, user.id);
      await t.organizationMember.upsert({
        where: { organizationId_userId: { organizationId, userId: user.id } },
        create: { organizationId, userId: user.id },
        update: {},
      });
      await t.organizationMemberRole.upsert({
        where: { organizationId_userId_roleId: { organizationId, userId: user.id, roleId } },
        create: { organizationId, userId: user.id, roleId },
        update: {},
      });
      await t.user.updateMany({ where: { id: user.id, emailVerifiedAt: null }, data: { emailVerifiedAt: new Date() } });
      const changes = changesBetween({ roles: before }, { roles: await roleNames(t, organizationId, user.id) }, [
        "roles",
      ]);
      await this.deps.audit.record(
        {
          action: "organization.member_joined",
          actor: { id: user.id, email: user.email },
          target: { type: "user", id: user.id },
          changes,
          organizationId,
        },
        t,
      );
      return organizationId;
    };
    if (tx) return join(tx); // a new account's: nobody has it cached, and its caller commits
    const organizationId = await this.deps.prisma.$transaction(join);
    await this.deps.access.invalidateUser(user.id);
    return organizationId;
  }

  /** The signed-in `actor` accepts an invitation (see `accept`). @returns the organization joined. */
  async join(actor: Principal, token: string): Promise<OrganizationRecord> {
    const organizationId = await this.accept(asActor(actor), token);
    return this.deps.prisma.organization.findUniqueOrThrow({ where: { id: organizationId } });
  }

  /**
   * Removes a member. The caller must hold every permission the member holds in the organization,
   * and the last owner stays. Their sessions stop acting in it; their next request sees it.
   */
  async remove(actor: Principal, tenant: Tenant, userId: string): Promise<boolean> {
    if (userId !== actor.userId) await this.requireManageable(actor, tenant, userId);
    await tenant.db.$transaction(async (tx) => {
      await lockRow(tx, "organizations", tenant.organizationId);
      await this.keepAnOwner(tx, userId);
      const before = await roleNames(tx, tenant.organizationId, userId);
      const { count } = await tx.organizationMember.deleteMany({ where: { userId } });
      if (count === 0) throw new NotFoundError("Member");
      // What they invited does not outlive their membership.
      await tx.organizationInvitation.updateMany({
        where: { invitedById: userId, acceptedAt: null, revokedAt: null },
        data: { revokedAt: new Date() },
      });
      const action = userId === actor.userId ? "organization.member_left" : "organization.member_removed";
      await this.record(tx, actor, tenant.organizationId, action, "user", userId, [
        { field: "roles", before, after: null },
      ]);
    });
    await this.deps.access.invalidateUser(userId);
    await this.deps.sessions.leave(userId, tenant.organizationId);
    return true;
  }

  /** The caller leaves `organizationId`; NOT_FOUND when they are not a member. */
  leave(actor: Principal, organizationId: string): Promise<boolean> {
    return this.remove(actor, { organizationId, db: this.deps.scoped.of(organizationId) }, actor.userId);
  }

  /** Grants an organization role to a member; the caller must hold every permission it carries. */
  async assignRole(actor: Principal, tenant: Tenant, userId: string, roleId: string): Promise<Member> {
    await this.deps.roles.requireGrantable(actor, tenant, roleId);
    return this.changeRoles(actor, tenant, userId, "organization.role_assigned", (tx) =>
      tx.organizationMemberRole.upsert({
        where: { organizationId_userId_roleId: { organizationId: tenant.organizationId, userId, roleId } },
        create: { organizationId: tenant.organizationId, userId, roleId },
        update: {},
      }),
    );
  }

  /** Takes an organization role from a member; the caller must hold every permission it carries. */
  async unassignRole(actor: Principal, tenant: Tenant, userId: string, roleId: string): Promise<Member> {
    await this.deps.roles.requireGrantable(actor, tenant, roleId);
    return this.changeRoles(actor, tenant, userId, "organization.role_unassigned", async (tx) => {
      await tx.organizationMemberRole.deleteMany({ where: { userId, roleId } });
      await this.keepAnOwner(tx, null);
    });
  }

  private async changeRoles(
    actor: Principal,
    tenant: Tenant,
    userId: string,
    action: string,
    change: (tx: Tx) => Promise<unknown>,
  ): Promise<Member> {
    const member = await tenant.db.$transaction(async (tx) => {
      await lockRow(tx, "organizations", tenant.organizationId);
      const found = await tx.organizationMember.findFirst({
        where: { userId },
        include: { user: { select: { email: true, displayName: true } } },
      });
      if (!found) throw new NotFoundError("Member");
      const before = await roleNames(tx, tenant.organizationId, userId);
      await change(tx);
      const after = await roleNames(tx, tenant.organizationId, userId);
      const changes = changesBetween({ roles: before }, { roles: after }, ["roles"]);
      await this.record(tx, actor, tenant.organizationId, action, "user", userId, changes);
      const { user, ...membership } = found;
      return { ...membership, ...user };
    });
    await this.deps.access.invalidateUser(userId);
    return member;
  }

  /**
   * Nobody removes a member more powerful than themselves in the organization.
   */
  private async requireManageable(actor: Principal, tenant: Tenant, userId: string): Promise<void> {
    const held = await tenant.db.organizationMemberRole.findMany({
      where: { userId },
      select: { role: { select: { permissions: { select: { permission: { select: { key: true } } } } } } },
    });
    const keys = held.flatMap((mr) => mr.role.permissions.map((rp) => rp.permission.key));
    const missing = firstMissingGrant(organizationGrants(actor, tenant.organizationId) ?? [], keys);
    if (missing !== undefined) {
      throw new ForbiddenError(missing, `You cannot remove a member who holds ${missing}: you do not hold it`);
    }
  }

  /**
   * Refuses a change that leaves the organization without an owner, once `leaving` is gone (null: as
   * the transaction stands). Callers lock the organization's row first, so two such changes at once
   * cannot each see the other owner still there.
   */
  private async keepAnOwner(tx: Tx, leaving: string | null): Promise<void> {
    const owners = await tx.organizationMemberRole.count({
      where: { role: { name: "owner", isSystem: true }, userId: leaving === null ? undefined : { not: leaving } },
    });
    if (owners === 0) throw new ConflictError("An organization keeps at least one owner", "LAST_OWNER");
  }

  private async record(
    tx: Tx,
    actor: Principal,
    organizationId: string,
    action: string,
    targetType: string,
    targetId: string,
    changes: ReturnType<typeof changesBetween>,
  ): Promise<void> {
    await this.deps.audit.record(
      { action, actor: asActor(actor), target: { type: targetType, id: targetId }, changes, organizationId },
      tx,
    );
  }
}
