import type { Organization as OrganizationRecord, Prisma, Role as RoleRecord } from "../../generated/prisma/client.js";
import { changesBetween } from "../../platform/audit/audit-event.js";
import type { AuditTrail } from "../../platform/audit/audit-trail.js";
import { likeLiteral, lockRow, type PrismaClient } from "../../platform/db/database.js";
import type { ScopedClients } from "../../platform/db/scoped.js";
import type { Mailer } from "../../platform/mail/mailer.js";
import { hashToken, MAX_TOKEN_LENGTH, randomToken } from "../../platform/secret-tokens.js";
import type { Logger } from "../../platform/observability/logger.js";
import { type AccessService } from "../permissions/index.js";
import { isFixedRole, keysOf, type RoleChange, roleNames, rolesDiff, type RoleService } from "../roles/index.js";
import type { SessionService } from "../sessions/index.js";
import { normalizeEmail } from "../users/index.js";
import { invitationMail } from "./invitation-mail.js";
import { ORGANIZATION_CONFLICTS } from "./organization.errors.js";
import type { InviteMemberInput, MemberFilter } from "./organization.inputs.js";
import { changeBy } from "../../kernel/audited-change.js";
import { type Tenant } from "../../kernel/request.js";
import { BadUserInputError, ConflictError, ForbiddenError, NotFoundError } from "../../kernel/errors.js";
import { type Page, pageOf, type PageRequest, pageWindow } from "../../kernel/paging.js";
import { asActor, type Principal } from "../../kernel/principal.js";

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

const lastOwner = () =>
  new ConflictError("An organization keeps at least one owner", ORGANIZATION_CONFLICTS.LAST_OWNER);

