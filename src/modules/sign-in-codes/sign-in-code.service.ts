import { randomInt, randomUUID, timingSafeEqual } from "node:crypto";
import { type AuditEntry, type AuditTrail, onOwnAccount } from "../../platform/audit/audit-trail.js";
import type { Prisma, PrismaClient } from "../../platform/db/database.js";
import { keyDigest, type KeyValueStore } from "../../platform/kv/kv.js";
import type { Mailer } from "../../platform/mail/mailer.js";
import type { Logger } from "../../platform/observability/logger.js";
import { hashToken, MAX_TOKEN_LENGTH, randomToken } from "../../platform/secret-tokens.js";
import type { ClientInfo } from "../../kernel/request.js";
import { BadUserInputError } from "../../kernel/errors.js";
import {
  type AuthResult,
  type AuthService,
  type Lockout,
  removeLinkedAccounts,
  removePasskeys,
} from "../auth/index.js";
import { type AccessService } from "../permissions/index.js";
import type { SessionService } from "../sessions/index.js";
import { normalizeEmail } from "../users/index.js";
import { EmailSignInOffError, invalidCode, invalidLink } from "./sign-in-code.errors.js";
import { signInCodeMail } from "./sign-in-code.mail.js";

/** How long a mailed code and its link work. */
const CODE_MINUTES = 10;
/** Wrong codes after which a code (and its link) die. */
const MAX_WRONG_CODES = 5;
/** Mails one address may be sent per window: past it, requests still answer true and send nothing. */
const MAX_MAILS_PER_ADDRESS = 3;
const MAIL_WINDOW_MS = 15 * 60_000;

/** What a sign-in form's email field may hold: an address (never logged or audited otherwise). */
const EMAIL_SHAPE = /^[^\s@]{1,64}@[^\s@]{1,189}$/;

export interface SignInCodeOptions {
  /** KAFKEY_EMAIL_SIGN_IN: off, every mutation answers FORBIDDEN (reason EMAIL_SIGN_IN_OFF). */
  enabled: boolean;
  /** KAFKEY_EMAIL_SIGN_IN_COUNTS_AS_SECOND_FACTOR: a code or link skips the TOTP step. */
  countsAsSecondFactor: boolean;
  /** The page the mailed link opens (KAFKEY_EMAIL_SIGN_IN_URL, or the app's `/sign-in/email`). */
  pageUrl: string;
}

export interface SignInCodeDependencies {
  prisma: PrismaClient;
  /** The shared store: the per-address mail limit counts over every instance. */
  kv: KeyValueStore;
  mailer: Mailer;
  lockout: Lockout;
  sessions: SessionService;
  /** Told of every change to a user's record. */
  access: AccessService;
  audit: AuditTrail;
  /** Starts the session (and asks for the second factor) once the mailbox is proven. */
  auth: Pick<AuthService, "signInProven">;
  options: SignInCodeOptions;
  log: Logger;
}

/** The row a code or link was consumed from. */
interface Proven {
  userId: string;
}

/** What is stored in place of a code: bound to its user, so equal codes of two users differ. */
function codeHash(userId: string, code: string): string {
  return hashToken(`${userId}:${code}`);
}

/** Whether two hex digests are equal, in time that does not depend on where they differ. */
function sameDigest(a: string, b: string): boolean {
  const left = Buffer.from(a, "hex");
  const right = Buffer.from(b, "hex");
  return left.length === right.length && timingSafeEqual(left, right);
}

/** A digest no code hashes to: compared against when there is no pending code, to do the same work. */
const NO_CODE = hashToken("no pending sign-in code");

/** The audit event of an email sign-in attempt; what was typed is recorded only when it is an address. */
function attempted(action: string, email: string, userId: string | null): AuditEntry {
  return {
    action,
    outcome: "failure",
    actor: { id: userId, email: EMAIL_SHAPE.test(email) ? email : null },
    target: userId === null ? undefined : { type: "user", id: userId },
  };
}

/**
 * Sign-in with a code or a link mailed to the account's address. The code and the link of one request
 * share one row of `sign_in_codes` (hashes only), so they die together; a new request overwrites it.
 * Using either proves the mailbox: an unverified address becomes verified, under the password reset's
 * rule for what was set on the account before anyone had proven it.
 */
export class SignInCodeService {
  constructor(private readonly deps: SignInCodeDependencies) {}

