import { createHmac, type KeyObject, randomUUID } from "node:crypto";
import type { Session as SessionRecord } from "../../generated/prisma/client.js";
import type { AuditEntry, AuditTrail } from "../../platform/audit/audit-trail.js";
import { Prisma, type PrismaClient } from "../../platform/db/database.js";
import type { Logger } from "../../platform/observability/logger.js";
import { hashToken, MAX_TOKEN_LENGTH, randomToken } from "../../platform/secret-tokens.js";
import type { Revocations } from "../../platform/revocations.js";
import { type ClientInfo } from "../../kernel/request.js";
import { UnauthenticatedError } from "../../kernel/errors.js";
import { asActor, type Principal } from "../../kernel/principal.js";
import { USER_PROFILE_COLUMNS, USER_SECRETS, type UserProfile } from "../../kernel/user-profile.js";

/** The kind of credential a session is, to the revocation mechanism. */
const SESSION = "session";

export interface IssuedRefreshToken {
  sessionId: string;
  token: string;
  expiresAt: Date;
  /** The organization the session acts in: its access tokens carry it. */
  organizationId: string | null;
}

export type RevokeReason =
  | "logout"
  | "logout_all"
  | "revoked"
  | "revoked_by_admin"
  | "reuse_detected"
  | "password_changed"
  | "password_reset"
  | "mfa_enabled"
  | "user_disabled"
  | "user_deleted";

export interface SessionOptions {
  refreshTokenTtlSeconds: number;
  /**
   * How long after its rotation a refresh token may be presented again (two tabs, a client's retry)
   * and still get the same successor; after it, presenting it is reuse. 0: every second presentation is.
   */
  reuseGraceSeconds: number;
  /**
   * The key a refresh token's successor is derived with. The same on every instance, so that any of
   * them can answer a repeated exchange with the successor another one issued; secret, so that an old
   * token does not tell its descendants to whoever finds it.
   */
  successorKey: KeyObject;
}

/**
 * How many rotations within the grace period a repeated exchange follows to the newest token; a longer
 * chain (a client rotating in a loop) is refused rather than walked.
 */
const MAX_GRACE_HOPS = 8;

const invalidRefreshToken = () => new UnauthenticatedError("Invalid or expired refresh token");

export interface EndOptions {
  /** A session to leave running (the caller's own, when a password change ends the others). */
  keep?: string;
  /** The audit event of the action, recorded in the same transaction as the sessions' end. */
  audit?: AuditEntry;
}

/**
 * Sessions: one per login, carried on by rotating refresh tokens. A refresh token works once;
 * presenting one that was already rotated means it was stolen (or the client is confused), and ends
 * the whole session, so that the thief's copy and the legitimate one both stop working. Within the
 * grace period after its rotation, though, presenting it again is not reuse but two tabs or a retry
 * racing: the exchange is idempotent, every one of them gets the same successor.
 *
 * A session's first refresh token is random; each successor is derived from its predecessor
 * (`successorOf`), so that any instance can answer a repeated exchange with the successor already
 * issued while only hashes are stored.
 */
