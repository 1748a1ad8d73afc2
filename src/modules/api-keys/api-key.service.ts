import { LRUCache } from "lru-cache";
import type { ApiKey as ApiKeyRecord } from "../../generated/prisma/client.js";
import type { AuditTrail } from "../../platform/audit/audit-trail.js";
import type { PrismaClient } from "../../platform/db/database.js";
import type { KeyValueStore } from "../../platform/kv/kv.js";
import type { Logger } from "../../platform/observability/logger.js";
import type { Revocations } from "../../platform/revocations.js";
import type { AccessService } from "../permissions/index.js";
import type { ServiceAccountRecord, ServiceAccountService } from "../service-accounts/index.js";
import {
  BadUserInputError,
  type FieldProblem,
  ForbiddenError,
  NotFoundError,
  RateLimitedError,
} from "../../kernel/errors.js";
import { isValidPermissionKey } from "../../kernel/permission-catalog.js";
import {
  asActor,
  firstMissingGrant,
  type OrganizationRefusal,
  organizationGrants,
  type Principal,
  restrictToApiKey,
} from "../../kernel/principal.js";
import { API_KEY_PROBLEMS, type ApiKeyProblem } from "./api-key.errors.js";
import { apiKeyHash, mintApiKey } from "./api-key.secret.js";

/** The kind of credential an API key is, to the revocation mechanism. */
const API_KEY = "api_key";
/** `lastUsedAt` is written at most this often per key: a busy key costs no write per request. */
const LAST_USED_EVERY_MS = 60_000;
const MAX_PERMISSIONS = 100;

export interface ApiKeyOptions {
  /** Requests one key may make per window, over every instance. */
  rateLimitMax: number;
  rateLimitWindowSeconds: number;
  /** The longest a key may live: `expiresAt` at most this many days ahead. */
  maxLifetimeDays: number;
}

export interface ApiKeyDependencies {
  prisma: PrismaClient;
  kv: KeyValueStore;
  access: AccessService;
  revocations: Revocations;
  audit: AuditTrail;
  serviceAccounts: ServiceAccountService;
  options: ApiKeyOptions;
  log: Logger;
}

/** What a new key is made from. */
export interface NewApiKey {
  name: string;
  permissions: string[];
  expiresAt: Date;
  /** The one organization it acts in; null for a key of the platform. */
  organizationId?: string | null;
  /** The service account it is for (the caller must manage it); the caller's own key when absent. */
  serviceAccountId?: string | null;
}

/** What never changes about a key once made, cached by its hash; whether it is live is asked each time. */
interface KeyFacts {
  id: string;
  userId: string;
  permissions: string[];
  organizationId: string | null;
  expiresAt: Date;
}

/** Who a presented API key acts as, or why it acts as nobody. */
export interface ApiKeyIdentity {
  principal: Principal | null;
  problem?: ApiKeyProblem;
  refusal?: OrganizationRefusal;
}

/**
 * API keys (personal access tokens): long-lived bearer credentials for scripts and services, each
 * acting as its owner with at most the permissions it was created with, and never more than the owner
 * holds at the moment of use. Only the secret's hash is stored. Whether a key is live is decided by the
 * database of record through the one revocation mechanism (platform/revocations.ts): a revoked key is
 * refused from the next request on every instance.
 */
export class ApiKeyService {
  private readonly facts = new LRUCache<string, KeyFacts>({ max: 10_000 });

  constructor(private readonly deps: ApiKeyDependencies) {
    deps.revocations.register(API_KEY, async (id) => {
      const key = await deps.prisma.apiKey.findFirst({
        where: { id, revokedAt: null, expiresAt: { gt: new Date() } },
        select: { userId: true },
      });
      return key?.userId ?? null;
    });
  }

