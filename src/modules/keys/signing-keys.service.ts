import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type JsonWebKey,
  type KeyObject,
  randomUUID,
} from "node:crypto";
import type { SigningKey as SigningKeyRecord } from "../../generated/prisma/client.js";
import { changeBy } from "../../kernel/audited-change.js";
import type { Principal } from "../../kernel/principal.js";
import type { AuditEntry, AuditTrail } from "../../platform/audit/audit-trail.js";
import type { Prisma, PrismaClient } from "../../platform/db/database.js";
import type { Logger } from "../../platform/observability/logger.js";
import type { Revocations } from "../../platform/revocations.js";
import type { SecretBox } from "../../platform/secret-box.js";

/**
 * ES256 (ECDSA P-256) rather than EdDSA: here it verifies in about 73 µs against 119, and every
 * resource server's JOSE library supports it.
 */
export const SIGNING_ALGORITHM = "ES256";

/** The revocation kind of a revoked signing key: every instance stops accepting its tokens when it hears it. */
export const SIGNING_KEY_REVOKED = "signing_key";
/** Not a revocation: a staged key, announced on the same channel so that every instance loads it before it signs. */
export const SIGNING_KEY_STAGED = "signing_key_staged";

/** Taken by whichever instance creates or rotates keys, so that instances starting together make one. */
const ADVISORY_LOCK = 72707370;
/** How often an instance reloads the key set and sees whether a rotation is due. */
const REFRESH_MS = 60_000;
/** Past a key's retirement, how much longer than the token lifetime it stays accepted (clocks, a late reload). */
const EXPIRY_LEEWAY_SECONDS = 120;
/** How long an emergency rotation waits to hear its own announcement back (so the others have it too). */
const ECHO_WAIT_MS = 2_000;

export type SigningKeyState = "next" | "current" | "retired" | "expired" | "revoked";

/** A signing key as an admin sees it: never its private part. */
export interface SigningKeyInfo {
  id: string;
  algorithm: string;
  state: SigningKeyState;
  createdAt: Date;
  activatesAt: Date;
  retiresAt: Date | null;
  expiresAt: Date | null;
  revokedAt: Date | null;
}

/** A public key as the JWKS publishes it. */
export type PublishedJwk = JsonWebKey & { kid: string; use: "sig"; alg: typeof SIGNING_ALGORITHM };

export interface SigningKeyOptions {
  /** Days a key signs before the next takes over. */
  rotationDays: number;
  /** Seconds a new key is published before it signs. */
  publishLeadSeconds: number;
  /** The longest an access token lives: a retired key stays accepted that long. */
  accessTokenTtlSeconds: number;
}

interface LoadedKey {
  kid: string;
  publicKey: KeyObject;
  /** Only for keys that still sign or will. */
  privateKey: KeyObject | undefined;
  jwk: PublishedJwk;
  activatesAt: number;
  retiresAt: number | null;
  expiresAt: number | null;
}

function stateOf(key: Pick<SigningKeyRecord, "activatesAt" | "retiresAt" | "expiresAt" | "revokedAt">, now: number) {
  if (key.revokedAt) return "revoked";
  if (key.activatesAt.getTime() > now) return "next";
  if (key.retiresAt === null || key.retiresAt.getTime() > now) return "current";
  if (key.expiresAt === null || key.expiresAt.getTime() > now) return "retired";
  return "expired";
}

const infoOf = (key: SigningKeyRecord, now = Date.now()): SigningKeyInfo => ({
  id: key.id,
  algorithm: key.algorithm,
  state: stateOf(key, now),
  createdAt: key.createdAt,
  activatesAt: key.activatesAt,
  retiresAt: key.retiresAt,
  expiresAt: key.expiresAt,
  revokedAt: key.revokedAt,
});

/**
 * The keys access tokens are signed with, shared by every instance through the database. A key is
 * published (JWKS) from its creation; a staged one signs only after `publishLeadSeconds`, when the
 * one before it retires; a retired one stays published and accepted until every token it signed has
 * expired. Keys sign one after the other in the order of their activation, so every instance reads
 * the same schedule from the rows and switches at the same moment without talking to the others.
 * Creating and rotating happen under an advisory lock; an emergency rotation revokes every key in use
 * and is announced through the revocations, so each instance refuses their tokens at once.
 */