export class SessionService {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly revocations: Revocations,
    private readonly options: SessionOptions,
    private readonly audit: AuditTrail,
    private readonly log: Logger,
  ) {
    // An access token counts only while its session is live in the database of record.
    revocations.register(SESSION, async (id) => {
      const session = await prisma.session.findFirst({
        where: { id, revokedAt: null, expiresAt: { gt: new Date() } },
        select: { userId: true },
      });
      return session?.userId ?? null;
    });
  }

  /** Whether session `sessionId` is live and belongs to `userId` (cheap: cached, told of revocations). */
  async isLive(sessionId: string, userId: string): Promise<boolean> {
    return (await this.revocations.ownerOf(SESSION, sessionId)) === userId;
  }

  /** Calls `listener` with every session that ends, on whichever instance it was ended. */
  onEnded(listener: (sessionId: string) => void): () => void {
    return this.revocations.onRevoked((kind, id) => {
      if (kind === SESSION) listener(id);
    });
  }

  /**
   * Starts a session for a user who just proved who they are.
   * @param audit the sign-in's audit event, recorded with the session.
   * @param tx the caller's transaction, when the session must commit with its other writes (a sign-up).
   */
  async start(
    userId: string,
    client: ClientInfo,
    audit?: AuditEntry,
    tx?: Prisma.TransactionClient,
  ): Promise<IssuedRefreshToken> {
    const sessionId = randomUUID();
    const token = randomToken();
    const expiresAt = this.refreshExpiry();
    const now = new Date();
    const userAgent = client.userAgent ?? null;
    // One statement, not a transaction of three: the session, its first refresh token and the
    // sign-in's audit event commit together, in one round trip.
    await (tx ?? this.prisma).$executeRaw`
      WITH session AS (
        INSERT INTO "sessions" ("id", "user_id", "created_at", "last_used_at", "expires_at", "ip", "user_agent")
        VALUES (${sessionId}::uuid, ${userId}::uuid, ${now}, ${now}, ${expiresAt}, ${client.ip}, ${userAgent})
      ), token AS (
        INSERT INTO "refresh_tokens" ("user_id", "token_hash", "family_id", "expires_at", "created_at", "ip", "user_agent")
        VALUES (${userId}::uuid, ${hashToken(token)}, ${sessionId}::uuid, ${expiresAt}, ${now}, ${client.ip}, ${userAgent})
      )${audit ? Prisma.sql`, recorded AS (${this.audit.outboxInsert(audit)})` : Prisma.empty}
      SELECT 1`;
    if (audit) this.audit.recorded();
    return { sessionId, token, expiresAt, organizationId: null };
  }

  /**
   * Makes the session act in `organizationId` (null: in none) from now on: its next access tokens
   * carry it. @returns false when it is not the user's running session.
   */
  async actIn(userId: string, sessionId: string, organizationId: string | null): Promise<boolean> {
    const { count } = await this.prisma.session.updateMany({
      where: { id: sessionId, userId, revokedAt: null },
      data: { organizationId },
    });
    return count === 1;
  }

  /** The user's sessions stop acting in an organization they left or were removed from. */
  async leave(userId: string, organizationId: string): Promise<void> {
    await this.prisma.session.updateMany({ where: { userId, organizationId }, data: { organizationId: null } });
  }

  /**
   * Exchanges a refresh token for the next one of its session. Presented again within the grace period
   * (concurrent exchanges, over any instances), it answers the same successor, or that successor's own
   * successor when it was rotated too: whichever token a client keeps goes on working.
   * @returns the user and the new token.
   */
  async rotate(token: string, client: ClientInfo): Promise<{ user: UserProfile; issued: IssuedRefreshToken }> {
    if (token.length > MAX_TOKEN_LENGTH) throw invalidRefreshToken();
    // The usual case, a live token of a live session of an active user, in one statement; anything
    // else (unknown, expired, presented again within the grace period, a reuse) is sorted out below.
    const rotated = await this.rotateLive(token, client);
    if (rotated) return rotated;
    const presented = await this.prisma.refreshToken.findUnique({
      where: { tokenHash: hashToken(token) },
      include: { session: true, user: { omit: USER_SECRETS } },
    });
    // A token that is not revoked here was not live above: it expired (every live one was rotated).
    if (!presented?.revokedAt || presented.session.revokedAt || presented.user.status !== "active") {
      throw invalidRefreshToken();
    }
    // Revoked without a successor: its session ended (and the check above raced that end).
    if (!presented.replacedById) throw invalidRefreshToken();
    const newest = await this.graceSuccessor(token, {
      revokedAt: presented.revokedAt,
      replacedById: presented.replacedById,
    });
    if (newest === "reuse") {
      await this.reuseDetected(presented.userId, presented.familyId, client);
      throw invalidRefreshToken();
    }
    if (!newest) throw invalidRefreshToken();
    return {
      user: presented.user,
      issued: {
        sessionId: presented.familyId,
        token: newest.token,
        expiresAt: newest.expiresAt,
        organizationId: presented.session.organizationId,
      },
    };
  }

  /**
   * Claims a live refresh token and issues its successor in one statement: the presented token is
   * revoked and linked to the new one, the session is touched, all or nothing. A token another request
   * is claiming at this moment is waited for: once that claim commits, PostgreSQL checks the row again
   * (READ COMMITTED), finds it revoked and this statement claims nothing, so of concurrent exchanges
   * exactly one writes and the others go the careful path, which answers the same successor.
   * @returns undefined when the token is not live (unknown, revoked, expired, its session ended, its
   * user disabled).
   */
  private async rotateLive(
    token: string,
    client: ClientInfo,
  ): Promise<{ user: UserProfile; issued: IssuedRefreshToken } | undefined> {
    const next = this.successorOf(token);
    const nextId = randomUUID();
    const expiresAt = this.refreshExpiry();
    // The application's clock, as everywhere else: the database's now() would be read in its time zone.
    const now = new Date();
    const [row] = await this.prisma.$queryRaw<(UserProfile & { sessionId: string; organizationId: string | null })[]>`
      WITH presented AS (
        SELECT t."id", t."user_id", t."family_id" FROM "refresh_tokens" t
        JOIN "sessions" s ON s."id" = t."family_id" AND s."revoked_at" IS NULL
        JOIN "users" u ON u."id" = t."user_id" AND u."status" = 'active'
        WHERE t."token_hash" = ${hashToken(token)} AND t."revoked_at" IS NULL AND t."expires_at" > ${now}
        -- A concurrent claim of the same token is waited for; its commit leaves this one nothing to claim.
        FOR UPDATE OF t
      ), issued AS (
        INSERT INTO "refresh_tokens" ("id", "user_id", "token_hash", "family_id", "expires_at", "ip", "user_agent")
        SELECT ${nextId}::uuid, p."user_id", ${hashToken(next)}, p."family_id", ${expiresAt}, ${client.ip},
               ${client.userAgent ?? null}
        FROM presented p
        RETURNING "family_id"
      ), claimed AS (
        UPDATE "refresh_tokens" t SET "revoked_at" = ${now}, "replaced_by_id" = ${nextId}::uuid
        FROM presented p WHERE t."id" = p."id"
        RETURNING t."user_id", t."family_id"
      ), session AS (
        UPDATE "sessions" s SET "last_used_at" = ${now}, "expires_at" = ${expiresAt}, "ip" = ${client.ip},
               "user_agent" = ${client.userAgent ?? null}
        FROM claimed c WHERE s."id" = c."family_id"
        RETURNING s."organization_id"
      )
      SELECT ${USER_PROFILE_COLUMNS}, c."family_id" AS "sessionId",
             (SELECT "organization_id" FROM session) AS "organizationId"
      FROM claimed c JOIN "users" u ON u."id" = c."user_id"`;
    if (!row) return undefined;
    return {
      user: row, // with the session's columns too: the payload takes only the profile
      issued: { sessionId: row.sessionId, token: next, expiresAt, organizationId: row.organizationId },
    };
  }

  /** The active sessions of a user, most recently used first. */
  list(userId: string): Promise<SessionRecord[]> {
    return this.prisma.session.findMany({
      where: { userId, revokedAt: null, expiresAt: { gt: new Date() } },
      orderBy: { lastUsedAt: "desc" },
    });
  }

  /** Ends one session of `userId`. @returns false when it is not theirs or already over. */
  async revoke(userId: string, sessionId: string, reason: RevokeReason, audit?: AuditEntry): Promise<boolean> {
    return (await this.end({ id: sessionId, userId }, reason, audit)) > 0;
  }

  /** Ends one of the caller's own sessions. @returns false when it is not theirs or already over. */
  revokeOwn(actor: Principal, sessionId: string): Promise<boolean> {
    return this.revoke(actor.userId, sessionId, "revoked", {
      action: "session.revoked",
      actor: asActor(actor),
      target: { type: "session", id: sessionId },
    });
  }

  /**
   * Ends the session a refresh token belongs to: a browser's logout with only its refresh cookie (its
   * access token expired). Any token of the session will do, a rotated one too: presenting that to
   * refreshToken would end the session as well. @returns false when unknown or already over.
   */
  async revokeByRefreshToken(token: string): Promise<boolean> {
    if (token.length > MAX_TOKEN_LENGTH) return false;
    const presented = await this.prisma.refreshToken.findUnique({
      where: { tokenHash: hashToken(token) },
      select: { familyId: true, user: { select: { id: true, email: true } } },
    });
    if (!presented) return false;
    return this.revoke(presented.user.id, presented.familyId, "logout", {
      action: "auth.logout",
      actor: presented.user,
      target: { type: "session", id: presented.familyId },
    });
  }

  /** Ends every session of `userId`, except `options.keep`. @returns how many ended. */
  async revokeAll(userId: string, reason: RevokeReason, options: EndOptions = {}): Promise<number> {
    const ids = await this.prisma.$transaction((tx) => this.revokeAllIn(tx, userId, reason, options));
    await this.ended(ids);
    return ids.length;
  }

  /**
   * Ends every session of `userId` (except `options.keep`) inside the caller's transaction, so that
   * they end exactly when its other writes commit (a new password, a disabled account).
   * @returns the ended sessions' ids: hand them to `ended` once the transaction committed.
   */
  revokeAllIn(tx: Prisma.TransactionClient, userId: string, reason: RevokeReason, options: EndOptions = {}) {
    return this.endIn(tx, { userId, id: options.keep ? { not: options.keep } : undefined }, reason, options.audit);
  }

  /**
   * After the transaction that ended `sessionIds` committed: this instance forgets them at once (every
   * other instance heard of them at the commit).
   */
  async ended(sessionIds: readonly string[]): Promise<void> {
    if (sessionIds.length > 0) await this.revocations.revoked(SESSION, sessionIds);
  }

  private async end(where: Prisma.SessionWhereInput, reason: RevokeReason, audit?: AuditEntry): Promise<number> {
    const ids = await this.prisma.$transaction((tx) => this.endIn(tx, where, reason, audit));
    await this.ended(ids);
    return ids.length;
  }

  private async endIn(
    tx: Prisma.TransactionClient,
    where: Prisma.SessionWhereInput,
    reason: RevokeReason,
    audit?: AuditEntry,
  ): Promise<string[]> {
    const now = new Date();
    const sessions = await tx.session.findMany({ where: { ...where, revokedAt: null }, select: { id: true } });
    const sessionIds = sessions.map((s) => s.id);
    if (sessionIds.length === 0) return [];
    if (audit) {
      const changes = [{ field: "activeSessions", before: sessionIds.length, after: 0 }];
      await this.audit.record({ ...audit, changes: [...(audit.changes ?? []), ...changes] }, tx);
    }
    // Tokens before sessions, in the order a refresh locks them (its token, then its session): the
    // other order lets a logout racing a refresh deadlock, and PostgreSQL abort one of them.
    await tx.refreshToken.updateMany({
      where: { familyId: { in: sessionIds }, revokedAt: null },
      data: { revokedAt: now },
    });
    await tx.session.updateMany({
      where: { id: { in: sessionIds }, revokedAt: null },
      data: { revokedAt: now, revokedReason: reason },
    });
    await this.revocations.announce(tx, SESSION, sessionIds);
    return sessionIds;
  }

  /**
   * The newest token of a rotated token's line, when every rotation on the way was made within the
   * grace period: computed again from the presented token, read, not written.
   * @returns "reuse" when a rotation on the way is older than the grace period (always, without one);
   * undefined when the line ends in a token that no longer works, or one that was not derived (issued
   * before successors were, or with another key).
   */
  private async graceSuccessor(
    token: string,
    presented: { revokedAt: Date; replacedById: string },
  ): Promise<{ token: string; expiresAt: Date } | "reuse" | undefined> {
    const graceMs = this.options.reuseGraceSeconds * 1000;
    const now = Date.now();
    let link: { revokedAt: Date; replacedById: string } = presented;
    let plaintext = token;
    for (let hop = 0; hop < MAX_GRACE_HOPS; hop++) {
      if (graceMs <= 0 || now - link.revokedAt.getTime() > graceMs) return "reuse";
      plaintext = this.successorOf(plaintext);
      const next = await this.prisma.refreshToken.findUnique({
        where: { tokenHash: hashToken(plaintext) },
        select: { id: true, revokedAt: true, replacedById: true, expiresAt: true },
      });
      if (next?.id !== link.replacedById) return undefined;
      if (!next.revokedAt)
        return next.expiresAt.getTime() > now ? { token: plaintext, expiresAt: next.expiresAt } : undefined;
      // Revoked without a successor: the session ended.
      if (!next.replacedById) return undefined;
      link = { revokedAt: next.revokedAt, replacedById: next.replacedById };
    }
    return undefined;
  }

  /**
   * The successor of a refresh token: an HMAC of it, as long as a random token and of the same
   * alphabet. Whoever presents a token gets its successor from any instance; nobody else can compute it.
   */
  private successorOf(token: string): string {
    return createHmac("sha256", this.options.successorKey).update(token).digest("base64url");
  }

  private async reuseDetected(userId: string, sessionId: string, client: ClientInfo): Promise<void> {
    // Whoever presented the token is unknown: the thief, or the user whose token was stolen.
    await this.end({ id: sessionId }, "reuse_detected", {
      action: "security.refresh_reuse",
      outcome: "failure",
      target: { type: "user", id: userId },
      changes: [{ field: "session", before: sessionId, after: null }],
    });
    this.log.warn("refresh token reused: session revoked", {
      event: "security.refresh_reuse",
      userId,
      sessionId,
      ip: client.ip,
    });
  }

  private refreshExpiry(): Date {
    return new Date(Date.now() + this.options.refreshTokenTtlSeconds * 1000);
  }
}
