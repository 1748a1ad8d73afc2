import { LRUCache } from "lru-cache";
import type { PrismaClient } from "../../platform/db/database.js";
import type { KeyValueStore } from "../../platform/kv/kv.js";
import type { Metrics } from "../../platform/observability/metrics.js";
import { grantCovers } from "./catalog.js";

/** A signed-in, active user and the permission grants of all their roles. */
export interface Principal {
  userId: string;
  /** For audit events: who acted. */
  email: string;
  grants: readonly string[];
}

/** The principal as the actor of an audit event. */
export function asActor(principal: Principal): { id: string; email: string } {
  return { id: principal.userId, email: principal.email };
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
  email: string;
  key: string | null;
}

interface Cached<T> {
  value: T;
  /** The versions (user's, everyone's) the value was loaded at. */
  versions: string;
}

/** Version counters outlive any cache entry by far; one that expires just forces a reload. */
const VERSION_TTL_MS = 30 * 24 * 3600 * 1000;
const EVERYONE = "access:version:all";
const versionOf = (userId: string) => `access:version:user:${userId}`;

/**
 * Loads principals, caching each user's grants in memory. Whatever changes a user's roles, a role's
 * permissions or a permission's key calls one of the `invalidate` methods, which bump a version in
 * the shared store. Every load compares versions first (one round trip, no database), so a change made
 * on any instance holds on every instance from the next request on.
 */
export class AccessService {
  private readonly principals: LRUCache<string, Cached<Principal | null>>;
  private allKeys: Cached<Promise<string[]>> | undefined;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly kv: KeyValueStore,
    private readonly options: AccessCacheOptions,
    private readonly metrics?: Metrics,
  ) {
    this.principals = new LRUCache({ max: options.maxEntries, ttl: Math.max(options.ttlMs, 1) });
  }

  /** The active user `userId` with their grants, or null when there is no such active user. */
  async principal(userId: string): Promise<Principal | null> {
    const versions = (await this.kv.getMany([versionOf(userId), EVERYONE])).join("/");
    const cached = this.principals.get(userId);
    const hit = cached?.versions === versions;
    this.metrics?.permissionCache.add(1, { result: hit ? "hit" : "miss" });
    if (hit) return cached!.value;
    const { active, email, grants } = await this.load(userId);
    const principal = active ? { userId, email, grants } : null;
    // Cached under the versions read before loading: a change racing the load forces another one.
    if (this.options.ttlMs > 0) this.principals.set(userId, { value: principal, versions });
    return principal;
  }

  /** The grants of `userId`, whatever their status (empty for no such user). Not cached. */
  async grantsOf(userId: string): Promise<string[]> {
    return (await this.load(userId)).grants;
  }

  private async load(userId: string): Promise<{ active: boolean; email: string; grants: string[] }> {
    const rows = await this.prisma.$queryRaw<GrantRow[]>`
      SELECT u."status"::text AS "status", u."email", p."key"
      FROM "users" u
      LEFT JOIN "user_roles" ur ON ur."user_id" = u."id"
      LEFT JOIN "role_permissions" rp ON rp."role_id" = ur."role_id"
      LEFT JOIN "permissions" p ON p."id" = rp."permission_id"
      WHERE u."id" = ${userId}::uuid`;
    const active = rows.length > 0 && rows[0]!.status === "active";
    const grants = [...new Set(rows.flatMap((r) => (r.key === null ? [] : [r.key])))].sort();
    return { active, email: rows[0]?.email ?? "", grants };
  }

  /** Every stored permission key `principal` holds, wildcards expanded, sorted. */
  async effectivePermissions(principal: Principal): Promise<string[]> {
    const keys = await this.permissionKeys();
    return keys.filter((key) => can(principal, key));
  }

  private async permissionKeys(): Promise<string[]> {
    const versions = (await this.kv.get(EVERYONE)) ?? "";
    if (this.options.ttlMs <= 0 || this.allKeys?.versions !== versions) {
      const value = this.prisma.permission
        .findMany({ select: { key: true }, orderBy: { key: "asc" } })
        .then((rows) => rows.map((r) => r.key));
      value.catch(() => (this.allKeys = undefined));
      this.allKeys = { value, versions };
    }
    return this.allKeys.value;
  }

  /** A user's roles or status changed. */
  async invalidateUser(userId: string): Promise<void> {
    await this.kv.increment(versionOf(userId), VERSION_TTL_MS);
  }

  /** A role's permissions, or the permissions themselves, changed: every user may be affected. */
  async invalidateAll(): Promise<void> {
    await this.kv.increment(EVERYONE, VERSION_TTL_MS);
  }
}