export class SigningKeys {
  private keys: LoadedKey[] = [];
  /** Kids revoked while this instance runs: a reload that began before the revocation cannot bring them back. */
  private readonly revoked = new Set<string>();
  private readonly revokedListeners = new Set<(kid: string) => void>();
  private readonly echoes = new Map<string, () => void>();
  private timer: NodeJS.Timeout | undefined;
  private stopListening: (() => void) | undefined;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly box: SecretBox,
    private readonly revocations: Revocations,
    private readonly audit: AuditTrail,
    private readonly options: SigningKeyOptions,
    private readonly log: Logger,
  ) {
    revocations.register(SIGNING_KEY_REVOKED, async (kid) => {
      const key = await prisma.signingKey.findFirst({
        where: { id: kid, revokedAt: null, OR: [{ expiresAt: null }, { expiresAt: { gt: new Date() } }] },
        select: { id: true },
      });
      return key ? "kafkey" : null;
    });
  }

  /** Makes the first key (or a due rotation's), loads the set, and keeps it fresh every minute. */
  async start(): Promise<void> {
    this.stopListening = this.revocations.onRevoked((kind, id) => this.heard(kind, id));
    await this.maintain(true);
    await this.reload();
    this.timer = setInterval(() => void this.tick(), REFRESH_MS);
    this.timer.unref();
  }

  close(): void {
    clearInterval(this.timer);
    this.stopListening?.();
    for (const done of this.echoes.values()) done();
  }

  /** How long a verifier may cache the JWKS: half the publish lead, so every cache holds a staged key before it signs. */
  get maxAgeSeconds(): number {
    return Math.max(1, Math.floor(this.options.publishLeadSeconds / 2));
  }

  /** The key that signs now: the latest activated one that has not retired. */
  signer(now = Date.now()): { kid: string; key: KeyObject } {
    let chosen: LoadedKey | undefined;
    for (const key of this.keys) {
      if (key.privateKey === undefined || key.activatesAt > now || (key.retiresAt !== null && key.retiresAt <= now)) {
        continue;
      }
      if (!chosen || key.activatesAt > chosen.activatesAt) chosen = key;
    }
    // Only between an emergency rotation heard from another instance and the reload that follows it.
    if (!chosen) throw new Error("no signing key loaded");
    return { kid: chosen.kid, key: chosen.privateKey! };
  }

  /** The public key of `kid` while the tokens it signed are accepted; undefined for any other kid. */
  verifier(kid: string, now = Date.now()): KeyObject | undefined {
    const key = this.keys.find((k) => k.kid === kid);
    if (!key || (key.expiresAt !== null && key.expiresAt <= now)) return undefined;
    return key.publicKey;
  }

  /** Calls `listener` with every key revoked, on whichever instance: caches of its tokens drop them. */
  onRevoked(listener: (kid: string) => void): () => void {
    this.revokedListeners.add(listener);
    return () => void this.revokedListeners.delete(listener);
  }

  /** The JWKS: the current key, the next once staged, and retired ones until their tokens have expired. */
  jwks(now = Date.now()): { keys: PublishedJwk[] } {
    const published = this.keys.filter((k) => k.expiresAt === null || k.expiresAt > now);
    // The signing key first, then the next, then the retired, newest first.
    const rank = (k: LoadedKey) => (k.activatesAt > now ? 1 : k.retiresAt === null || k.retiresAt > now ? 0 : 2);
    published.sort((a, b) => rank(a) - rank(b) || b.activatesAt - a.activatesAt);
    return { keys: published.map((k) => k.jwk) };
  }

  /** Every key ever made, newest first (admins: the rotation schedule). */
  async list(): Promise<SigningKeyInfo[]> {
    const now = Date.now();
    const rows = await this.prisma.signingKey.findMany({ orderBy: { activatesAt: "desc" } });
    return rows.map((row) => infoOf(row, now));
  }

  /**
   * Rotates on demand. Normally a new key is staged: published now, signing after the publish lead
   * (an already staged key is returned as it is). In an emergency every key in use is revoked at once
   * (their tokens stop working on every instance; refresh tokens still work, so clients get new access
   * tokens) and a new key signs at once.
   * @returns the key that signs next (or now, in an emergency).
   */
  async rotate(actor: Principal, emergency: boolean): Promise<SigningKeyInfo> {
    if (!emergency) {
      const { key } = await this.locked(async (tx, now) => {
        const staged = await tx.signingKey.findFirst({
          where: { revokedAt: null, activatesAt: { gt: now } },
          orderBy: { activatesAt: "desc" },
        });
        if (staged) return { key: staged };
        return {
          key: await this.stage(tx, now, new Date(now.getTime() + this.options.publishLeadSeconds * 1000), actor),
        };
      });
      await this.reload();
      return infoOf(key);
    }
    let heard: Promise<void>[] = [];
    try {
      const { key, revoked } = await this.locked(async (tx, now) => {
        const inUse = await tx.signingKey.findMany({
          where: { revokedAt: null, OR: [{ expiresAt: null }, { expiresAt: { gt: now } }] },
          select: { id: true },
        });
        const kids = inUse.map((k) => k.id);
        // Listening before the commit: the announcement may arrive before the transaction's answer.
        heard = kids.map((kid) => this.echo(kid));
        await tx.signingKey.updateMany({ where: { id: { in: kids } }, data: { revokedAt: now } });
        const created = await this.create(tx, now);
        const target = { type: "signing_key", id: created.id };
        await this.audit.record(changeBy(actor, { action: "signing_key.emergency_rotated", target }), tx);
        await this.revocations.announce(tx, SIGNING_KEY_REVOKED, kids);
        return { key: created, revoked: kids };
      });
      for (const kid of revoked) this.revoke(kid);
      await this.reload();
      // When this instance has heard its own announcement, PostgreSQL has sent it to every listener.
      await Promise.all(heard);
      return infoOf(key);
    } finally {
      for (const done of [...this.echoes.values()]) done();
    }
  }

  private async tick(): Promise<void> {
    try {
      await this.maintain(false);
      await this.reload();
    } catch (error) {
      // The keys loaded last go on working; the next tick tries again.
      this.log.warn("signing keys not refreshed", { event: "signing_keys.refresh_failed", error });
    }
  }

  /** Whether the loaded set lacks a signing key or a due rotation: worth the lock to look. */
  private needsWork(now: number): boolean {
    const usable = this.keys.filter((k) => k.retiresAt === null || k.retiresAt > now);
    const last = usable.sort((a, b) => b.activatesAt - a.activatesAt)[0];
    return !usable.some((k) => k.activatesAt <= now) || this.rotationDue(last!.activatesAt, now);
  }

  private rotationDue(lastActivatesAt: number, now: number): boolean {
    if (lastActivatesAt > now) return false;
    const rotatesAt = lastActivatesAt + this.options.rotationDays * 86_400_000;
    return rotatesAt - this.options.publishLeadSeconds * 1000 <= now;
  }

  /**
   * Under the lock: a first key when none can sign, a staged one when the rotation is due. Idempotent:
   * instances that see the same need one after the other find it met.
   */
  private async maintain(force: boolean): Promise<void> {
    if (!force && !this.needsWork(Date.now())) return;
    await this.locked(async (tx, now) => {
      const usable = await tx.signingKey.findMany({
        where: { revokedAt: null, OR: [{ retiresAt: null }, { retiresAt: { gt: now } }] },
        orderBy: { activatesAt: "desc" },
      });
      if (!usable.some((key) => key.activatesAt <= now)) {
        const created = await this.create(tx, now);
        this.log.info("signing key created", { event: "signing_key.created", kid: created.id });
        return;
      }
      const last = usable[0]!;
      if (!this.rotationDue(last.activatesAt.getTime(), now.getTime())) return;
      const rotatesAt = last.activatesAt.getTime() + this.options.rotationDays * 86_400_000;
      const activatesAt = Math.max(rotatesAt, now.getTime() + this.options.publishLeadSeconds * 1000);
      const staged = await this.stage(tx, now, new Date(activatesAt), null);
      this.log.info("signing key staged", { event: "signing_key.staged", kid: staged.id });
    });
  }

  /** A new key activating at `activatesAt`, published at once, recorded and announced with its transaction. */
  private async stage(
    tx: Prisma.TransactionClient,
    now: Date,
    activatesAt: Date,
    actor: Principal | null,
  ): Promise<SigningKeyRecord> {
    const created = await this.create(tx, now, activatesAt);
    const target = { type: "signing_key", id: created.id };
    const entry: AuditEntry = actor
      ? changeBy(actor, { action: "signing_key.rotated", target })
      : { action: "signing_key.rotated", target };
    await this.audit.record(entry, tx);
    await this.revocations.announce(tx, SIGNING_KEY_STAGED, [created.id]);
    return created;
  }

  /** Inserts a fresh P-256 key and re-derives every key's retirement from the activation order. */
  private async create(tx: Prisma.TransactionClient, now: Date, activatesAt = now): Promise<SigningKeyRecord> {
    const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const created = await tx.signingKey.create({
      data: {
        // A UUID: audit events name their target by one.
        id: randomUUID(),
        algorithm: SIGNING_ALGORITHM,
        publicJwk: publicKey.export({ format: "jwk" }) as Prisma.InputJsonObject,
        privateKey: this.box.seal(privateKey.export({ format: "pem", type: "pkcs8" }) as string),
        createdAt: now,
        activatesAt,
      },
    });
    const keys = await tx.signingKey.findMany({ where: { revokedAt: null }, orderBy: { activatesAt: "asc" } });
    const lifetimeMs = (this.options.accessTokenTtlSeconds + EXPIRY_LEEWAY_SECONDS) * 1000;
    for (const [i, key] of keys.entries()) {
      const retiresAt = keys[i + 1]?.activatesAt ?? null;
      if (retiresAt?.getTime() === key.retiresAt?.getTime()) continue;
      // A key that had already retired keeps its schedule: its tokens' expiry is fixed.
      if (key.retiresAt !== null && key.retiresAt <= now) continue;
      const expiresAt = retiresAt === null ? null : new Date(retiresAt.getTime() + lifetimeMs);
      await tx.signingKey.update({ where: { id: key.id }, data: { retiresAt, expiresAt } });
    }
    return (await tx.signingKey.findUnique({ where: { id: created.id } }))!;
  }

  private async locked<T>(work: (tx: Prisma.TransactionClient, now: Date) => Promise<T>): Promise<T> {
    return this.prisma.$transaction(async (tx) => {
      await tx.$queryRaw`SELECT pg_advisory_xact_lock(${ADVISORY_LOCK})::text AS "locked"`;
      return work(tx, new Date());
    });
  }

  /** Loads every key still published (and the private parts of those that sign or will). */
  private async reload(): Promise<void> {
    const now = new Date();
    const rows = await this.prisma.signingKey.findMany({
      where: { revokedAt: null, OR: [{ expiresAt: null }, { expiresAt: { gt: now } }] },
    });
    const known = new Map(this.keys.map((k) => [k.kid, k]));
    this.keys = rows
      .filter((row) => !this.revoked.has(row.id) && row.algorithm === SIGNING_ALGORITHM)
      .map((row) => {
        const signs = row.retiresAt === null || row.retiresAt > now;
        const loaded = known.get(row.id);
        const jwk = row.publicJwk as JsonWebKey;
        return {
          kid: row.id,
          publicKey: loaded?.publicKey ?? createPublicKey({ key: jwk, format: "jwk" }),
          privateKey: signs ? (loaded?.privateKey ?? createPrivateKey(this.box.open(row.privateKey))) : undefined,
          jwk: { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y, kid: row.id, use: "sig", alg: SIGNING_ALGORITHM },
          activatesAt: row.activatesAt.getTime(),
          retiresAt: row.retiresAt?.getTime() ?? null,
          expiresAt: row.expiresAt?.getTime() ?? null,
        };
      });
  }

  private heard(kind: string, kid: string): void {
    if (kind === SIGNING_KEY_REVOKED) {
      this.echoes.get(kid)?.();
      this.revoke(kid);
    }
    if (kind === SIGNING_KEY_REVOKED || kind === SIGNING_KEY_STAGED) {
      this.reload().catch((error: unknown) =>
        this.log.warn("signing keys not reloaded", { event: "signing_keys.refresh_failed", error }),
      );
    }
  }

  /** Drops `kid` at once: its tokens are refused from the next request on. */
  private revoke(kid: string): void {
    if (this.revoked.has(kid)) return;
    this.revoked.add(kid);
    this.keys = this.keys.filter((k) => k.kid !== kid);
    for (const listener of this.revokedListeners) listener(kid);
  }

  /** Resolves when this instance hears `kid`'s revocation announced, or after ECHO_WAIT_MS. */
  private echo(kid: string): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ECHO_WAIT_MS);
      timer.unref();
      const echoes = this.echoes;
      function done() {
        clearTimeout(timer);
        echoes.delete(kid);
        resolve();
      }
      echoes.set(kid, done);
    });
  }
}
