import type { Role as RoleRecord } from "../../generated/prisma/client.js";
import type { AuditTrail } from "../../platform/audit/audit-trail.js";
import { lockRow, type Prisma, type PrismaClient } from "../../platform/db/database.js";
import type { ScopedClient } from "../../platform/db/scoped.js";
import { type AccessService } from "../permissions/index.js";
import { ROLE_CONFLICTS } from "./role.errors.js";
import type { CreateRoleInput, UpdateRoleInput } from "./role.inputs.js";
import { changeBy } from "../../kernel/audited-change.js";
import { BadUserInputError, ConflictError, ForbiddenError, NotFoundError } from "../../kernel/errors.js";
import { firstMissingGrant, organizationGrants, type Principal } from "../../kernel/principal.js";
import { isOrganizationAssignable, SystemRole } from "../../kernel/permission-catalog.js";
import type { Realm } from "../../kernel/request.js";

type Tx = Prisma.TransactionClient;

/** A permission as a role carries it. */
interface Carried {
  id: string;
  key: string;
}

/** A role with the permissions it carries, sorted by key: what a change of it, or of who holds it, checks. */
export interface CarryingRole extends RoleRecord {
  carries: Carried[];
}

/** A change of one user's roles in a realm, as read under its locks (see RoleService.lockChange). */
export interface RoleChange {
  /** The role granted or taken away, its row locked until the transaction ends. */
  role: CarryingRole;
  /** The other roles the user holds in the realm. */
  others: CarryingRole[];
}

/** The permission keys `roles` carry between them. */
export const keysOf = (roles: CarryingRole[]): string[] => roles.flatMap((role) => role.carries.map((p) => p.key));

/** The names of `roles`, sorted: what a change of someone's roles shows before and after. */
export const roleNames = (roles: { name: string }[]): string[] => roles.map((role) => role.name).sort();

/**
 * The audit diff of a change of a user's roles: by name, with `change.role` held before and after as
 * the change says (told by the write's own count, so the roles are read once, not again after it).
 */
export function rolesDiff(change: RoleChange, held: { before: boolean; after: boolean }) {
  const { role, others } = change;
  return {
    before: { roles: roleNames(held.before ? [...others, role] : others) },
    after: { roles: roleNames(held.after ? [...others, role] : others) },
    fields: ["roles"] as const,
  };
}

/** Audit events of a role show its permissions by key. */
const AUDITED_FIELDS = ["name", "description", "permissions"] as const;
const audited = (role: { name: string; description: string }, keys: string[]) => ({
  name: role.name,
  description: role.description,
  permissions: [...keys].sort(),
});
const roleTarget = (id: string) => ({ type: "role", id });

/** The role's record, without what `lock` read along. */
function recordOf(role: CarryingRole): RoleRecord {
  const { carries: _, ...record } = role;
  return record;
}

/**
 * The system role of each realm whose permissions never change, and which always keeps a holder: the
 * platform's admin keeps `*`, an organization's owner every organization permission. Nobody, a full
 * admin included, can lock everyone out.
 */
const fixedRoleOf = (realm: Realm): string => (realm.organizationId === null ? SystemRole.ADMIN : "owner");

/** Whether `role` is its realm's fixed role (see fixedRoleOf). */
export const isFixedRole = (realm: Realm, role: RoleRecord): boolean =>
  role.isSystem && role.name === fixedRoleOf(realm);

/** Role names are compared trimmed and case-insensitively (the unique index does the same): stored trimmed. */
const roleName = (name: string): string => name.trim();

/** The roles of `realm` that `userId` holds. */
const heldWhere = (realm: Pick<Realm, "organizationId">, userId: string): Prisma.RoleWhereInput =>
  realm.organizationId === null ? { users: { some: { userId } } } : { members: { some: { userId } } };

/** What `actor` holds in `realm`: their platform grants, or their grants in that organization. */
const grantsIn = (actor: Principal, realm: Realm): readonly string[] =>
  realm.organizationId === null ? actor.grants : (organizationGrants(actor, realm.organizationId) ?? []);

/*
 * Role permissions are read and written here with raw SQL (one statement, where Prisma's nested reads
 * and writes send two or three), but only ever for a role this transaction has just read or created
 * through its realm's client: the realm was checked there.
 */

