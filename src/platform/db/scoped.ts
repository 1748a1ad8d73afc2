import { LRUCache } from "lru-cache";
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

/**
 * The fields a write through a scoped client may set, per model: plain columns, never a relation
 * (a `connect` would move a row to another organization), and the owner only as the scope's own (it
 * is stamped anyway). A role's
 * `permissions` may be written nested: they hang off a role the scope already matched.
 */
const WRITABLE: Partial<Record<Prisma.ModelName, ReadonlySet<string>>> = {
  Organization: new Set(["name", "slug", "status"]),
  OrganizationMember: new Set(["userId", "joinedAt"]),
  OrganizationMemberRole: new Set(["userId", "roleId", "grantedAt"]),
  OrganizationInvitation: new Set([
    "email",
    "roleId",
    "tokenHash",
    "invitedById",
    "expiresAt",
    "acceptedAt",
    "revokedAt",
  ]),
  Role: new Set(["name", "description", "permissions"]),
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

/** What may be done to role permissions directly: read and delete (writes go nested, under a role). */
const ROLE_PERMISSION_OPERATIONS = new Set(["findMany", "findFirst", "findUnique", "count", "deleteMany"]);

type Args = Record<string, unknown> & {
  where?: Record<string, unknown>;
  data?: unknown;
  create?: unknown;
  update?: unknown;
};

/**
 * A query an organization-scoped client refuses: another model, another owner, a relation write.
 * Clients see NOT_FOUND: from inside the organization, what it reaches for is not there.
 */
export class OutOfScopeError extends Error {
  constructor(model: string, what: string) {
    super(`${model}: ${what} is not allowed through an organization-scoped client`);
  }
}

function within(where: Record<string, unknown> | undefined, condition: Record<string, unknown>) {
  const and = where?.AND === undefined ? [] : Array.isArray(where.AND) ? where.AND : [where.AND];
  return { ...where, AND: [...and, condition] };
}

/** The nested writes of a role's permissions that stay under that role (no `connect`: it re-parents). */
const NESTED_PERMISSION_WRITES = new Set(["create", "createMany", "deleteMany"]);

/** Refuses rows that set anything but `model`'s writable fields, or the owner to another one. */
function checkWritable(model: Prisma.ModelName, rows: unknown, column: string, owner: string | null): void {
  const writable = WRITABLE[model] ?? new Set<string>();
  for (const row of Array.isArray(rows) ? rows : [rows]) {
    for (const [field, value] of Object.entries((row ?? {}) as Record<string, unknown>)) {
      if (field === column && value === owner) continue;
      if (!writable.has(field)) throw new OutOfScopeError(model, `writing ${field}`);
      if (field === "permissions") {
        for (const nested of Object.keys(value as Record<string, unknown>)) {
          if (!NESTED_PERMISSION_WRITES.has(nested)) throw new OutOfScopeError(model, `permissions.${nested}`);
        }
      }
    }
  }
}

/** The rows to create, each stamped with the owner. */
function owned(data: unknown, column: string, owner: string | null): unknown {
  if (Array.isArray(data)) return data.map((row) => owned(row, column, owner));
  return { ...(data as Record<string, unknown>), [column]: owner };
}

/**
 * The data-layer half of tenant isolation: every query on an organization-owned model gets
 * `<owner> = organizationId` joined to its `where`, every row it creates gets that owner, and writes may
 * set plain fields only, so a resolver that forgot its permission check, or was handed another
 * organization's ids, still cannot read or change another organization's rows. Role permissions are
 * read and deleted through their role, and written nested under one. Audit events may be recorded (in
 * the transaction of the change). Any other model is refused: users, sessions and the rest are read
 * through the platform client, on purpose. Raw SQL is not scoped: it is never used on organization
 * rows except to lock one.
 * With `organizationId` null it scopes roles to the platform's own (and refuses organization models).
 */
export function scopedClient(prisma: PrismaClient, organizationId: string | null): ScopedClient {
  return prisma.$extends({
    name: "organization-scope",
    query: {
      $allModels: {
        async $allOperations({ model, operation, args, query }) {
          // Audit events are written in the transaction of the change they describe.
          if (model === "AuditOutbox" && operation === "create") return query(args);
          const request = { ...(args as Args) };
          if (model === "RolePermission") {
            if (!ROLE_PERMISSION_OPERATIONS.has(operation)) throw new OutOfScopeError(model, operation);
            request.where = within(request.where, { role: { organizationId } });
            return query(request);
          }
          const column = OWNER_COLUMN[model];
          if (!column || (organizationId === null && model !== "Role")) throw new OutOfScopeError(model, operation);
          if (FILTERED.has(operation)) request.where = within(request.where, { [column]: organizationId });
          else if (!operation.startsWith("create")) throw new OutOfScopeError(model, operation);
          if (model === "Organization" && (operation.startsWith("create") || operation === "upsert")) {
            throw new OutOfScopeError(model, operation);
          }
          for (const rows of [request.data, request.create, request.update]) {
            if (rows !== undefined) checkWritable(model, rows, column, organizationId);
          }
          if (operation.startsWith("create")) request.data = owned(request.data, column, organizationId);
          if (operation === "upsert") request.create = owned(request.create, column, organizationId);
          return query(request);
        },
      },
    },
  }) as unknown as ScopedClient;
}

/** One scoped client per organization, made once: `$extends` is cheap, but not free. */
export class ScopedClients {
  private readonly clients: LRUCache<string, ScopedClient>;

  constructor(
    private readonly prisma: PrismaClient,
    max = 1000,
  ) {
    this.clients = new LRUCache({ max });
  }

  of(organizationId: string | null): ScopedClient {
    const key = organizationId ?? "";
    let client = this.clients.get(key);
    if (!client) {
      client = scopedClient(this.prisma, organizationId);
      this.clients.set(key, client);
    }
    return client;
  }
}
