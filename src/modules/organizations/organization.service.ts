import { randomBytes } from "node:crypto";
import type { Organization as OrganizationRecord, Prisma } from "../../generated/prisma/client.js";
import type { AuditTrail } from "../../platform/audit/audit-trail.js";
import { isUniqueViolation, likeLiteral, lockRow, type PrismaClient } from "../../platform/db/database.js";
import { type AccessTokens } from "../auth/index.js";
import { type AccessService } from "../permissions/index.js";
import type { SessionService } from "../sessions/index.js";
import { ORGANIZATION_CONFLICTS } from "./organization.errors.js";
import type { CreateOrganizationInput, UpdateOrganizationInput } from "./organization.inputs.js";
import { changeBy } from "../../kernel/audited-change.js";
import { type Tenant } from "../../kernel/request.js";
import { ConflictError, ForbiddenError, NotFoundError } from "../../kernel/errors.js";
import { type Page, pageOf, type PageRequest, pageWindow } from "../../kernel/paging.js";
import { can, type Principal } from "../../kernel/principal.js";
import { ORGANIZATION_ROLES } from "../../kernel/permission-catalog.js";

/** Who may create organizations (`KAFKEY_ORGANIZATION_CREATION`). */
export type OrganizationCreation = "verified-users" | "users" | "admins";

const AUDITED_FIELDS = ["name", "slug", "status"] as const;

/** A slug made from a name: `Acme Corp.` gives `acme-corp`. */
export function slugFrom(name: string): string {
  const slug = name
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .slice(0, 40)
    .replace(/^-+|-+$/g, "");
  return slug || "org";
}

/** Likely to be free when the slug made from a name is taken. */
const withSuffix = (slug: string) => `${slug}-${randomBytes(3).toString("hex")}`;

const slugTaken = () => new ConflictError("This slug is taken", ORGANIZATION_CONFLICTS.SLUG_TAKEN);

const organizationTarget = (id: string) => ({ type: "organization", id });

export interface OrganizationDependencies {
  prisma: PrismaClient;
  access: AccessService;
  sessions: SessionService;
  tokens: AccessTokens;
  audit: AuditTrail;
  creation: OrganizationCreation;
}

/** Organizations themselves: creating, reading, changing, deleting, and acting in one. */
export class OrganizationService {
  constructor(private readonly deps: OrganizationDependencies) {}

  /**
   * Creates an organization with its owner, admin and member roles; the creator becomes its owner.
   * Who may is `KAFKEY_ORGANIZATION_CREATION`'s to say; a platform `orgs.create` always may.
   */
  async create(actor: Principal, input: CreateOrganizationInput): Promise<OrganizationRecord> {
    await this.requireMayCreate(actor);
    const { prisma } = this.deps;
    const permissions = await prisma.permission.findMany({
      where: { key: { in: [...new Set(Object.values(ORGANIZATION_ROLES).flatMap((r) => r.permissions))] } },
      select: { id: true, key: true },
    });
    const idOf = new Map(permissions.map((p) => [p.key, p.id]));
    const name = input.name.trim();
    const attempt = (slug: string) =>
      prisma.$transaction(async (tx) => {
        const organization = await tx.organization.create({ data: { name, slug } });
        const roleIds = new Map<string, string>();
        for (const [roleName, role] of Object.entries(ORGANIZATION_ROLES)) {
          const created = await tx.role.create({
            data: {
              organizationId: organization.id,
              name: roleName,
              description: role.description,
              isSystem: true,
              permissions: { create: role.permissions.map((key) => ({ permissionId: idOf.get(key)! })) },
            },
            select: { id: true },
          });
          roleIds.set(roleName, created.id);
        }
        await tx.organizationMember.create({
          data: {
            organizationId: organization.id,
            userId: actor.userId,
            roles: { create: { roleId: roleIds.get("owner")! } },
          },
        });
        await this.deps.audit.record(
          changeBy(actor, {
            action: "organization.created",
            target: organizationTarget(organization.id),
            after: organization,
            fields: AUDITED_FIELDS,
            organizationId: organization.id,
          }),
          tx,
        );
        return organization;
      });
    try {
      return await attempt(input.slug ?? slugFrom(name));
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      if (input.slug !== undefined) throw slugTaken();
      return attempt(withSuffix(slugFrom(name)));
    }
  }

  private async requireMayCreate(actor: Principal): Promise<void> {
    if (can(actor, "orgs.create")) return;
    const { creation, prisma } = this.deps;
    if (creation === "admins") throw new ForbiddenError("orgs.create", "Only platform admins create organizations");
    if (creation === "verified-users") {
      const user = await prisma.user.findUnique({ where: { id: actor.userId }, select: { emailVerifiedAt: true } });
      if (!user?.emailVerifiedAt) {
        throw new ForbiddenError(undefined, "Verify your email address before creating an organization");
      }
    }
  }