const userTarget = (id: string) => ({ type: "user", id });

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

  async list(tenant: Tenant, page: PageRequest, filter: MemberFilter = {}): Promise<Page<Member>> {
    const search = filter.search?.trim() ? likeLiteral(filter.search.trim()) : undefined;
    const where: Prisma.OrganizationMemberWhereInput = {
      roles: filter.roleId ? { some: { roleId: filter.roleId } } : undefined,
      // Its service accounts are listed by serviceAccounts(organizationId).
      user: {
        kind: "human",
        ...(search
          ? {
              OR: [
                { email: { contains: search, mode: "insensitive" } },
                { displayName: { contains: search, mode: "insensitive" } },
              ],
            }
          : {}),
      },
    };
    const [totalItems, rows] = await Promise.all([
      tenant.db.organizationMember.count({ where }),
      tenant.db.organizationMember.findMany({
        where,
        include: { user: { select: { email: true, displayName: true } } },
        orderBy: [{ joinedAt: "asc" }, { userId: "asc" }],
        ...pageWindow(page),
      }),
    ]);
    const items = rows.map(({ user, ...member }) => ({ ...member, ...user }));
    return pageOf(page, items, totalItems);
  }

  /**
   * Invites `email` with a role (the member role by default), mailing a single-use link. A pending
   * invitation of the same address is replaced. The inviter must hold every permission of the role.
   */
  async invite(actor: Principal, tenant: Tenant, input: InviteMemberInput): Promise<PendingInvitation> {
    const { organizationId, db } = tenant;
    const email = normalizeEmail(input.email);
    const token = randomToken();
    const now = new Date();
    const { invitation, role, organization } = await db.$transaction(async (tx) => {
      const role = input.roleId
        ? await this.grantable(tx, actor, tenant, input.roleId)
        : await tx.role.findFirst({ where: { name: "member", isSystem: true } });
      if (!role) throw new NotFoundError("Role");
      const organization = await tx.organization.findUnique({ where: { id: organizationId } });
      if (!organization) throw new NotFoundError("Organization");
      const already = await tx.organizationMember.count({ where: { user: { email } } });
      if (already > 0) {
        throw new ConflictError("This address is a member already", ORGANIZATION_CONFLICTS.ALREADY_MEMBER);
      }
      await tx.organizationInvitation.updateMany({
        where: { email, acceptedAt: null, revokedAt: null },
        data: { revokedAt: now },
      });
      const invitation = await tx.organizationInvitation.create({
        data: {
          organizationId,
          email,
          roleId: role.id,
          tokenHash: hashToken(token),
          invitedById: actor.userId,
          expiresAt: new Date(now.getTime() + INVITATION_DAYS * 24 * 3600 * 1000),
        },
      });
      await this.deps.audit.record(
        changeBy(actor, {
          action: "organization.member_invited",
          target: { type: "invitation", id: invitation.id },
          after: { email, role: role.name },
          fields: ["email", "role"],
          organizationId,
        }),
        tx,
      );
      return { invitation, role, organization };
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

  /** Role `roleId`, checked grantable by `actor` on its locked row: a change of its permissions waits for `tx`. */
  private async grantable(tx: Tx, actor: Principal, tenant: Tenant, roleId: string): Promise<RoleRecord> {
    const role = await this.deps.roles.lock(tx, tenant, roleId);
    this.deps.roles.requireGrantable(actor, tenant, role);
    return role;
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
      await this.deps.audit.record(
        changeBy(actor, {
          action: "organization.invitation_revoked",
          target: { type: "invitation", id },
          organizationId: tenant.organizationId,
        }),
        tx,
      );
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
      const realm = { organizationId, db: this.deps.scoped.of(organizationId) };
      const roles = await this.deps.roles.lockChange(t, realm, user.id, roleId);
      await t.organizationMember.createMany({ data: [{ organizationId, userId: user.id }], skipDuplicates: true });
      const { count } = await t.organizationMemberRole.createMany({
        data: [{ organizationId, userId: user.id, roleId }],
        skipDuplicates: true,
      });
      await t.user.updateMany({ where: { id: user.id, emailVerifiedAt: null }, data: { emailVerifiedAt: new Date() } });
      const { before, after } = rolesDiff(roles, { before: count === 0, after: true });
      await this.deps.audit.record(
        {
          action: "organization.member_joined",
          actor: { id: user.id, email: user.email },
          target: userTarget(user.id),
          changes: changesBetween(before, after, ["roles"]),
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
    await tenant.db.$transaction(async (tx) => {
      await lockRow(tx, "organizations", tenant.organizationId);
      const held = await this.deps.roles.heldBy(tx, tenant, userId);
      if (userId !== actor.userId) this.deps.roles.requireManageable(actor, tenant, keysOf(held), "remove a member");
      if (await this.deps.roles.isLastHolder(tx, tenant, userId)) throw lastOwner();
      // An organization's service account is changed as one (serviceAccounts), not as a member.
      const { count } = await tx.organizationMember.deleteMany({ where: { userId, user: { kind: "human" } } });
      if (count === 0) throw new NotFoundError("Member");
      // What they invited does not outlive their membership.
      await tx.organizationInvitation.updateMany({
        where: { invitedById: userId, acceptedAt: null, revokedAt: null },
        data: { revokedAt: new Date() },
      });
      await this.deps.audit.record(
        changeBy(actor, {
          action: userId === actor.userId ? "organization.member_left" : "organization.member_removed",
          target: userTarget(userId),
          before: { roles: roleNames(held) },
          after: { roles: null },
          fields: ["roles"],
          organizationId: tenant.organizationId,
        }),
        tx,
      );
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
  assignRole(actor: Principal, tenant: Tenant, userId: string, roleId: string): Promise<Member> {
    return this.changeRole(actor, tenant, userId, roleId, "organization.role_assigned", async (tx) => {
      const { count } = await tx.organizationMemberRole.createMany({
        data: [{ organizationId: tenant.organizationId, userId, roleId }],
        skipDuplicates: true,
      });
      return { before: count === 0, after: true };
    });
  }

  /**
   * Takes an organization role from a member; the caller must hold every permission it carries. The
   * last owner keeps the owner role.
   */
  unassignRole(actor: Principal, tenant: Tenant, userId: string, roleId: string): Promise<Member> {
    return this.changeRole(actor, tenant, userId, roleId, "organization.role_unassigned", async (tx, { role }) => {
      if (isFixedRole(tenant, role) && (await this.deps.roles.isLastHolder(tx, tenant, userId, role))) {
        throw lastOwner();
      }
      const { count } = await tx.organizationMemberRole.deleteMany({ where: { userId, roleId } });
      return { before: count > 0, after: false };
    });
  }

  /**
   * A change of one role of member `userId` (see RoleService.changeHolder), in one transaction that
   * locks the organization's row first. NOT_FOUND when they are no member.
   */
  private async changeRole(
    actor: Principal,
    tenant: Tenant,
    userId: string,
    roleId: string,
    action: string,
    write: (tx: Tx, roles: RoleChange) => Promise<{ before: boolean; after: boolean }>,
  ): Promise<Member> {
    const { member } = await tenant.db.$transaction(async (tx) => {
      await lockRow(tx, "organizations", tenant.organizationId);
      return this.deps.roles.changeHolder(tx, tenant, actor, { userId, roleId, action }, async (roles) => {
        const found = await tx.organizationMember.findFirst({
          where: { userId, user: { kind: "human" } },
          include: { user: { select: { email: true, displayName: true } } },
        });
        if (!found) throw new NotFoundError("Member");
        const { user, ...membership } = found;
        return { ...(await write(tx, roles)), member: { ...membership, ...user } };
      });
    });
    await this.deps.access.invalidateUser(userId);
    return member;
  }
}