  /**
   * Mails a code and a link when the address is an active person's account; says nothing either way.
   * Every address is counted (the same work for unknown ones); past the limit nothing is sent, and that
   * is logged. The lookup and the mail run after the answer, so its timing tells nothing either.
   */
  async request(rawEmail: string, client: ClientInfo): Promise<void> {
    const { kv, log } = this.deps;
    this.requireOn();
    const email = normalizeEmail(rawEmail);
    if (!EMAIL_SHAPE.test(email)) throw new BadUserInputError([{ path: "email", message: "is not an email address" }]);
    const account = keyDigest(email);
    const { count } = await kv.increment(`sign-in-codes:mails:${account}`, MAIL_WINDOW_MS);
    if (count > MAX_MAILS_PER_ADDRESS) {
      log.warn("sign-in code not sent: too many requests for the address", {
        event: "auth.sign_in_code_limited",
        account,
        ip: client.ip,
      });
      return;
    }
    log.info("sign-in code requested", { event: "auth.sign_in_code_requested", account, ip: client.ip });
    void this.issue(email).catch((error: unknown) => log.error("sign-in code mail not sent", { account, error }));
  }

  /** Stores a new code and link for the address's user (voiding the previous ones), and mails them. */
  private async issue(email: string): Promise<void> {
    const { prisma, mailer, options, log } = this.deps;
    const user = await prisma.user.findUnique({ where: { email } });
    // A service account has no mailbox; a disabled account may not sign in.
    if (!user || user.kind !== "human" || user.status !== "active") return;
    const code = String(randomInt(0, 1_000_000)).padStart(6, "0");
    const token = randomToken();
    const expiresAt = new Date(Date.now() + CODE_MINUTES * 60_000);
    // One row per user: the new code and link replace the previous ones in one statement.
    await prisma.$executeRaw`
      INSERT INTO "sign_in_codes" ("user_id", "code_hash", "link_token_hash", "expires_at")
      VALUES (${user.id}::uuid, ${codeHash(user.id, code)}, ${hashToken(token)}, ${expiresAt})
      ON CONFLICT ("user_id") DO UPDATE SET
        "code_hash" = EXCLUDED."code_hash",
        "link_token_hash" = EXCLUDED."link_token_hash",
        "expires_at" = EXCLUDED."expires_at",
        "failures" = 0,
        "used_at" = NULL,
        "created_at" = CURRENT_TIMESTAMP`;
    await mailer.send(signInCodeMail(options.pageUrl, user.email, user.displayName, { code, token }, CODE_MINUTES));
    log.info("sign-in code sent", { event: "auth.sign_in_code_sent", userId: user.id });
  }

  /**
   * Signs in with the mailed code. Each try is counted against the account and the IP like a password
   * (refused unchecked while locked); a code dies after five wrong ones, and works once.
   */
  async signInWithCode(rawEmail: string, code: string, client: ClientInfo): Promise<AuthResult> {
    const { prisma, lockout, log, audit } = this.deps;
    this.requireOn();
    const email = normalizeEmail(rawEmail);
    // Counted before the code is looked at: parallel guesses cannot slip past the threshold.
    const attempt = await lockout.admit(email, client.ip);
    if (!attempt) {
      log.warn("code sign-in refused: locked out", { event: "auth.code_login_locked", account: keyDigest(email) });
      await audit.record(attempted("auth.code_login_locked", email, null));
      throw invalidCode();
    }
    const found = await prisma.user.findUnique({
      where: { email },
      select: {
        id: true,
        kind: true,
        signInCode: { select: { id: true, codeHash: true, usedAt: true, expiresAt: true } },
      },
    });
    const user = found?.kind === "human" ? found : null;
    const row = user?.signInCode;
    const pending = row && row.usedAt === null && row.expiresAt > new Date() ? row : null;
    const given = user && code.length <= 16 ? codeHash(user.id, code) : NO_CODE;
    const right = sameDigest(given, pending?.codeHash ?? NO_CODE) && pending !== null;
    if (!user || !pending || !right) {
      await lockout.failed(attempt, user?.id);
      if (pending) await this.countWrong(pending.id);
      log.warn("code sign-in failed", { event: "auth.code_login_failed", userId: user?.id, ip: client.ip });
      await audit.record(attempted("auth.code_login_failed", email, user?.id ?? null));
      throw invalidCode();
    }
    const proven = await this.consume({ id: pending.id, codeHash: pending.codeHash });
    if (!proven) {
      // The right code, used a moment ago by a concurrent try (or replaced by a new request): no guess.
      await lockout.withdrawn(attempt);
      throw invalidCode();
    }
    const result = await this.signIn(proven, "auth.code_login", client);
    // A second factor still due: the right code was no guess, but the count of wrong ones stays.
    await (result.mfaRequired ? lockout.withdrawn(attempt) : lockout.succeeded(attempt));
    return result;
  }

