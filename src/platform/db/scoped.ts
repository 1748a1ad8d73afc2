import type { Prisma, PrismaClient } from "./database.js";

/**
 * A Prisma client that can only see one organization's rows (or, for `null`, only the platform's
 * roles). Branded so that a service asking for one cannot be handed the unscoped client.
 */
export type ScopedClient = PrismaClient & { readonly [scopeBrand]: string | null };
declare const scopeBrand: unique symbol;

/** How each organization-owned model names its organization. */
const OWNER_COLUMN: Partial<Record<Prisma.ModelName, string>> = {
  Organization: "id",
  OrganizationMember: "organizationId",
  OrganizationMemberRole: "organizationId",
  OrganizationInvitation: "organizationId",
  Role: "organizationId",
};

/** Operations whose `where` the scope joins with AND. */
const FILTERED = new Set([
  "findUnique",
  "findUniqueOrThrow",
  "findFirst",
  "findFirstOrThrow",
  "findMany",
  "count",
  "aggregate",
  "groupBy",
  "update",
  "updateMany",
  "updateManyAndReturn",
  "delete",
  "deleteMany",
  "upsert",
]);

type Args = Record<string, unknown> & { where?: Record<string, unknown>; data?: unknown; create?: unknown };

function scopeError(model: string, operation: string): Error {
  return new Error(`${model}.${operation} is not allowed through an organization-scoped client`);
}

function within(where: Record<string, unknown> | undefined, condition: Record<string, unknown>) {
  const and = where?.AND === undefined ? [] : Array.isArray(where.AND) ? where.AND : [where.AND];
  return { ...where, AND: [...and, condition] };
}

/** Sets the owner column of rows to create; refuses rows that name another owner. */
function owned(data: unknown, column: string, owner: string | null, model: string): unknown {
  if (Array.isArray(data)) return data.map((row) => owned(row, column, owner, model));
  const row = data as Record<string, unknown>;
  if (row[column] !== undefined && row[column] !== owner) throw scopeError(model, "create for another owner");
  return { ...row, [column]: owner };
}

/**
 * The data-layer half of tenant isolation: every query on an organization-owned model gets
 * `<owner> = organizationId` joined to its `where`, and every row it creates gets that owner, so a
 * resolver that forgot its permission check still cannot read or change another organization's rows.
 * Role permissions are scoped through their role, and audit events may be recorded. Any other model is
 * refused: users, sessions and the rest are read through the platform client, on purpose.
 * With `organizationId` null it scopes roles to the platform's own (and refuses organization models).
 */
export function scopedClient(prisma: PrismaClient, organizationId: string | null): ScopedClient {
  const roleOwner = { role: { organizationId } };
  return prisma.$extends({
    name: "organization-scope",
    query: {
      $allModels: {
        async $allOperations({ model, operation, args, query }) {
          // Audit events are written in the transaction of the change they describe.
          if (model === "AuditOutbox" && operation === "create") return query(args);
          const request = { ...(args as Args) };
          if (model === "RolePermission") {
            if (FILTERED.has(operation)) request.where = within(request.where, roleOwner);
            else if (operation === "createMany" || operation === "create") {
              const rows = (Array.isArray(request.data) ? request.data : [request.data]) as { roleId: string }[];
              const roleIds = [...new Set(rows.map((row) => row.roleId))];
              const ours = await prisma.role.count({ where: { id: { in: roleIds }, organizationId } });
              if (ours !== roleIds.length) throw scopeError(model, operation);
            } else throw scopeError(model, operation);
            return query(request);
          }
          const column = OWNER_COLUMN[model];
          if (!column || (organizationId === null && model !== "Role")) throw scopeError(model, operation);
          if (FILTERED.has(operation)) request.where = within(request.where, { [column]: organizationId });
          // No row moves to another owner.
          for (const changes of [request.data, (request as { update?: unknown }).update]) {
            if (
              !operation.startsWith("create") &&
              changes &&
              (changes as Record<string, unknown>)[column] !== undefined
            ) {
              throw scopeError(model, `${operation} of ${column}`);
            }
          }
          if (operation === "upsert") request.create = owned(request.create, column, organizationId, model);
          else if (operation.startsWith("create")) {
            if (model === "Organization") throw scopeError(model, operation);
            request.data = owned(request.data, column, organizationId, model);
          } else if (!FILTERED.has(operation)) throw scopeError(model, operation);
          return query(request);
        },
      },
    },
  }) as unknown as ScopedClient;
}

/** One scoped client per organization, made once: `$extends` is cheap, but not free. */
export class ScopedClients {
  private readonly clients = new Map<string | null, ScopedClient>();

  constructor(
    private readonly prisma: PrismaClient,
    private readonly max = 1000,
  ) {}

  of(organizationId: string | null): ScopedClient {
    let client = this.clients.get(organizationId);
    if (!client) {
      if (this.clients.size >= this.max) this.clients.delete(this.clients.keys().next().value!);
      client = scopedClient(this.prisma, organizationId);
    }
    // Most recently used last: the oldest is the first to go.
    this.clients.delete(organizationId);
    this.clients.set(organizationId, client);
    return client;
  }
}