  /**
   * Makes a key for the caller, or for a service account the caller manages. Its permissions must be
   * ones its owner holds now (in its organization, for a key bound to one). A service account's key
   * needs, besides, every permission the account holds (nobody arms a principal more powerful than
   * themselves), and a key of an organization's account is bound to that organization.
   * @returns the key and its secret: the only time the secret is told.
   */
  async create(actor: Principal, input: NewApiKey): Promise<{ apiKey: ApiKeyRecord; secret: string }> {
    const { prisma, audit, options } = this.deps;
    const account = input.serviceAccountId ? await this.managedAccount(actor, input.serviceAccountId) : undefined;
    const ownerId = account?.id ?? actor.userId;
    const organizationId = account?.organizationId ?? input.organizationId ?? null;
    if (account && input.organizationId && input.organizationId !== account.organizationId) {
      throw new BadUserInputError([
        { path: "input.organizationId", message: "a service account's key acts where the account belongs" },
      ]);
    }
    const problems: FieldProblem[] = [];
    const permissions = [...new Set(input.permissions)].sort();
    if (permissions.length === 0) problems.push({ path: "input.permissions", message: "needs at least one" });
    if (permissions.length > MAX_PERMISSIONS) {
      problems.push({ path: "input.permissions", message: `holds at most ${MAX_PERMISSIONS}` });
    }
    const malformed = permissions.find((key) => !isValidPermissionKey(key));
    if (malformed) problems.push({ path: "input.permissions", message: `${malformed} is not a permission key` });
    const now = Date.now();
    if (input.expiresAt.getTime() <= now) problems.push({ path: "input.expiresAt", message: "must be in the future" });
    if (input.expiresAt.getTime() > now + options.maxLifetimeDays * 86_400_000) {
      problems.push({ path: "input.expiresAt", message: `must be within ${options.maxLifetimeDays} days` });
    }
    if (problems.length > 0) throw new BadUserInputError(problems);
    const held = await this.grantsOf(ownerId, organizationId);
    // An organization the caller cannot act in is none of their business: as if it did not exist.
    if (held === null) throw new NotFoundError("Organization");
    const missing = firstMissingGrant(held, permissions);
    if (missing) {
      throw new BadUserInputError([{ path: "input.permissions", message: `${missing} is not one you hold` }]);
    }
    const minted = mintApiKey();
    const apiKey = await prisma.$transaction(async (tx) => {
      const created = await tx.apiKey.create({
        data: {
          userId: ownerId,
          name: input.name,
          secretHash: minted.hash,
          prefix: minted.prefix,
          permissions,
          organizationId,
          expiresAt: input.expiresAt,
        },
      });
      await audit.record(
        {
          action: "api_key.created",
          actor: asActor(actor),
          target: { type: "api_key", id: created.id },
          changes: [
            ...(account ? [{ field: "serviceAccountId", before: null, after: account.id }] : []),
            { field: "permissions", before: null, after: permissions },
            { field: "expiresAt", before: null, after: input.expiresAt.toISOString() },
          ],
          organizationId,
        },
        tx,
      );
      return created;
    });
    return { apiKey, secret: minted.secret };
  }

  /**
   * The keys that are not revoked (expired ones too, until revoked), newest first: the caller's, or
   * those of service account `serviceAccountId` (reading it needs what reading the account does).
   */
  async list(actor: Principal, serviceAccountId?: string | null): Promise<ApiKeyRecord[]> {
    const owner = serviceAccountId ? (await this.deps.serviceAccounts.get(actor, serviceAccountId)).id : actor.userId;
    return this.deps.prisma.apiKey.findMany({
      where: { userId: owner, revokedAt: null },
      orderBy: [{ createdAt: "desc" }, { id: "desc" }],
    });
  }

  /**
   * Revokes one of the caller's keys, or of a service account the caller manages, on every instance
   * from the next request on.
   */
  async revoke(actor: Principal, id: string): Promise<void> {
    const { prisma, audit, revocations } = this.deps;
    const key = await prisma.apiKey.findFirst({ where: { id, revokedAt: null }, select: { userId: true } });
    if (!key) throw new NotFoundError("API key");
    if (key.userId !== actor.userId) {
      // Someone else's key is no business of the caller's unless it is a service account's they manage.
      await this.managedAccount(actor, key.userId).catch((error: unknown) => {
        throw error instanceof NotFoundError || error instanceof ForbiddenError ? new NotFoundError("API key") : error;
      });
    }
    const owner = key.userId;
    const revoked = await prisma.$transaction(async (tx) => {
      const { count } = await tx.apiKey.updateMany({
        where: { id, userId: owner, revokedAt: null },
        data: { revokedAt: new Date() },
      });
      if (count === 0) return false;
      await audit.record({ action: "api_key.revoked", actor: asActor(actor), target: { type: "api_key", id } }, tx);
      await revocations.announce(tx, API_KEY, [id]);
      return true;
    });
    if (!revoked) throw new NotFoundError("API key");
    await revocations.revoked(API_KEY, [id]);
  }