  /**
   * Signs in with the mailed link's token. Its 256 bits cannot be guessed, so it is not counted against
   * the account: the owner can sign in with it while someone else's wrong passwords hold the account
   * locked (the shield's per-IP limit still applies).
   */
  async signInWithLink(token: string, client: ClientInfo): Promise<AuthResult> {
    this.requireOn();
    if (token.length > MAX_TOKEN_LENGTH) throw invalidLink();
    const proven = await this.consume({ linkTokenHash: hashToken(token) });
    if (!proven) {
      this.deps.log.warn("link sign-in failed", { event: "auth.link_login_failed", ip: client.ip });
      throw invalidLink();
    }
    return this.signIn(proven, "auth.link_login", client);
  }

  private requireOn(): void {
    if (!this.deps.options.enabled) throw new EmailSignInOffError();
  }

  /** Counts a wrong code against its row; the one that reaches the limit kills the code and its link. */
  private async countWrong(id: string): Promise<void> {
    const { prisma } = this.deps;
    const [counted] = await prisma.signInCode.updateManyAndReturn({
      where: { id, usedAt: null },
      data: { failures: { increment: 1 } },
      select: { failures: true },
    });
    if (!counted || counted.failures < MAX_WRONG_CODES) return;
    // Only while still at the limit: a new request in between reset the count, and its code lives.
    await prisma.signInCode.updateMany({
      where: { id, usedAt: null, failures: { gte: MAX_WRONG_CODES } },
      data: { usedAt: new Date() },
    });
  }

  /**
   * Uses up the row `where` names, in one statement (of two concurrent uses, one finds it unused), and
   * in the same transaction proves the user's mailbox.
   * @returns the user, or undefined when the row is used, expired or gone.
   */
  private async consume(where: { id: string; codeHash: string } | { linkTokenHash: string }): Promise<Proven | null> {
    const { prisma, access, sessions } = this.deps;
    const outcome = await prisma.$transaction(async (tx) => {
      const now = new Date();
      const [used] = await tx.signInCode.updateManyAndReturn({
        // A user disabled since the mail was sent does not get in (nor has what was set stripped).
        where: { ...where, usedAt: null, expiresAt: { gt: now }, user: { is: { status: "active" } } },
        data: { usedAt: now },
        select: { userId: true },
      });
      if (!used) return null;
      return { userId: used.userId, ...(await this.proveMailbox(tx, used.userId)) };
    });
    if (!outcome) return null;
    if (outcome.verified) {
      await access.invalidateUser(outcome.userId);
      await sessions.ended(outcome.endedIds);
    }
    return { userId: outcome.userId };
  }

  /**
   * Reading the mail proved the mailbox. On an unverified account that is the password reset's rule
   * (account-email.service.ts resetPassword): the proof covers the address, not what was set on the
   * account before anyone had proven it, which may be a squatter's. So the address becomes verified and
   * the password, every linked identity, the passkeys and the second factor go, every session ends and
   * the security stamp turns (voiding pending link flows and MFA challenges). A verified account keeps
   * everything: its second factor is then still asked for.
   */
  private async proveMailbox(
    tx: Prisma.TransactionClient,
    userId: string,
  ): Promise<{ verified: boolean; endedIds: string[] }> {
    const { audit, sessions } = this.deps;
    const user = await tx.user.findUniqueOrThrow({ where: { id: userId } });
    if (user.emailVerifiedAt) return { verified: false, endedIds: [] };
    const removeSecondFactor = user.totpSecret !== null;
    await tx.user.update({
      where: { id: userId },
      data: {
        emailVerifiedAt: new Date(),
        passwordHash: null,
        securityStamp: randomUUID(),
        ...(removeSecondFactor ? { totpSecret: null, totpEnabledAt: null } : {}),
      },
    });
    await audit.record(onOwnAccount("auth.email_verified", user), tx);
    if (user.passwordHash) await audit.record(onOwnAccount("auth.password_removed", user), tx);
    await removeLinkedAccounts(tx, audit, user, "email_sign_in");
    await removePasskeys(tx, audit, user);
    if (removeSecondFactor) {
      await tx.recoveryCode.deleteMany({ where: { userId } });
      if (user.totpEnabledAt) await audit.record(onOwnAccount("auth.mfa_disabled", user), tx);
    }
    const endedIds = await sessions.revokeAllIn(tx, userId, "revoked");
    return { verified: true, endedIds };
  }

  private signIn(proven: Proven, action: "auth.code_login" | "auth.link_login", client: ClientInfo) {
    return this.deps.auth.signInProven(
      proven.userId,
      {
        action,
        credential: { type: "user", id: proven.userId },
        twoFactors: this.deps.options.countsAsSecondFactor,
      },
      client,
    );
  }
}
