import type { Role as RoleRecord } from "../../generated/prisma/client.js";
import { changesBetween } from "../../platform/audit/audit-event.js";
import type { AuditTrail } from "../../platform/audit/audit-trail.js";
import { lockRow, type Prisma, type PrismaClient } from "../../platform/db/database.js";
import type { ScopedClient } from "../../platform/db/scoped.js";
import { type AccessService } from "../permissions/index.js";
import type { CreateRoleInput, UpdateRoleInput } from "./role.inputs.js";
import { BadUserInputError, ConflictError, ForbiddenError, NotFoundError } from "../../kernel/errors.js";
import { asActor, firstMissingGrant, organizationGrants, type Principal } from "../../kernel/principal.js";
import { isOrganizationAssignable, SystemRole } from "../../kernel/permission-catalog.js";

type Tx = Prisma.TransactionClient;

/** A role as its audit events show it: the permissions by key. */
interface AuditedRole extends Record<string, unknown> {
  name: string;
  description: string;
  permissions: string[];
}

const AUDITED_FIELDS = ["name", "description", "permissions"] as const;

/** The role as it is now, its row locked until the transaction ends (see lockRow). */
async function audited(tx: Tx, roleId: string): Promise<AuditedRole | null> {
  await lockRow(tx, "roles", roleId);
  const role = await tx.role.findUnique({
    where: { id: roleId },
    select: { name: true, description: true, permissions: { select: { permission: { select: { key: true } } } } },
  });
  if (!role) return null;
  return { ...role, permissions: role.permissions.map((rp) => rp.permission.key).sort() };
}

/**
 * Where roles live: the platform's own (`organizationId` null: admin, user, ...), or one
 * organization's. `db` sees only that realm's roles.
 */
export interface RoleRealm {
  organizationId: string | null;
  db: ScopedClient;
}

/**
 * The system role of each realm whose permissions never change: the platform's admin keeps `*`, an
 * organization's owner every organization permission. Nobody, a full admin included, can lock everyone out.
 */
const fixedRoleOf = (realm: RoleRealm): string => (realm.organizationId === null ? SystemRole.ADMIN : "owner");

/** Role names are compared trimmed and case-insensitively (the unique index does the same): stored trimmed. */
const roleName = (name: string): string => name.trim();

/**
 * Roles and their permissions, in the platform or in one organization. Nobody can hand out what they
 * do not hold: granting a role, or changing or deleting one, needs the caller to hold every permission
 * concerned, in that realm.
 */
export class RoleService {
  /** The platform's own roles. */
  readonly platform: RoleRealm;

  constructor(
    private readonly prisma: PrismaClient,
    platformDb: ScopedClient,
    private readonly access: AccessService,
    private readonly audit: AuditTrail,
  ) {
    this.platform = { organizationId: null, db: platformDb };
  }

  list(realm: RoleRealm): Promise<RoleRecord[]> {
    return realm.db.role.findMany({ orderBy: { name: "asc" } });
  }

  async get(realm: RoleRealm, id: string): Promise<RoleRecord> {
    const role = await realm.db.role.findUnique({ where: { id } });
    if (!role) throw new NotFoundError("Role");
    return role;
  }

  async create(actor: Principal, realm: RoleRealm, input: CreateRoleInput): Promise<RoleRecord> {
    const permissionIds = [...new Set(input.permissionIds)];
    this.requireHeld(actor, realm, await this.keysOf(realm, permissionIds));
    return realm.db.$transaction(async (tx) => {
      const role = await tx.role.create({
        data: {
          name: roleName(input.name),
          description: input.description,
          permissions: { create: permissionIds.map((permissionId) => ({ permissionId })) },
        },
      });
      await this.record(tx, actor, realm, "role.created", role.id, null);
      return role;
    });
  }

  /** Changes a role's name or description; like granting it, this needs every permission it carries. */
  async update(actor: Principal, realm: RoleRealm, id: string, input: UpdateRoleInput): Promise<RoleRecord> {
    const role = await this.requireGrantable(actor, realm, id);
    const name = input.name ? roleName(input.name) : undefined;
    if (role.isSystem && name !== undefined && name !== role.name) {
      throw new ConflictError(`${role.name} is a system role and keeps its name`, "SYSTEM_ROLE");
    }
    const updated = await realm.db.$transaction(async (tx) => {
      const before = await audited(tx, id);
      const after = await tx.role.update({
        where: { id },
        data: { name, description: input.description ?? undefined },
      });
      await this.record(tx, actor, realm, "role.updated", id, before);
      return after;
    });
    // Principals carry their role names: a renamed role must not stay cached under its old one.
    if (name !== undefined && name !== role.name) await this.invalidate(realm);
    return updated;
  }

