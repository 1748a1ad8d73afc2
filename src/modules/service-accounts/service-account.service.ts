import { randomUUID } from "node:crypto";
import type { AuditTrail } from "../../platform/audit/audit-trail.js";
import { lockRow, type Prisma, type PrismaClient } from "../../platform/db/database.js";
import type { Revocations } from "../../platform/revocations.js";
import type { AccessService } from "../permissions/index.js";
import { keysOf, type RoleService } from "../roles/index.js";
import { changeBy } from "../../kernel/audited-change.js";
import { ForbiddenError, NotFoundError } from "../../kernel/errors.js";
import { can, canInOrganization, type Principal } from "../../kernel/principal.js";
import type { Realm } from "../../kernel/request.js";
import { USER_SECRETS, type UserProfile } from "../../kernel/user-profile.js";

type Tx = Prisma.TransactionClient;

/** The kind of credential an API key is, to the revocation mechanism (as modules/api-keys names it). */
const API_KEY = "api_key";
/** The domain of the address a service account is stored with: reserved (RFC 2606), never mailed. */
const SERVICE_ACCOUNT_DOMAIN = "service-accounts.invalid";
const AUDITED_FIELDS = ["displayName", "status"] as const;
const target = (id: string) => ({ type: "service_account", id });

/** A service account as the API shows it: a user row of kind `service`. */
export type ServiceAccountRecord = UserProfile;

export interface NewServiceAccount {
  name: string;
  roleIds: string[];
}

export interface ServiceAccountChange {
  name?: string | null;
  /** Replaces the roles it holds in its realm. */
  roleIds?: string[] | null;
  status?: "active" | "disabled" | null;
}

/** What reading or managing service accounts needs: the platform permission, or the organization's own. */
type Access = "read" | "manage";

export interface ServiceAccountDependencies {
  prisma: PrismaClient;
  roles: RoleService;
  access: AccessService;
  revocations: Revocations;
  audit: AuditTrail;
}

/**
 * Service accounts: non-human principals, of the platform or owned by one organization, that hold roles
 * like users (platform roles, or their organization's, as a member of it) and act only through API keys.
 * They are users of kind `service`: sign-in, the users list and the last-admin checks leave them out.
 * Reading them needs `service_accounts.read` (or `org.service_accounts.read` in their organization),
 * changing them `service_accounts.manage` (or `org.service_accounts.manage`); granting a role needs
 * every permission it carries, as for a user.
 */
export class ServiceAccountService {
  constructor(private readonly deps: ServiceAccountDependencies) {}

  /** The service accounts of `realm` (the platform's, or one organization's), oldest first. */
  async list(actor: Principal, realm: Realm): Promise<ServiceAccountRecord[]> {
    requireAccess(actor, realm.organizationId, "read");
    return this.deps.prisma.user.findMany({
      where: { kind: "service", organizationId: realm.organizationId },
      orderBy: [{ createdAt: "asc" }, { id: "asc" }],
      omit: USER_SECRETS,
    });
  }

  /**
   * Service account `id`, which `actor` may `access` (NOT_FOUND when it does not exist, or belongs to
   * an organization the actor holds nothing in).
   */
  async get(actor: Principal, id: string, access: Access = "read"): Promise<ServiceAccountRecord> {
    const account = await this.deps.prisma.user.findFirst({ where: { id, kind: "service" }, omit: USER_SECRETS });
    if (!account) throw new NotFoundError("Service account");
    const { organizationId } = account;
    if (organizationId !== null && !can(actor, `service_accounts.${access}`)) {
      if (!canInOrganization(actor, organizationId, "org.read")) throw new NotFoundError("Service account");
    }
    requireAccess(actor, organizationId, access);
    return account;
  }

  async create(actor: Principal, realm: Realm, input: NewServiceAccount): Promise<ServiceAccountRecord> {
    requireAccess(actor, realm.organizationId, "manage");
    const { prisma, audit, access } = this.deps;
    const id = randomUUID();
    const { organizationId } = realm;
    const account = await prisma.$transaction(async (tx) => {
      if (organizationId !== null) await lockRow(tx, "organizations", organizationId);
      const created = await tx.user.create({
        data: {
          id,
          email: `${id}@${SERVICE_ACCOUNT_DOMAIN}`,
          displayName: input.name.trim(),
          kind: "service",
          organizationId,
        },
        omit: USER_SECRETS,
      });
      // In an organization, its roles are the organization's, held as a member.
      if (organizationId !== null) await tx.organizationMember.create({ data: { organizationId, userId: id } });
      await audit.record(
        changeBy(actor, {
          action: "service_account.created",
          target: target(id),
          before: null,
          after: { displayName: created.displayName, status: created.status },
          fields: AUDITED_FIELDS,
          organizationId,
        }),
        tx,
      );
      for (const roleId of new Set(input.roleIds)) await this.grant(tx, realm, actor, id, roleId);
      return created;
    });
    await access.invalidateUser(id);
    return account;
  }

