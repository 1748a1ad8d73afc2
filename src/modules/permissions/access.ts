import { LRUCache } from "lru-cache";
import type { PrismaClient } from "../../platform/db/database.js";
import { grantCovers } from "./catalog.js";

/** A signed-in, active user and the permission grants of all their roles. */
export interface Principal {
  userId: string;
  grants: readonly string[];
}

/** The one permission check: does `principal` hold `key`, directly or through a wildcard? */
export function can(principal: Principal, key: string): boolean {
  return principal.grants.some((grant) => grantCovers(grant, key));
}

/** The first of `keys` that `principal` does not hold, if any. */
export function firstMissing(principal: Principal, keys: Iterable<string>): string | undefined {
  for (const key of keys) if (!can(principal, key)) return key;
  return undefined;
}

export interface AccessCacheOptions {
  /** 0 turns the cache off. */
  ttlMs: number;
  maxEntries: number;
}

interface GrantRow {
  status: string;
  key: string | null;
}

/**
 * Loads principals, caching each user's grants in memory. Whatever changes a user's roles, a role's
 * permissions or a permission's key must call one of the `invalidate` methods.
 */
export class AccessService {
  /** `null`: the user does not exist or is disabled. */
  private readonly principals: LRUCache<string, { principal: Principal | null }>;
  private allKeys: Promise<string[]> | undefined;
  /** Bumped by every invalidation, so that a load that raced one is not cached. */
  private generation = 0;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly options: AccessCacheOptions,
  ) {
    this.principals = new LRUCache({ max: options.maxEntries, ttl: Math.max(options.ttlMs, 1) });
  }

  /** The active user `userId` with their grants, or null when there is no such active user. */
  async principal(userId: string): Promise<Principal | null> {
    const cached = this.principals.get(userId);
    if (cached) return cached.principal;
    const generation = this.generation;
    const rows = await this.prisma.$queryRaw<GrantRow[]>`
      SELECT u."status"::text AS "status", p."key"
      FROM "users" u
      LEFT JOIN "user_roles" ur ON ur."user_id" = u."id"
      LEFT JOIN "role_permissions" rp ON rp."role_id" = ur."role_id"
      LEFT JOIN "permissions" p ON p."id" = rp."permission_id"
      WHERE u."id" = ${userId}::uuid`;
    const active = rows.length > 0 && rows[0]!.status === "active";
    const grants = [...new Set(rows.flatMap((r) => (r.key === null ? [] : [r.key])))].sort();
    const principal = active ? { userId, grants } : null;
    if (this.options.ttlMs > 0 && generation === this.generation) this.principals.set(userId, { principal });
    return principal;
  }

  /** Every stored permission key `principal` holds, wildcards expanded, sorted. */
  async effectivePermissions(principal: Principal): Promise<string[]> {
    const keys = await this.permissionKeys();
    return keys.filter((key) => can(principal, key));
  }

  private permissionKeys(): Promise<string[]> {
    if (this.options.ttlMs <= 0 || !this.allKeys) {
      const loading = this.prisma.permission
        .findMany({ select: { key: true }, orderBy: { key: "asc" } })
        .then((rows) => rows.map((r) => r.key));
      loading.catch(() => (this.allKeys = undefined));
      this.allKeys = loading;
    }
    return this.allKeys;
  }

  /** A user's roles or status changed. */
  invalidateUser(userId: string): void {
    this.generation++;
    this.principals.delete(userId);
  }

  /** A role's permissions, or the permissions themselves, changed: every user may be affected. */
  invalidateAll(): void {
    this.generation++;
    this.principals.clear();
    this.allKeys = undefined;
  }
}
