import DataLoader from "dataloader";
import type { PrismaClient } from "../../platform/db/database.js";
import type { ScopedClients } from "../../platform/db/scoped.js";
import type { Permission as PermissionRecord, Role as RoleRecord } from "../../generated/prisma/client.js";

/** Per-request batch loaders: a list of N users costs the same number of statements as one user. */
export interface RequestRoleLoaders {
  rolesByUserId: DataLoader<string, RoleRecord[]>;
  permissionsByRoleId: DataLoader<string, PermissionRecord[]>;
  /** A member's roles in their organization, read through that organization's scoped client. */
  rolesByMember: DataLoader<{ organizationId: string; userId: string }, RoleRecord[], string>;
}

function groupBy<T>(keys: readonly string[], rows: T[], keyOf: (row: T) => string): T[][] {
  const groups = new Map<string, T[]>(keys.map((k) => [k, []]));
  for (const row of rows) groups.get(keyOf(row))?.push(row);
  return keys.map((k) => groups.get(k)!);
}

const memberKey = (m: { organizationId: string; userId: string }) => `${m.organizationId}/${m.userId}`;

function createRoleLoaders(prisma: PrismaClient, scoped: ScopedClients): RequestRoleLoaders {
  return {
    // One statement each (a JOIN): Prisma's `include` would send a second one for the related rows.
    rolesByUserId: new DataLoader(async (userIds) => {
      const rows = await prisma.$queryRaw<(RoleRecord & { userId: string })[]>`
        SELECT ur."user_id" AS "userId", r."id", r."organization_id" AS "organizationId", r."name",
               r."description", r."is_system" AS "isSystem", r."created_at" AS "createdAt",
               r."updated_at" AS "updatedAt"
        FROM "user_roles" ur JOIN "roles" r ON r."id" = ur."role_id"
        WHERE ur."user_id" = ANY(${[...userIds]}::uuid[])
        ORDER BY r."name"`;
      return groupBy(userIds, rows, (r) => r.userId).map((group) => group.map(({ userId: _, ...role }) => role));
    }),
    permissionsByRoleId: new DataLoader(async (roleIds) => {
      const rows = await prisma.$queryRaw<(PermissionRecord & { roleId: string })[]>`
        SELECT rp."role_id" AS "roleId", p."id", p."key", p."description", p."created_at" AS "createdAt",
               p."updated_at" AS "updatedAt"
        FROM "role_permissions" rp JOIN "permissions" p ON p."id" = rp."permission_id"
        WHERE rp."role_id" = ANY(${[...roleIds]}::uuid[])
        ORDER BY p."key"`;
      return groupBy(roleIds, rows, (r) => r.roleId).map((group) =>
        group.map(({ roleId: _, ...permission }) => permission),
      );
    }),
    rolesByMember: new DataLoader(
      async (members) => {
        const keys = members.map(memberKey);
        const rows = (
          await Promise.all(
            [...new Set(members.map((m) => m.organizationId))].map((organizationId) =>
              scoped.of(organizationId).organizationMemberRole.findMany({
                where: {
                  userId: { in: members.filter((m) => m.organizationId === organizationId).map((m) => m.userId) },
                },
                include: { role: true },
                orderBy: { role: { name: "asc" } },
              }),
            ),
          )
        ).flat();
        return groupBy(keys, rows, memberKey).map((group) => group.map((r) => r.role));
      },
      { cacheKeyFn: memberKey },
    ),
  };
}

/** Makes each request's role loaders, once per request: a loader's cache lives as long as its request. */
export class RoleLoaders {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly scoped: ScopedClients,
  ) {}

  /** The loaders of the request `request` (its GraphQL context). */
  of(request: { once<T>(key: object, make: () => T): T }): RequestRoleLoaders {
    return request.once(this, () => createRoleLoaders(this.prisma, this.scoped));
  }
}
