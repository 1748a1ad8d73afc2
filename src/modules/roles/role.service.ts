import type { Role as RoleRecord } from "../../generated/prisma/client.js";
import { ConflictError, ForbiddenError, NotFoundError } from "../../graphql/errors.js";
import { changesBetween } from "../../platform/audit/audit-event.js";
import type { AuditTrail } from "../../platform/audit/audit-trail.js";
import { lockRow, type Prisma, type PrismaClient } from "../../platform/db/database.js";
import { type AccessService, asActor, firstMissing, type Principal } from "../permissions/index.js";
import type { CreateRoleInput, UpdateRoleInput } from "./role.inputs.js";

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
 * Roles and their permissions. Nobody can hand out what they do not hold: changing a role's
 * permissions, or granting a role, needs the caller to hold every permission concerned.
 */
export class RoleService {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly access: AccessService,
    private readonly audit: AuditTrail,
  ) {}

  list(): Promise<RoleRecord[]> {
    return this.prisma.role.findMany({ orderBy: { name: "asc" } });
  }

  async get(id: string): Promise<RoleRecord> {
    const role = await this.prisma.role.findUnique({ where: { id } });
    if (!role) throw new NotFoundError("Role");
    return role;
  }

  async findByName(name: string): Promise<RoleRecord> {
    const role = await this.prisma.role.findUnique({ where: { name } });
    if (!role) throw new NotFoundError("Role");
    return role;
  }

  async create(actor: Principal, input: CreateRoleInput): Promise<RoleRecord> {
    const permissionIds = [...new Set(input.permissionIds)];
    this.requireHeld(actor, await this.keysOf(permissionIds));
    return this.prisma.$transaction(async (tx) => {
      const role = await tx.role.create({
        data: {
          name: input.name,
          description: input.description,
          permissions: { create: permissionIds.map((permissionId) => ({ permissionId })) },
        },
      });
      await this.record(tx, actor, "role.created", role.id, null);
      return role;
    });
  }

  async update(actor: Principal, id: string, input: UpdateRoleInput): Promise<RoleRecord> {
    const role = await this.get(id);
    if (role.isSystem && input.name !== undefined && input.name !== role.name) {
      throw new ConflictError(`${role.name} is a system role and keeps its name`, "SYSTEM_ROLE");
    }
    return this.prisma.$transaction(async (tx) => {
      const before = await audited(tx, id);
      const updated = await tx.role.update({
        where: { id },
        data: { name: input.name, description: input.description },
      });
      await this.record(tx, actor, "role.updated", id, before);
      return updated;
    });
  }

  /** Deleting a role takes its permissions from every holder: the caller must hold them all. */
  async delete(actor: Principal, id: string): Promise<boolean> {
    const role = await this.requireGrantable(actor, id);
    if (role.isSystem) throw new ConflictError(`${role.name} is a system role and cannot be deleted`, "SYSTEM_ROLE");
    await this.prisma.$transaction(async (tx) => {
      const before = await audited(tx, id);
      await tx.role.delete({ where: { id } });
      await this.record(tx, actor, "role.deleted", id, before);
    });
    await this.access.invalidateAll();
    return true;
  }

  /** Replaces the role's permissions; the caller must hold each one added or removed. */
  async setPermissions(actor: Principal, roleId: string, permissionIds: string[]): Promise<RoleRecord> {
    const role = await this.get(roleId);
    const wanted = new Map((await this.permissionsByIds([...new Set(permissionIds)])).map((p) => [p.id, p.key]));
    const current = new Map(
      (await this.prisma.rolePermission.findMany({ where: { roleId }, include: { permission: true } })).map((rp) => [
        rp.permissionId,
        rp.permission.key,
      ]),
    );
    const added = [...wanted].filter(([id]) => !current.has(id));
    const removed = [...current].filter(([id]) => !wanted.has(id));
    this.requireHeld(
      actor,
      [...added, ...removed].map(([, key]) => key),
    );
    await this.prisma.$transaction(async (tx) => {
      const before = await audited(tx, roleId);
      await tx.rolePermission.deleteMany({ where: { roleId, permissionId: { in: removed.map(([id]) => id) } } });
      await tx.rolePermission.createMany({
        data: added.map(([permissionId]) => ({ roleId, permissionId })),
        skipDuplicates: true,
      });
      await this.record(tx, actor, "role.permissions_changed", roleId, before);
    });
    await this.access.invalidateAll();
    return role;
  }

  /** The role `roleId`, after checking that `actor` holds every permission it carries. */
  async requireGrantable(actor: Principal, roleId: string): Promise<RoleRecord> {
    const role = await this.prisma.role.findUnique({
      where: { id: roleId },
      include: { permissions: { include: { permission: true } } },
    });
    if (!role) throw new NotFoundError("Role");
    this.requireHeld(
      actor,
      role.permissions.map((rp) => rp.permission.key),
    );
    const { permissions: _permissions, ...record } = role;
    return record;
  }

  /** Records a change of role `roleId`, comparing `before` with the role as it is now in `tx`. */
  private async record(tx: Tx, actor: Principal, action: string, roleId: string, before: AuditedRole | null) {
    const changes = changesBetween(before, await audited(tx, roleId), AUDITED_FIELDS);
    await this.audit.record({ action, actor: asActor(actor), target: { type: "role", id: roleId }, changes }, tx);
  }

  private requireHeld(actor: Principal, keys: string[]): void {
    const missing = firstMissing(actor, keys);
    if (missing !== undefined)
      throw new ForbiddenError(missing, `You cannot grant or revoke ${missing}: you do not hold it`);
  }

  private async keysOf(permissionIds: string[]): Promise<string[]> {
    return (await this.permissionsByIds(permissionIds)).map((p) => p.key);
  }

  private async permissionsByIds(ids: string[]): Promise<{ id: string; key: string }[]> {
    if (ids.length === 0) return [];
    const found = await this.prisma.permission.findMany({
      where: { id: { in: ids } },
      select: { id: true, key: true },
    });
    if (found.length !== ids.length) throw new NotFoundError("Permission");
    return found;
  }
}