  /**
   * Renames, disables or enables a service account, or replaces its roles. Needs every permission it
   * holds (nobody manages a principal more powerful than themselves) and, for each role granted or
   * taken away, every permission that role carries. Disabling stops its keys at the next request.
   */
  async update(actor: Principal, realm: Realm, id: string, input: ServiceAccountChange): Promise<ServiceAccountRecord> {
    const { prisma, audit, access, roles } = this.deps;
    await this.requireInRealm(actor, realm, id);
    const account = await prisma.$transaction(async (tx) => {
      await this.lockHolder(tx, realm, id);
      roles.requireManageable(actor, realm, await this.heldGrants(realm, id, tx), "manage a service account");
      const before = await tx.user.findUniqueOrThrow({ where: { id }, omit: USER_SECRETS });
      const after = await tx.user.update({
        where: { id },
        data: { displayName: input.name?.trim(), status: input.status ?? undefined },
        omit: USER_SECRETS,
      });
      if (before.displayName !== after.displayName || before.status !== after.status) {
        await audit.record(
          changeBy(actor, {
            action: "service_account.updated",
            target: target(id),
            before,
            after,
            fields: AUDITED_FIELDS,
            organizationId: realm.organizationId,
          }),
          tx,
        );
      }
      if (input.roleIds) {
        const wanted = new Set(input.roleIds);
        const held = await roles.heldBy(tx, realm, id);
        for (const role of held) if (!wanted.has(role.id)) await this.revoke(tx, realm, actor, id, role.id);
        for (const roleId of wanted)
          if (!held.some((role) => role.id === roleId)) await this.grant(tx, realm, actor, id, roleId);
      }
      return after;
    });
    await access.invalidateUser(id);
    return account;
  }

  /** Deletes a service account and its keys, which stop working at the next request on every instance. */
  async delete(actor: Principal, realm: Realm, id: string): Promise<boolean> {
    const { prisma, audit, access, roles, revocations } = this.deps;
    await this.requireInRealm(actor, realm, id);
    const keyIds = await prisma.$transaction(async (tx) => {
      await this.lockHolder(tx, realm, id);
      roles.requireManageable(actor, realm, await this.heldGrants(realm, id, tx), "delete a service account");
      const keys = await tx.apiKey.findMany({ where: { userId: id, revokedAt: null }, select: { id: true } });
      const before = await tx.user.delete({ where: { id }, omit: USER_SECRETS });
      await audit.record(
        changeBy(actor, {
          action: "service_account.deleted",
          target: target(id),
          before: { displayName: before.displayName, status: before.status },
          after: null,
          fields: AUDITED_FIELDS,
          organizationId: realm.organizationId,
        }),
        tx,
      );
      const ids = keys.map((key) => key.id);
      await revocations.announce(tx, API_KEY, ids);
      return ids;
    });
    await revocations.revoked(API_KEY, keyIds);
    await access.invalidateUser(id);
    return true;
  }

  /**
   * The permissions service account `id` holds in `realm` through its roles, whether it is active or
   * not: what whoever manages it, or makes it a key, must hold as well.
   */
  async heldGrants(realm: Pick<Realm, "organizationId">, id: string, tx: Tx = this.deps.prisma): Promise<string[]> {
    return keysOf(await this.deps.roles.heldBy(tx, realm, id));
  }

  /** NOT_FOUND unless `id` is a service account of `realm` that `actor` may manage. */
  private async requireInRealm(actor: Principal, realm: Realm, id: string): Promise<void> {
    const account = await this.get(actor, id, "manage");
    if (account.organizationId !== realm.organizationId) throw new NotFoundError("Service account");
  }

  /** Locks the holder of a change of roles first, as every such change does: the user's row, the organization's. */
  private async lockHolder(tx: Tx, realm: Realm, id: string): Promise<void> {
    if (realm.organizationId !== null) await lockRow(tx, "organizations", realm.organizationId);
    await lockRow(tx, "users", id);
  }

  private async grant(tx: Tx, realm: Realm, actor: Principal, userId: string, roleId: string): Promise<void> {
    const { organizationId } = realm;
    await this.deps.roles.changeHolder(
      tx,
      realm,
      actor,
      { userId, roleId, action: "service_account.role_assigned" },
      async () => {
        const { count } =
          organizationId === null
            ? await tx.userRole.createMany({
                data: [{ userId, roleId, grantedBy: actor.userId }],
                skipDuplicates: true,
              })
            : await tx.organizationMemberRole.createMany({
                data: [{ organizationId, userId, roleId }],
                skipDuplicates: true,
              });
        return { before: count === 0, after: true };
      },
    );
  }

  private async revoke(tx: Tx, realm: Realm, actor: Principal, userId: string, roleId: string): Promise<void> {
    const { organizationId } = realm;
    await this.deps.roles.changeHolder(
      tx,
      realm,
      actor,
      { userId, roleId, action: "service_account.role_removed" },
      async () => {
        const { count } =
          organizationId === null
            ? await tx.userRole.deleteMany({ where: { userId, roleId } })
            : await tx.organizationMemberRole.deleteMany({ where: { organizationId, userId, roleId } });
        return { before: count > 0, after: false };
      },
    );
  }
}

/**
 * Refuses unless `actor` may `access` the service accounts of `organizationId` (null: the platform's):
 * `service_accounts.<access>`, or in that organization `org.service_accounts.<access>`.
 */
export function requireAccess(actor: Principal, organizationId: string | null, access: Access): void {
  const platformKey = `service_accounts.${access}`;
  if (can(actor, platformKey)) return;
  if (organizationId !== null && canInOrganization(actor, organizationId, `org.service_accounts.${access}`)) return;
  throw new ForbiddenError(organizationId === null ? platformKey : `org.service_accounts.${access}`);
}