  /** Deleting a role takes its permissions from every holder: the caller must hold them all. */
  async delete(actor: Principal, realm: RoleRealm, id: string): Promise<boolean> {
    const role = await this.requireGrantable(actor, realm, id);
    if (role.isSystem) throw new ConflictError(`${role.name} is a system role and cannot be deleted`, "SYSTEM_ROLE");
    await realm.db.$transaction(async (tx) => {
      const before = await audited(tx, id);
      await tx.role.delete({ where: { id } });
      await this.record(tx, actor, realm, "role.deleted", id, before);
    });
    await this.invalidate(realm);
    return true;
  }

  /**
   * Replaces the role's permissions; the caller must hold each one it carries and each one added. The
   * realm's fixed role (see fixedRoleOf) keeps its own.
   */
  async setPermissions(
    actor: Principal,
    realm: RoleRealm,
    roleId: string,
    permissionIds: string[],
  ): Promise<RoleRecord> {
    const role = await this.get(realm, roleId);
    const wanted = new Map((await this.permissionsByIds(realm, [...new Set(permissionIds)])).map((p) => [p.id, p.key]));
    await realm.db.$transaction(async (tx) => {
      // Read under the role's lock: two changes at once apply one after the other, none lost.
      const before = await audited(tx, roleId);
      const current = new Map(
        (await tx.rolePermission.findMany({ where: { roleId }, include: { permission: true } })).map((rp) => [
          rp.permissionId,
          rp.permission.key,
        ]),
      );
      const added = [...wanted].filter(([id]) => !current.has(id));
      const removed = [...current].filter(([id]) => !wanted.has(id));
      // As for requireGrantable, read under the lock: editing a role needs all it carries, kept ones too.
      this.requireHeld(actor, realm, [...current.values(), ...wanted.values()]);
      if (role.isSystem && role.name === fixedRoleOf(realm)) {
        throw new ConflictError(`The ${role.name} role keeps its permissions`, "SYSTEM_ROLE");
      }
      await tx.role.update({
        where: { id: roleId },
        data: {
          permissions: {
            deleteMany: { permissionId: { in: removed.map(([id]) => id) } },
            createMany: { data: added.map(([permissionId]) => ({ permissionId })), skipDuplicates: true },
          },
        },
      });
      await this.record(tx, actor, realm, "role.permissions_changed", roleId, before);
    });
    await this.invalidate(realm);
    return role;
  }

  /** The role `roleId` of `realm`, after checking that `actor` holds every permission it carries there. */
  async requireGrantable(actor: Principal, realm: RoleRealm, roleId: string): Promise<RoleRecord> {
    const role = await realm.db.role.findUnique({
      where: { id: roleId },
      include: { permissions: { include: { permission: true } } },
    });
    if (!role) throw new NotFoundError("Role");
    this.requireHeld(
      actor,
      realm,
      role.permissions.map((rp) => rp.permission.key),
    );
    const { permissions: _permissions, ...record } = role;
    return record;
  }

  /** Users' grants through this realm's roles may have changed. */
  private invalidate(realm: RoleRealm): Promise<void> {
    return realm.organizationId === null
      ? this.access.invalidateAll()
      : this.access.invalidateOrganization(realm.organizationId);
  }

  /** Records a change of role `roleId`, comparing `before` with the role as it is now in `tx`. */
  private async record(
    tx: Tx,
    actor: Principal,
    realm: RoleRealm,
    action: string,
    roleId: string,
    before: AuditedRole | null,
  ) {
    const changes = changesBetween(before, await audited(tx, roleId), AUDITED_FIELDS);
    const target = { type: "role", id: roleId };
    await this.audit.record(
      { action, actor: asActor(actor), target, changes, organizationId: realm.organizationId },
      tx,
    );
  }

  /** Refuses unless `actor` holds every one of `keys` in `realm`. */
  private requireHeld(actor: Principal, realm: RoleRealm, keys: string[]): void {
    const grants =
      realm.organizationId === null ? actor.grants : (organizationGrants(actor, realm.organizationId) ?? []);
    const missing = firstMissingGrant(grants, keys);
    if (missing !== undefined)
      throw new ForbiddenError(
        missing,
        `You do not hold ${missing}: you cannot grant it, take it away, or change a role carrying it`,
      );
  }

  private async keysOf(realm: RoleRealm, permissionIds: string[]): Promise<string[]> {
    return (await this.permissionsByIds(realm, permissionIds)).map((p) => p.key);
  }

  /** The permissions `ids`; in an organization, only those its roles may carry. */
  private async permissionsByIds(realm: RoleRealm, ids: string[]): Promise<{ id: string; key: string }[]> {
    if (ids.length === 0) return [];
    const found = await this.prisma.permission.findMany({
      where: { id: { in: ids } },
      select: { id: true, key: true },
    });
    if (found.length !== ids.length) throw new NotFoundError("Permission");
    const platformOnly = realm.organizationId === null ? [] : found.filter((p) => !isOrganizationAssignable(p.key));
    if (platformOnly.length > 0) {
      throw new BadUserInputError([
        {
          path: "permissionIds",
          message: `${platformOnly.map((p) => p.key).join(", ")} cannot be given to an organization role`,
        },
      ]);
    }
    return found;
  }
}