  /**
   * Who a presented key acts as now: its owner, cut down to the key's permissions, in the key's
   * organization (a key bound to one acts in no other) or else the one the request names. Counts the
   * use against the key's rate limit (RATE_LIMITED past it) and notes it in `lastUsedAt`.
   */
  async identify(secret: string, organizationId: string | null): Promise<ApiKeyIdentity> {
    const facts = await this.factsOf(secret);
    if (!facts) return { principal: null, problem: API_KEY_PROBLEMS.INVALID };
    if (facts.expiresAt.getTime() <= Date.now()) return { principal: null, problem: API_KEY_PROBLEMS.EXPIRED };
    if ((await this.deps.revocations.ownerOf(API_KEY, facts.id)) !== facts.userId) {
      return { principal: null, problem: API_KEY_PROBLEMS.REVOKED };
    }
    await Promise.all([this.count(facts.id), this.touch(facts.id)]);
    const bound = facts.organizationId;
    const acting = bound ?? organizationId;
    const loaded = await this.deps.access.principal(facts.userId, acting ?? undefined);
    if (!loaded.principal) return { principal: null, problem: API_KEY_PROBLEMS.OWNER_INACTIVE };
    const key = { id: facts.id, permissions: facts.permissions, organizationId: bound };
    const principal = restrictToApiKey(loaded.principal, key);
    // A bound key named into another organization acts in none.
    if (bound !== null && organizationId !== null && organizationId !== bound) {
      return { principal: { ...principal, organization: null }, refusal: "not_member" };
    }
    return { principal, refusal: loaded.refusal };
  }

  /** The grants a new key of user `ownerId` may take: the platform's, or those in `organizationId`. */
  private async grantsOf(ownerId: string, organizationId: string | null): Promise<readonly string[] | null> {
    const { principal } = await this.deps.access.principal(ownerId, organizationId ?? undefined);
    if (!principal) return null;
    return organizationId === null ? principal.grants : organizationGrants(principal, organizationId);
  }

  /**
   * Service account `id`, which `actor` manages and may arm: they hold every permission it holds
   * (FORBIDDEN otherwise; NOT_FOUND when it is no service account they can see).
   */
  private async managedAccount(actor: Principal, id: string): Promise<ServiceAccountRecord> {
    const { serviceAccounts } = this.deps;
    const account = await serviceAccounts.get(actor, id, "manage");
    const { organizationId } = account;
    const held = organizationId === null ? actor.grants : (organizationGrants(actor, organizationId) ?? []);
    const missing = firstMissingGrant(held, await serviceAccounts.heldGrants({ organizationId }, id));
    if (missing) {
      throw new ForbiddenError(
        missing,
        `You cannot make keys for a service account holding ${missing}: you do not hold it`,
      );
    }
    return account;
  }

  private async factsOf(secret: string): Promise<KeyFacts | undefined> {
    const hash = apiKeyHash(secret);
    if (!hash) return undefined;
    const cached = this.facts.get(hash);
    if (cached) return cached;
    const found = await this.deps.prisma.apiKey.findUnique({
      where: { secretHash: hash },
      select: { id: true, userId: true, permissions: true, organizationId: true, expiresAt: true },
    });
    if (found) this.facts.set(hash, found);
    return found ?? undefined;
  }

  /** One use of key `id` against its rate limit, over every instance. */
  private async count(id: string): Promise<void> {
    const { kv, options, log } = this.deps;
    const windowMs = options.rateLimitWindowSeconds * 1000;
    try {
      const { count, ttlMs } = await kv.increment(`ratelimit:api_key:${id}`, windowMs);
      if (count > options.rateLimitMax) throw new RateLimitedError(Math.max(1, Math.ceil(ttlMs / 1000)));
    } catch (error) {
      if (error instanceof RateLimitedError) throw error;
      // A limit on volume, not a check of a guess: without the store the key goes on working.
      log.warn("API key use not counted", { event: "api_key.count_failed", apiKeyId: id, error });
    }
  }

  /** Notes that key `id` was used: at most one write a minute per key, over every instance. */
  private async touch(id: string): Promise<void> {
    const { kv, prisma, log } = this.deps;
    const now = new Date();
    try {
      // Without the store, the condition of the update alone keeps the writes down.
      const due = await kv.setIfAbsent(`api_key:used:${id}`, "1", LAST_USED_EVERY_MS).catch(() => true);
      if (!due) return;
      await prisma.apiKey.updateMany({
        where: { id, OR: [{ lastUsedAt: null }, { lastUsedAt: { lt: new Date(now.getTime() - LAST_USED_EVERY_MS) } }] },
        data: { lastUsedAt: now },
      });
    } catch (error) {
      // A missed note costs an older `lastUsedAt`, never the request.
      log.warn("API key use not noted", { event: "api_key.touch_failed", apiKeyId: id, error });
    }
  }
}
