import { randomBytes } from "node:crypto";
import { LRUCache } from "lru-cache";
import type { PrismaClient } from "../../platform/db/database.js";
import { type KeyValueStore, StoreUnavailableError } from "../../platform/kv/kv.js";
import type { Metrics } from "../../platform/observability/metrics.js";
import {
  holdsNow,
  type OrganizationRefusal,
  platformOrganizationGrants,
  type Principal,
} from "../../kernel/principal.js";
import { profileOf, USER_PROFILE_COLUMNS, type UserProfile } from "../../kernel/user-profile.js";

export interface AccessCacheOptions {
  /** 0 turns the cache off. */
  ttlMs: number;
  maxEntries: number;
}

type GrantRow = UserProfile & { key: string | null; role: string | null };

interface MembershipRow {
  status: string;
  member: boolean;
  key: string | null;
}

/** A user's standing in one organization. */
type Membership = { refusal: OrganizationRefusal } | { refusal: null; grants: string[] };

type PlatformPrincipal = Omit<Principal, "organization">;

interface Cached<T> {
  value: T;
  /** The versions (user's, everyone's) the value was loaded at. */
  versions: string;
}

const keysOf = (rows: { key: string | null }[]) =>
  [...new Set(rows.flatMap((r) => (r.key === null ? [] : [r.key])))].sort();

/** Version counters outlive any cache entry by far; one that expires just forces a reload. */
const VERSION_TTL_MS = 30 * 24 * 3600 * 1000;
const EVERYONE = "access:version:all";
/** A version: random, so that a version lost with the store can never come back equal to an old one. */
const newEpoch = () => randomBytes(9).toString("base64url");
// Ids arrive lower-case (the UUID scalar, the header and the token claim see to it): keys match.
const versionOf = (userId: string) => `access:version:user:${userId}`;
const organizationVersionOf = (organizationId: string) => `access:version:org:${organizationId}`;

/**
 * Loads principals, caching each user's record and grants in memory. Whatever changes a user's record or
 * roles, a role's permissions or a permission's key calls one of the `invalidate` methods, which bump a version in
 * the shared store. Every load compares versions first (one round trip, no database), so a change made
 * on any instance holds on every instance from the next request on.
 */
