import type { Permission as PermissionRecord } from "../../generated/prisma/client.js";
import type { AuditTrail } from "../../platform/audit/audit-trail.js";
import type { PrismaClient } from "../../platform/db/database.js";
import { type AccessService } from "./access.js";
import { PERMISSION_CONFLICTS } from "./permission.errors.js";
import type { CreatePermissionInput, UpdatePermissionInput } from "./permission.inputs.js";
import { changeBy } from "../../kernel/audited-change.js";
import { BadUserInputError, ConflictError, ForbiddenError, NotFoundError } from "../../kernel/errors.js";
import { can, type Principal } from "../../kernel/principal.js";
import {
  isCatalogPermission,
  isOrganizationAssignable,
  isValidPermissionKey,
} from "../../kernel/permission-catalog.js";

function checkKey(key: string, path: string): void {
  if (!isValidPermissionKey(key)) {
    throw new BadUserInputError([
      { path, message: "must be dotted lower-case segments such as users.read, the last may be *" },
    ]);
  }
}

const AUDITED_FIELDS = ["key", "description"] as const;

/** The audit entry of a change of a permission, `before` or `after` null when created or deleted. */
const changeOf = (actor: Principal, action: string, before: PermissionRecord | null, after: PermissionRecord | null) =>
  changeBy(actor, {
    action,
    target: { type: "permission", id: (after ?? before)!.id },
    before,
    after,
    fields: AUDITED_FIELDS,
  });

/** Nobody changes a permission they do not hold: its key or its description is what every holder sees. */
function requireHolds(actor: Principal, key: string): void {
  if (!can(actor, key)) throw new ForbiddenError(key, `You do not hold ${key}: you cannot change it`);
}

/** The permission catalog: built-in keys plus whatever an application defines for itself. */
export class PermissionService {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly access: AccessService,
    private readonly audit: AuditTrail,
  ) {}

  list(): Promise<PermissionRecord[]> {
    return this.prisma.permission.findMany({ orderBy: { key: "asc" } });
  }

  async get(id: string): Promise<PermissionRecord> {
    const permission = await this.prisma.permission.findUnique({ where: { id } });
    if (!permission) throw new NotFoundError("Permission");
    return permission;
  }

  async create(actor: Principal, input: CreatePermissionInput): Promise<PermissionRecord> {
    checkKey(input.key, "key");
    const permission = await this.prisma.$transaction(async (tx) => {
      const created = await tx.permission.create({ data: { key: input.key, description: input.description } });
      await this.audit.record(changeOf(actor, "permission.created", null, created), tx);
      return created;
    });
    await this.access.invalidateAll();
    return permission;
  }

  /**
   * The actor must hold the permission. Renaming a key changes what every holder of the old key holds,
   * so the actor must hold the new key already: otherwise renaming a permission they have into one they
   * lack would be an escalation.
   */
  async update(actor: Principal, id: string, input: UpdatePermissionInput): Promise<PermissionRecord> {
    const current = await this.get(id);
    requireHolds(actor, current.key);
    if (input.key !== undefined && input.key !== current.key) {
      checkKey(input.key, "key");
      if (isCatalogPermission(current.key)) {
        throw new ConflictError(
          `${current.key} is a built-in permission and keeps its key`,
          PERMISSION_CONFLICTS.SYSTEM_PERMISSION,
        );
      }
      requireHolds(actor, input.key);
      // Organization roles never carry a platform permission, renamed into one included.
      if (!isOrganizationAssignable(input.key)) {
        const inOrganizations = await this.prisma.rolePermission.count({
          where: { permissionId: id, role: { organizationId: { not: null } } },
        });
        if (inOrganizations > 0) {
          throw new ConflictError(
            `Organization roles carry ${current.key}; ${input.key} is for platform roles only`,
            PERMISSION_CONFLICTS.ORGANIZATION_ROLES,
          );
        }
      }
    }
    const permission = await this.prisma.$transaction(async (tx) => {
      const updated = await tx.permission.update({
        where: { id },
        data: { key: input.key, description: input.description },
      });
      await this.audit.record(changeOf(actor, "permission.updated", current, updated), tx);
      return updated;
    });
    await this.access.invalidateAll();
    return permission;
  }

  /** Deleting a permission takes it from every holder: the actor must hold it. */
  async delete(actor: Principal, id: string): Promise<boolean> {
    const current = await this.get(id);
    requireHolds(actor, current.key);
    if (isCatalogPermission(current.key)) {
      throw new ConflictError(
        `${current.key} is a built-in permission and cannot be deleted`,
        PERMISSION_CONFLICTS.SYSTEM_PERMISSION,
      );
    }
    await this.prisma.$transaction(async (tx) => {
      const deleted = await tx.permission.delete({ where: { id } });
      await this.audit.record(changeOf(actor, "permission.deleted", deleted, null), tx);
    });
    await this.access.invalidateAll();
    return true;
  }
}
