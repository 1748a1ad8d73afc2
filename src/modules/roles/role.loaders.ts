import DataLoader from "dataloader";
import type { PrismaClient } from "../../platform/db/database.js";
import type { ScopedClients } from "../../platform/db/scoped.js";
import type { Permission as PermissionRecord, Role as RoleRecord } from "../../generated/prisma/client.js";

/** Per-request batch loaders: a list of N users costs the same number of statements as one user. */
export interface RoleLoaders {
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

export function createRoleLoaders(prisma: PrismaClient, scoped: ScopedClients): RoleLoaders {
  return {
    rolesByUserId: new DataLoader(async (userIds) => {
      const rows = await prisma.userRole.findMany({
        where: { userId: { in: [...userIds] } },
        include: { role: true },
        orderBy: { role: { name: "asc" } },
      });
      return groupBy(userIds, rows, (r) => r.userId).map((group) => group.map((r) => r.role));
    }),
    permissionsByRoleId: new DataLoader(async (roleIds) => {
      const rows = await prisma.rolePermission.findMany({
        where: { roleId: { in: [...roleIds] } },
        include: { permission: true },
        orderBy: { permission: { key: "asc" } },
      });
      return groupBy(roleIds, rows, (r) => r.roleId).map((group) => group.map((r) => r.permission));
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