/** `roles` with the permissions each carries. */
async function withPermissions(tx: Tx, roles: RoleRecord[]): Promise<CarryingRole[]> {
  if (roles.length === 0) return [];
  const rows = await tx.$queryRaw<(Carried & { roleId: string })[]>`
    SELECT rp."role_id" AS "roleId", p."id", p."key"
    FROM "role_permissions" rp JOIN "permissions" p ON p."id" = rp."permission_id"
    WHERE rp."role_id" = ANY(${roles.map((role) => role.id)}::uuid[])`;
  return roles.map((role) => ({
    ...role,
    carries: rows
      .filter((row) => row.roleId === role.id)
      .map(({ id, key }) => ({ id, key }))
      .sort((a, b) => (a.key < b.key ? -1 : 1)),
  }));
}

/** Role `roleId` carries the permissions `ids` as well. */
async function carry(tx: Tx, roleId: string, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await tx.$executeRaw`
    INSERT INTO "role_permissions" ("role_id", "permission_id")
    SELECT ${roleId}::uuid, unnest(${ids}::uuid[])
    ON CONFLICT DO NOTHING`;
}

/**
 * Roles and their permissions, in the platform or in one organization. Nobody can hand out what they
 * do not hold: granting a role, or changing or deleting one, needs the caller to hold every permission
 * concerned, in that realm. Every check of a role is made in the transaction of the change, on the
 * role's locked row: a concurrent change of its permissions cannot slip in between check and write.
 */
export class RoleService {
  /** The platform's own roles. */
  readonly platform: Realm<null>;

  constructor(
    private readonly prisma: PrismaClient,
    platformDb: ScopedClient,
    private readonly access: AccessService,
    private readonly audit: AuditTrail,
  ) {
    this.platform = { organizationId: null, db: platformDb };
  }

  list(realm: Realm): Promise<RoleRecord[]> {
    return realm.db.role.findMany({ orderBy: { name: "asc" } });
  }

  async get(realm: Realm, id: string): Promise<RoleRecord> {
    const role = await realm.db.role.findUnique({ where: { id } });
    if (!role) throw new NotFoundError("Role");
    return role;
  }

  async create(actor: Principal, realm: Realm, input: CreateRoleInput): Promise<RoleRecord> {
    const permissions = await this.permissionsByIds(realm, [...new Set(input.permissionIds)]);
    const keys = permissions.map((p) => p.key);
    this.requireHeld(actor, realm, keys);
    return realm.db.$transaction(async (tx) => {
      const role = await tx.role.create({ data: { name: roleName(input.name), description: input.description } });
      await carry(
        tx,
        role.id,
        permissions.map((p) => p.id),
      );
      await this.audit.record(
        changeBy(actor, {
          action: "role.created",
          target: roleTarget(role.id),
          after: audited(role, keys),
          fields: AUDITED_FIELDS,
          organizationId: realm.organizationId,
        }),
        tx,
      );
      return role;
    });
  }

  /** Changes a role's name or description; like granting it, this needs every permission it carries. */
  async update(actor: Principal, realm: Realm, id: string, input: UpdateRoleInput): Promise<RoleRecord> {
    const name = input.name ? roleName(input.name) : undefined;
    const { before, after } = await realm.db.$transaction(async (tx) => {
      const before = await this.lock(tx, realm, id);
      this.requireGrantable(actor, realm, before);
      if (before.isSystem && name !== undefined && name !== before.name) {
        throw new ConflictError(`${before.name} is a system role and keeps its name`, ROLE_CONFLICTS.SYSTEM_ROLE);
      }
      const after = await tx.role.update({
        where: { id },
        data: { name, description: input.description ?? undefined },
      });
      const keys = keysOf([before]);
      await this.audit.record(
        changeBy(actor, {
          action: "role.updated",
          target: roleTarget(id),
          before: audited(before, keys),
          after: audited(after, keys),
          fields: AUDITED_FIELDS,
          organizationId: realm.organizationId,
        }),
        tx,
      );
      return { before, after };
    });
    // Principals carry their role names: a renamed role must not stay cached under its old one.
    if (after.name !== before.name) await this.invalidate(realm);
    return after;
  }