  /** The organizations `userId` belongs to, by name. */
  mine(userId: string): Promise<OrganizationRecord[]> {
    return this.deps.prisma.organization.findMany({
      where: { members: { some: { userId } } },
      orderBy: [{ name: "asc" }, { id: "asc" }],
    });
  }

  /** Every organization, oldest first (platform admins). */
  async all(page: PageRequest, search?: string): Promise<Page<OrganizationRecord>> {
    const text = search?.trim() ? likeLiteral(search.trim()) : undefined;
    const where: Prisma.OrganizationWhereInput = text
      ? {
          OR: [{ name: { contains: text, mode: "insensitive" } }, { slug: { contains: text.toLowerCase() } }],
        }
      : {};
    const [totalItems, items] = await Promise.all([
      this.deps.prisma.organization.count({ where }),
      this.deps.prisma.organization.findMany({
        where,
        orderBy: [{ createdAt: "asc" }, { id: "asc" }],
        ...pageWindow(page),
      }),
    ]);
    return pageOf(page, items, totalItems);
  }

  async get(tenant: Tenant): Promise<OrganizationRecord> {
    const organization = await tenant.db.organization.findUnique({ where: { id: tenant.organizationId } });
    if (!organization) throw new NotFoundError("Organization");
    return organization;
  }

  /** Renames it or changes its slug; its status only with the platform's `orgs.manage`. */
  async update(actor: Principal, tenant: Tenant, input: UpdateOrganizationInput): Promise<OrganizationRecord> {
    if (input.status !== undefined && !can(actor, "orgs.manage")) {
      throw new ForbiddenError("orgs.manage", "Only platform admins suspend or resume an organization");
    }
    const { organizationId, db } = tenant;
    try {
      const updated = await db.$transaction(async (tx) => {
        await lockRow(tx, "organizations", organizationId);
        const before = await tx.organization.findUnique({ where: { id: organizationId } });
        if (!before) throw new NotFoundError("Organization");
        const after = await tx.organization.update({
          where: { id: organizationId },
          data: {
            name: input.name?.trim() || undefined,
            slug: input.slug ?? undefined,
            status: input.status ?? undefined,
          },
        });
        await this.deps.audit.record(
          changeBy(actor, {
            action: "organization.updated",
            target: organizationTarget(organizationId),
            before,
            after,
            fields: AUDITED_FIELDS,
            organizationId,
          }),
          tx,
        );
        return after;
      });
      if (input.status !== undefined) await this.deps.access.invalidateOrganization(organizationId);
      return updated;
    } catch (error) {
      throw isUniqueViolation(error) ? slugTaken() : error;
    }
  }

  /** Deletes it with its members, roles and invitations. Its audit events stay. */
  async delete(actor: Principal, tenant: Tenant): Promise<boolean> {
    const { organizationId, db } = tenant;
    await db.$transaction(async (tx) => {
      await lockRow(tx, "organizations", organizationId);
      const before = await tx.organization.findUnique({ where: { id: organizationId } });
      if (!before) throw new NotFoundError("Organization");
      await tx.organization.delete({ where: { id: organizationId } });
      await this.deps.audit.record(
        changeBy(actor, {
          action: "organization.deleted",
          target: organizationTarget(organizationId),
          before,
          fields: AUDITED_FIELDS,
          organizationId,
        }),
        tx,
      );
    });
    await this.deps.access.invalidateOrganization(organizationId);
    return true;
  }

  /**
   * Makes the caller's session act in `organizationId` (null: in none): a new access token with the
   * `org` claim, kept by refreshed tokens. Needs membership (or a platform `orgs.*` permission).
   */
  async switchTo(
    actor: Principal,
    sessionId: string,
    organizationId: string | null,
  ): Promise<{ organization: OrganizationRecord | null; accessToken: string; accessTokenExpiresAt: Date }> {
    let organization: OrganizationRecord | null = null;
    if (organizationId !== null) {
      const { principal, refusal } = await this.deps.access.principal(actor.userId, organizationId);
      if (!principal?.organization || refusal) {
        throw new ForbiddenError(
          undefined,
          refusal === "suspended" ? "This organization is suspended" : "You are not a member of this organization",
        );
      }
      organization = await this.deps.prisma.organization.findUniqueOrThrow({ where: { id: organizationId } });
    }
    if (!(await this.deps.sessions.actIn(actor.userId, sessionId, organizationId))) {
      throw new ForbiddenError(undefined, "This session has ended");
    }
    const access = this.deps.tokens.sign(actor.userId, sessionId, organizationId);
    return { organization, accessToken: access.token, accessTokenExpiresAt: access.expiresAt };
  }
}
