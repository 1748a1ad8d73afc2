import { randomUUID } from "node:crypto";
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
  /** How long after its rotation a refresh token may be presented again (a client's retry). */
  reuseGraceSeconds: number;
}

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
 * the whole session, so that the thief's copy and the legitimate one both stop working.
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
   * Exchanges a refresh token for the next one of its session.
   * @returns the user and the new token; of two concurrent exchanges of one token, one succeeds.
   */
  async rotate(token: string, client: ClientInfo): Promise<{ user: UserProfile; issued: IssuedRefreshToken }> {
    if (token.length > MAX_TOKEN_LENGTH) throw invalidRefreshToken();
    // The usual case, a live token of a live session of an active user, in one statement; anything
    // else (unknown, expired, a retry within the grace period, a reuse) is sorted out below.
    const rotated = await this.rotateLive(token, client);
    if (rotated) return rotated;
    const presented = await this.prisma.refreshToken.findUnique({
      where: { tokenHash: hashToken(token) },
      include: { session: true, user: { omit: USER_SECRETS } },
    });
    const now = new Date();
    if (!presented || presented.session.revokedAt || presented.user.status !== "active") throw invalidRefreshToken();
    if (presented.revokedAt) {
      const retry = await this.graceSuccessor(presented, now);
      if (!retry) {
        if (presented.replacedById) await this.reuseDetected(presented.userId, presented.familyId, client);
        throw invalidRefreshToken();
      }
      return { user: presented.user, issued: await this.claim(retry, client) };
    }
    if (presented.expiresAt <= now) throw invalidRefreshToken();
    return { user: presented.user, issued: await this.claim(presented, client) };
  }

  /**
   * Claims a live refresh token and issues its successor in one statement: the presented token is
   * revoked and linked to the new one, the session is touched, all or nothing. A token another request
   * is claiming at this moment is skipped: the careful path then waits for that claim, and of two
   * concurrent exchanges one succeeds while the other is refused, as before.
   * @returns undefined when the token is not live (unknown, revoked, expired, its session ended, its
   * user disabled).
   */
  private async rotateLive(
    token: string,
    client: ClientInfo,
  ): Promise<{ user: UserProfile; issued: IssuedRefreshToken } | undefined> {
    const next = randomToken();
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
        -- A token being claimed right now is left to the careful path, which waits for that claim.
        FOR UPDATE OF t SKIP LOCKED
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
    await tx.session.updateMany({
      where: { id: { in: sessionIds }, revokedAt: null },
      data: { revokedAt: now, revokedReason: reason },
    });
    await tx.refreshToken.updateMany({
      where: { familyId: { in: sessionIds }, revokedAt: null },
      data: { revokedAt: now },
    });
    await this.revocations.announce(tx, SESSION, sessionIds);
    return sessionIds;
  }

  /**
   * With a grace period, the token rotated just before may be presented again for a short while:
   * the session then goes on from its successor, if that is still the newest token.
   */
  private async graceSuccessor(presented: { revokedAt: Date | null; replacedById: string | null }, now: Date) {
    const graceMs = this.options.reuseGraceSeconds * 1000;
    if (graceMs <= 0 || !presented.replacedById || !presented.revokedAt) return undefined;
    if (now.getTime() - presented.revokedAt.getTime() > graceMs) return undefined;
    const successor = await this.prisma.refreshToken.findUnique({ where: { id: presented.replacedById } });
    return successor && !successor.revokedAt && successor.expiresAt > now ? successor : undefined;
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

  private async claim(
    current: { id: string; userId: string; familyId: string },
    client: ClientInfo,
  ): Promise<IssuedRefreshToken> {
    const now = new Date();
    const expiresAt = this.refreshExpiry();
    return this.prisma.$transaction(async (tx) => {
      const claimed = await tx.refreshToken.updateMany({
        where: { id: current.id, revokedAt: null },
        data: { revokedAt: now },
      });
      if (claimed.count !== 1) throw invalidRefreshToken();
      const issued = await this.issue(tx, current.userId, current.familyId, client, expiresAt);
      await tx.refreshToken.update({ where: { id: current.id }, data: { replacedById: issued.tokenId } });
      const session = await tx.session.update({
        where: { id: current.familyId },
        data: { lastUsedAt: now, expiresAt, ip: client.ip, userAgent: client.userAgent },
        select: { organizationId: true },
      });
      return { ...issued, organizationId: session.organizationId };
    });
  }

  private async issue(
    tx: Prisma.TransactionClient,
    userId: string,
    sessionId: string,
    client: ClientInfo,
    expiresAt: Date,
  ): Promise<Omit<IssuedRefreshToken, "organizationId"> & { tokenId: string }> {
    const token = randomToken();
    const { id } = await tx.refreshToken.create({
      data: {
        userId,
        familyId: sessionId,
        tokenHash: hashToken(token),
        expiresAt,
        ip: client.ip,
        userAgent: client.userAgent,
      },
      select: { id: true },
    });
    return { sessionId, token, expiresAt, tokenId: id };
  }

  private refreshExpiry(): Date {
    return new Date(Date.now() + this.options.refreshTokenTtlSeconds * 1000);
  }
}