  /** Deleting a role takes its permissions from every holder: the caller must hold them all. */
  async delete(actor: Principal, realm: Realm, id: string): Promise<boolean> {
    await realm.db.$transaction(async (tx) => {
      const before = await this.lock(tx, realm, id);
      this.requireGrantable(actor, realm, before);
      if (before.isSystem) {
        throw new ConflictError(`${before.name} is a system role and cannot be deleted`, ROLE_CONFLICTS.SYSTEM_ROLE);
      }
      await tx.role.delete({ where: { id } });
      await this.audit.record(
        changeBy(actor, {
          action: "role.deleted",
          target: roleTarget(id),
          before: audited(before, keysOf([before])),
          fields: AUDITED_FIELDS,
          organizationId: realm.organizationId,
        }),
        tx,
      );
    });
    await this.invalidate(realm);
    return true;
  }

  /**
   * Replaces the role's permissions; the caller must hold each one it carries and each one added. The
   * realm's fixed role (see fixedRoleOf) keeps its own.
   */
  async setPermissions(actor: Principal, realm: Realm, roleId: string, permissionIds: string[]): Promise<RoleRecord> {
    const wanted = await this.permissionsByIds(realm, [...new Set(permissionIds)]);
    const role = await realm.db.$transaction(async (tx) => {
      // Read under the role's lock: two changes at once apply one after the other, none lost.
      const role = await this.lock(tx, realm, roleId);
      // As for granting it: editing a role needs all it carries, kept ones too.
      const carried = keysOf([role]);
      this.requireHeld(actor, realm, [...carried, ...wanted.map((p) => p.key)]);
      if (isFixedRole(realm, role)) {
        throw new ConflictError(`The ${role.name} role keeps its permissions`, ROLE_CONFLICTS.SYSTEM_ROLE);
      }
      const wantedIds = new Set(wanted.map((p) => p.id));
      const carriedIds = new Set(role.carries.map((p) => p.id));
      const removed = [...carriedIds].filter((id) => !wantedIds.has(id));
      if (removed.length > 0) {
        await tx.rolePermission.deleteMany({ where: { roleId, permissionId: { in: removed } } });
      }
      await carry(
        tx,
        roleId,
        [...wantedIds].filter((id) => !carriedIds.has(id)),
      );
      await this.audit.record(
        changeBy(actor, {
          action: "role.permissions_changed",
          target: roleTarget(roleId),
          before: audited(role, carried),
          after: audited(
            role,
            wanted.map((p) => p.key),
          ),
          fields: AUDITED_FIELDS,
          organizationId: realm.organizationId,
        }),
        tx,
      );
      return role;
    });
    await this.invalidate(realm);
    return recordOf(role);
  }

  /**
   * Role `roleId` of `realm` with what it carries, its row locked until `tx` ends: a concurrent change
   * of its permissions, or its deletion, waits, so what the caller checks of it is what commits.
   * NOT_FOUND when the realm has no such role.
   */
  async lock(tx: Tx, realm: Realm, roleId: string): Promise<CarryingRole> {
    await lockRow(tx, "roles", roleId);
    const [role] = await this.read(tx, realm, { id: roleId });
    if (!role) throw new NotFoundError("Role");
    return role;
  }

  /**
   * A change of `userId`'s role `roleId` in `realm`: the role, locked (see lock), and the other roles
   * the user holds there, read together. Callers lock the holder first (the user's row, the
   * organization's), as every change of someone's roles does: holder, then role.
   */
  async lockChange(tx: Tx, realm: Realm, userId: string, roleId: string): Promise<RoleChange> {
    await lockRow(tx, "roles", roleId);
    const roles = await this.read(tx, realm, { OR: [{ id: roleId }, heldWhere(realm, userId)] });
    const role = roles.find((r) => r.id === roleId);
    if (!role) throw new NotFoundError("Role");
    return { role, others: roles.filter((r) => r !== role) };
  }

  /**
   * Changes whether `userId` holds role `roleId` of `realm`, inside the caller's `tx`, whose holder's
   * row is locked already (the user's, the organization's): locks the role and checks, on its locked
   * row, that `actor` may grant it; then runs `write`, and records the change as `action`. `write` says
   * whether the user held the role before and after, from its own write's count.
   * @returns what `write` returned.
   */
  async changeHolder<T extends { before: boolean; after: boolean }>(
    tx: Tx,
    realm: Realm,
    actor: Principal,
    change: { userId: string; roleId: string; action: string },
    write: (roles: RoleChange) => Promise<T>,
  ): Promise<T> {
    const { userId, roleId, action } = change;
    const roles = await this.lockChange(tx, realm, userId, roleId);
    this.requireGrantable(actor, realm, roles.role);
    const held = await write(roles);
    await this.audit.record(
      changeBy(actor, {
        action,
        target: { type: "user", id: userId },
        ...rolesDiff(roles, held),
        organizationId: realm.organizationId,
      }),
      tx,
    );
    return held;
  }

