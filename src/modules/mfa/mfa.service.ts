import { randomBytes } from "node:crypto";
import QRCode from "qrcode";
import { type AuditTrail, onOwnAccount } from "../../platform/audit/audit-trail.js";
import type { Prisma, PrismaClient } from "../../platform/db/database.js";
import type { User as UserRecord } from "../../generated/prisma/client.js";
import type { KeyValueStore } from "../../platform/kv/kv.js";
import type { Logger } from "../../platform/observability/logger.js";
import type { SecretBox } from "../../platform/secret-box.js";
import { hashToken } from "../../platform/secret-tokens.js";
import { type AccessService } from "../permissions/index.js";
import type { SessionService } from "../sessions/index.js";
import { MFA_CONFLICTS } from "./mfa.errors.js";
import { matchTotp, newTotpSecret, totpUri } from "./totp.js";
import { BadUserInputError, ConflictError } from "../../kernel/errors.js";

export interface TotpSetup {
  secret: string;
  otpauthUri: string;
  qrCodeDataUrl: string;
}

const RECOVERY_CODE_COUNT = 10;
/** Second-factor attempts one user may make per window, right or wrong: brute force gets nowhere. */
const MAX_ATTEMPTS = 10;
const ATTEMPT_WINDOW_MS = 15 * 60_000;
const RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789";

/** `xxxxx-xxxxx`: 50 bits from an alphabet without look-alike characters. */
function newRecoveryCode(): string {
  const bytes = randomBytes(10);
  const chars = [...bytes].map((b) => RECOVERY_ALPHABET[b % RECOVERY_ALPHABET.length]);
  return `${chars.slice(0, 5).join("")}-${chars.slice(5).join("")}`;
}

function normalizeRecoveryCode(code: string): string {
  return code.trim().toLowerCase().replace(/\s+/g, "");
}

const wrongCode = (path: string) => new BadUserInputError([{ path, message: "is not a valid code" }]);

/** What the TOTP service is built on. */
export interface MfaDependencies {
  prisma: PrismaClient;
  kv: KeyValueStore;
  box: SecretBox;
  /** The issuer name authenticator apps show (KAFKEY_TOTP_ISSUER). */
  issuer: string;
  audit: AuditTrail;
  /** Told of every change to a user's record. */
  access: AccessService;
  log: Logger;
  /** Ends the other sessions when TOTP is turned on. */
  sessions: SessionService;
}

/**
 * TOTP two-factor authentication: setting it up, and checking a second factor. A TOTP code works once
 * (its time step is remembered until it can no longer match); a recovery code works once.
 */
export class MfaService {
  constructor(private readonly deps: MfaDependencies) {}

  /**
   * Starts setting TOTP up: a new secret, pending until confirmTotp proves the app has it. The caller
   * re-authenticated (the reauth rule), so that a stolen access token cannot enrol the thief's
   * authenticator.
   */
  async enable(userId: string): Promise<TotpSetup> {
    const user = await this.deps.prisma.user.findUniqueOrThrow({ where: { id: userId } });
    if (user.totpEnabledAt)
      throw new ConflictError("Two-factor authentication is already on", MFA_CONFLICTS.TOTP_ENABLED);
    const secret = newTotpSecret();
    await this.deps.prisma.user.update({ where: { id: userId }, data: { totpSecret: this.deps.box.seal(secret) } });
    await this.deps.access.invalidateUser(userId);
    const otpauthUri = totpUri(secret, this.deps.issuer, user.email);
    return { secret, otpauthUri, qrCodeDataUrl: await QRCode.toDataURL(otpauthUri) };
  }

  /**
   * Turns TOTP on with a first code from the app (through the counted check: guesses here count like
   * everywhere else). Every other session of the user ends: whoever else was signed in did not pass
   * the new factor. @returns the recovery codes, shown once.
   */
  async confirm(userId: string, code: string, keepSessionId: string): Promise<string[]> {
    const user = await this.deps.prisma.user.findUniqueOrThrow({ where: { id: userId } });
    if (user.totpEnabledAt)
      throw new ConflictError("Two-factor authentication is already on", MFA_CONFLICTS.TOTP_ENABLED);
    const secret = user.totpSecret;
    if (!secret) throw new ConflictError("Call enableTotp first", MFA_CONFLICTS.TOTP_NOT_STARTED);
    if (!(await this.counted(userId, () => this.acceptTotp(userId, secret, code.trim())))) throw wrongCode("code");
    const { codes, endedIds } = await this.deps.prisma.$transaction(async (tx) => {
      await tx.user.update({ where: { id: userId }, data: { totpEnabledAt: new Date() } });
      await this.deps.audit.record(onOwnAccount("auth.mfa_enabled", user), tx);
      const codes = await this.replaceRecoveryCodes(tx, userId);
      return {
        codes,
        endedIds: await this.deps.sessions.revokeAllIn(tx, userId, "mfa_enabled", { keep: keepSessionId }),
      };
    });
    await this.deps.access.invalidateUser(userId);
    await this.deps.sessions.ended(endedIds);
    this.deps.log.info("two-factor authentication enabled", {
      event: "auth.mfa_enabled",
      userId,
      endedSessions: endedIds.length,
    });
    return codes;
  }