export class AccessService {
  private readonly principals: LRUCache<string, Cached<PlatformPrincipal | null>>;
  private readonly memberships: LRUCache<string, Cached<Membership>>;
  private allKeys: Cached<Promise<string[]>> | undefined;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly kv: KeyValueStore,
    private readonly options: AccessCacheOptions,
    private readonly metrics?: Metrics,
  ) {
    const cacheOptions = { max: options.maxEntries, ttl: Math.max(options.ttlMs, 1) };
    this.principals = new LRUCache(cacheOptions);
    this.memberships = new LRUCache(cacheOptions);
  }

  /**
   * The active user `userId` with their grants, or null when there is no such active user.
   * @param organizationId the organization the request names; checked against membership.
   * @returns with `refusal` saying why the request cannot act in that organization, if it cannot.
   */
  async principal(
    userId: string,
    organizationId?: string,
  ): Promise<{ principal: Principal | null; refusal?: OrganizationRefusal }> {
    const [platform, membership] = await Promise.all([
      this.cached(this.principals, userId, [versionOf(userId), EVERYONE], async () => {
        const { profile, grants, roles } = await this.load(userId);
        return profile?.status === "active" ? { userId, profile, grants, roles } : null;
      }),
      organizationId === undefined
        ? undefined
        : this.cached(
            this.memberships,
            `${userId}/${organizationId}`,
            [versionOf(userId), EVERYONE, organizationVersionOf(organizationId)],
            () => this.loadMembership(userId, organizationId),
          ),
    ]);
    if (!platform) return { principal: null };
    const principal: Principal = { ...platform, organization: null };
    if (organizationId === undefined || !membership) return { principal };
    const viaPlatform = platformOrganizationGrants(principal);
    if (membership.refusal === null) {
      principal.organization = { id: organizationId, grants: [...new Set([...membership.grants, ...viaPlatform])] };
      return { principal };
    }
    // A platform admin acts in any organization that exists, suspended ones included.
    if (membership.refusal !== "not_found" && viaPlatform.length > 0) {
      principal.organization = { id: organizationId, grants: viaPlatform };
      return { principal };
    }
    return { principal, refusal: membership.refusal };
  }

  /** `load()`'s value, from memory while none of `versionKeys` changed. */
  private async cached<T>(
    cache: LRUCache<string, Cached<T>>,
    key: string,
    versionKeys: string[],
    load: () => Promise<T>,
  ): Promise<T> {
    const versions = this.options.ttlMs > 0 ? await this.versions(versionKeys) : undefined;
    const cached = versions === undefined ? undefined : cache.get(key);
    const hit = cached !== undefined && cached.versions === versions;
    this.metrics?.permissionCache.add(1, { result: hit ? "hit" : "miss" });
    if (hit) return cached.value;
    const value = await load();
    // Cached under the versions read before loading: a change racing the load forces another one.
    if (versions !== undefined) cache.set(key, { value, versions });
    return value;
  }

  /**
   * The current versions of `keys`, joined; undefined when they cannot be known (the store is down),
   * and then nothing cached may be trusted. A missing version (never read, expired, or the store was
   * wiped) is created as a fresh random epoch: it never equals what an older entry was cached under.
   */
  private async versions(keys: string[]): Promise<string | undefined> {
    try {
      const values = await this.kv.getMany(keys);
      for (const [i, value] of values.entries()) {
        if (value !== null) continue;
        const epoch = newEpoch();
        values[i] = (await this.kv.setIfAbsent(keys[i]!, epoch, VERSION_TTL_MS)) ? epoch : await this.kv.get(keys[i]!);
        if (values[i] === null) return undefined;
      }
      return values.join("/");
    } catch (error) {
      if (!(error instanceof StoreUnavailableError)) throw error;
      // Changes made while the store is away bump no version: what was cached before is not trusted after.
      this.forgetAll();
      return undefined;
    }
  }

  private forgetAll(): void {
    this.principals.clear();
    this.memberships.clear();
    this.allKeys = undefined;
  }

  /**
   * Gives `key` a new version. The change it announces has committed: were the store down, it is not
   * undone; this instance forgets its cache, and every instance stops trusting its own while it cannot
   * read versions (others may hold the old entry up to the cache's TTL after a short outage).
   */
  private async bump(key: string): Promise<void> {
    try {
      await this.kv.set(key, newEpoch(), VERSION_TTL_MS);
    } catch (error) {
      if (!(error instanceof StoreUnavailableError)) throw error;
      this.forgetAll();
    }
  }

  /** The grants of `userId`, whatever their status (empty for no such user). Not cached. */
  async grantsOf(userId: string): Promise<string[]> {
    return (await this.load(userId)).grants;
  }

  private async load(userId: string): Promise<{ profile: UserProfile | undefined; grants: string[]; roles: string[] }> {
    // Only platform roles count here: an organization role's grants count inside its organization.
    const rows = await this.prisma.$queryRaw<GrantRow[]>`
      SELECT ${USER_PROFILE_COLUMNS}, p."key", r."name" AS "role"
      FROM "users" u
      LEFT JOIN "user_roles" ur ON ur."user_id" = u."id"
      LEFT JOIN "roles" r ON r."id" = ur."role_id" AND r."organization_id" IS NULL
      LEFT JOIN "role_permissions" rp ON rp."role_id" = r."id"
      LEFT JOIN "permissions" p ON p."id" = rp."permission_id"
      WHERE u."id" = ${userId}::uuid`;
    const roles = [...new Set(rows.flatMap((r) => (r.role === null ? [] : [r.role])))].sort();
    return { profile: rows[0] && profileOf(rows[0]), grants: keysOf(rows), roles };
  }

  private async loadMembership(userId: string, organizationId: string): Promise<Membership> {
    const rows = await this.prisma.$queryRaw<MembershipRow[]>`
      SELECT o."status"::text AS "status", (m."user_id" IS NOT NULL) AS "member", p."key"
      FROM "organizations" o
      LEFT JOIN "organization_members" m ON m."organization_id" = o."id" AND m."user_id" = ${userId}::uuid
      LEFT JOIN "organization_member_roles" mr
        ON mr."organization_id" = m."organization_id" AND mr."user_id" = m."user_id"
      LEFT JOIN "role_permissions" rp ON rp."role_id" = mr."role_id"
      LEFT JOIN "permissions" p ON p."id" = rp."permission_id"
      WHERE o."id" = ${organizationId}::uuid`;
    const first = rows[0];
    if (!first) return { refusal: "not_found" };
    if (!first.member) return { refusal: "not_member" };
    if (first.status !== "active") return { refusal: "suspended" };
    return { refusal: null, grants: keysOf(rows) };
  }

  /** Every stored permission key `principal` holds now (platform and active organization), sorted. */
  async effectivePermissions(principal: Principal): Promise<string[]> {
    const keys = await this.permissionKeys();
    return keys.filter((key) => holdsNow(principal, key));
  }

  private async permissionKeys(): Promise<string[]> {
    const versions = this.options.ttlMs > 0 ? await this.versions([EVERYONE]) : undefined;
    if (versions === undefined || this.allKeys?.versions !== versions) {
      const value = this.prisma.permission
        .findMany({ select: { key: true }, orderBy: { key: "asc" } })
        .then((rows) => rows.map((r) => r.key));
      value.catch(() => (this.allKeys = undefined));
      this.allKeys = versions === undefined ? undefined : { value, versions };
      return value;
    }
    return this.allKeys.value;
  }

  /**
   * Anything about a user changed: their record (every write to the users row), roles or status.
   * Called after the change commits, so that no instance caches what it replaces.
   */
  async invalidateUser(userId: string): Promise<void> {
    await this.bump(versionOf(userId));
  }

  /** An organization's roles' permissions or its status changed, or it was deleted. */
  async invalidateOrganization(organizationId: string): Promise<void> {
    await this.bump(organizationVersionOf(organizationId));
  }

  /** A role's permissions, or the permissions themselves, changed: every user may be affected. */
  async invalidateAll(): Promise<void> {
    await this.bump(EVERYONE);
  }
}