  /** The roles `userId` holds in `realm`, with what they carry. */
  heldBy(tx: Tx, realm: Pick<Realm, "organizationId">, userId: string): Promise<CarryingRole[]> {
    return this.read(tx, realm, heldWhere(realm, userId));
  }

  /** Refuses unless `actor` holds, in `realm`, every permission `role` carries. */
  requireGrantable(actor: Principal, realm: Realm, role: CarryingRole): void {
    this.requireHeld(actor, realm, keysOf([role]));
  }

  /**
   * Nobody manages someone more powerful than themselves: `actor` must hold, in `realm`, every one of
   * `grants` (what the user they change holds there).
   * @param what the change, for the message: "manage a user", "remove a member".
   */
  requireManageable(actor: Principal, realm: Realm, grants: string[], what: string): void {
    const missing = firstMissingGrant(grantsIn(actor, realm), grants);
    if (missing !== undefined) {
      throw new ForbiddenError(missing, `You cannot ${what} who holds ${missing}: you do not hold it`);
    }
  }

  /**
   * Whether `userId` is the last holder of `realm`'s fixed role (see fixedRoleOf), as `tx` stands: a
   * change that takes it from them must be refused. The role's row is locked first (`fixed`: the
   * caller's lock of that very role holds already), so that two such changes at once cannot each see
   * the other holder still there. On the platform only active users count: a disabled admin cannot act.
   * @param tx on the platform, a transaction of the unscoped client (user roles belong to no realm).
   */
  async isLastHolder(tx: Tx, realm: Realm, userId: string, fixed?: CarryingRole): Promise<boolean> {
    const [role] = fixed
      ? [fixed]
      : await tx.$queryRaw<{ id: string }[]>`
          SELECT "id" FROM "roles"
          WHERE "organization_id" IS NOT DISTINCT FROM ${realm.organizationId}::uuid
            AND "name" = ${fixedRoleOf(realm)} AND "is_system"
          FOR UPDATE`;
    if (!role) return false;
    // Two holders are enough to know: whoever goes, another stays.
    const holders =
      realm.organizationId === null
        ? await tx.userRole.findMany({
            // A service account holding the role keeps no person able to administer.
            where: { roleId: role.id, user: { status: "active", kind: "human" } },
            select: { userId: true },
            take: 2,
          })
        : await tx.organizationMemberRole.findMany({
            where: { roleId: role.id, member: { user: { kind: "human" } } },
            select: { userId: true },
            take: 2,
          });
    return holders.length === 1 && holders[0]!.userId === userId;
  }

  /** Users' grants through this realm's roles may have changed. */
  private invalidate(realm: Realm): Promise<void> {
    return realm.organizationId === null
      ? this.access.invalidateAll()
      : this.access.invalidateOrganization(realm.organizationId);
  }

  /** The roles of `realm` that match `where`, with what they carry: two statements. */
  private async read(
    tx: Tx,
    realm: Pick<Realm, "organizationId">,
    where: Prisma.RoleWhereInput,
  ): Promise<CarryingRole[]> {
    const roles = await tx.role.findMany({ where: { ...where, organizationId: realm.organizationId } });
    return withPermissions(tx, roles);
  }

  /** Refuses unless `actor` holds every one of `keys` in `realm`. */
  private requireHeld(actor: Principal, realm: Realm, keys: string[]): void {
    const missing = firstMissingGrant(grantsIn(actor, realm), keys);
    if (missing !== undefined)
      throw new ForbiddenError(
        missing,
        `You do not hold ${missing}: you cannot grant it, take it away, or change a role carrying it`,
      );
  }

  /** The permissions `ids`; in an organization, only those its roles may carry. */
  private async permissionsByIds(realm: Realm, ids: string[]): Promise<{ id: string; key: string }[]> {
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