  /** Turns TOTP off; needs a current code (or a recovery code). */
  async disable(userId: string, code: string): Promise<void> {
    const user = await this.requireSecondFactor(userId, code);
    await this.deps.prisma.$transaction(async (tx) => {
      await tx.user.update({ where: { id: userId }, data: { totpSecret: null, totpEnabledAt: null } });
      await tx.recoveryCode.deleteMany({ where: { userId } });
      await this.deps.audit.record(onOwnAccount("auth.mfa_disabled", user), tx);
    });
    await this.deps.access.invalidateUser(userId);
    this.deps.log.warn("two-factor authentication disabled", { event: "auth.mfa_disabled", userId });
  }

  /** New recovery codes, the old ones void; needs a current code. */
  async regenerateRecoveryCodes(userId: string, code: string): Promise<string[]> {
    const user = await this.requireSecondFactor(userId, code);
    return this.deps.prisma.$transaction(async (tx) => {
      await this.deps.audit.record(onOwnAccount("auth.recovery_codes_regenerated", user), tx);
      return this.replaceRecoveryCodes(tx, userId);
    });
  }

  isEnabled(user: { totpEnabledAt: Date | null }): boolean {
    return user.totpEnabledAt !== null;
  }

  /**
   * Checks a second factor: a TOTP code (once per time step) or an unused recovery code (used up).
   * @returns whether it was accepted.
   */
  async check(userId: string, code: string): Promise<boolean> {
    return this.counted(userId, async () => {
      const user = await this.deps.prisma.user.findUniqueOrThrow({ where: { id: userId } });
      if (!user.totpEnabledAt || !user.totpSecret) return false;
      if (/^\d{6}$/.test(code.trim())) return this.acceptTotp(userId, user.totpSecret, code.trim());
      const used = await this.deps.prisma.recoveryCode.updateMany({
        where: { userId, codeHash: hashToken(normalizeRecoveryCode(code)), usedAt: null },
        data: { usedAt: new Date() },
      });
      if (used.count === 1) {
        this.deps.log.warn("recovery code used", { event: "auth.recovery_code_used", userId });
        await this.deps.audit.record(onOwnAccount("auth.recovery_code_used", user));
      }
      return used.count === 1;
    });
  }

  /**
   * The one counted check every TOTP or recovery code goes through: at most MAX_ATTEMPTS per user and
   * window, right or wrong, whichever mutation and IP they come from. A right code clears the count.
   */
  private async counted(userId: string, verify: () => Promise<boolean>): Promise<boolean> {
    // Counted before the code is looked at (atomically), so parallel guesses cannot slip past the limit.
    const { count } = await this.deps.kv.increment(`mfa:attempts:${userId}`, ATTEMPT_WINDOW_MS);
    if (count > MAX_ATTEMPTS) {
      this.deps.log.warn("second factor attempts over the limit", { event: "security.mfa_throttled", userId });
      return false;
    }
    const ok = await verify();
    if (ok) await this.deps.kv.delete(`mfa:attempts:${userId}`);
    return ok;
  }

  /** @returns the user, whose second factor `code` proved. */
  private async requireSecondFactor(userId: string, code: string): Promise<UserRecord> {
    const user = await this.deps.prisma.user.findUniqueOrThrow({ where: { id: userId } });
    if (!user.totpEnabledAt) throw new ConflictError("Two-factor authentication is off", MFA_CONFLICTS.TOTP_DISABLED);
    if (!(await this.check(userId, code))) throw wrongCode("code");
    return user;
  }

  private async acceptTotp(userId: string, sealedSecret: string, code: string): Promise<boolean> {
    const step = matchTotp(this.deps.box.open(sealedSecret), code);
    if (step === undefined) return false;
    // A step can match for up to three periods (±1 drift): remember it that long, so no code works twice.
    return this.deps.kv.setIfAbsent(`mfa:totp-used:${userId}:${step}`, "1", 120_000);
  }

  private async replaceRecoveryCodes(tx: Prisma.TransactionClient, userId: string): Promise<string[]> {
    const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode);
    await tx.recoveryCode.deleteMany({ where: { userId } });
    await tx.recoveryCode.createMany({ data: codes.map((code) => ({ userId, codeHash: hashToken(code) })) });
    return codes;
  }
}
