import { randomUUID } from "node:crypto";
import type { User as UserRecord } from "../../generated/prisma/client.js";
import { type AuditTrail, onOwnAccount } from "../../platform/audit/audit-trail.js";
import type { Prisma, PrismaClient } from "../../platform/db/database.js";
import type { Mailer } from "../../platform/mail/mailer.js";
import type { Logger } from "../../platform/observability/logger.js";
import { type AccessService } from "../permissions/index.js";
import type { SessionService } from "../sessions/index.js";
import { normalizeEmail } from "../users/index.js";
import { linkedAccountMail, passwordResetMail, verificationMail } from "./account-mail.js";
import { removeLinkedAccounts, removePasskeys } from "./linked-accounts.js";
import type { Lockout } from "./lockout.js";
import type { OneTimeTokens } from "./one-time-tokens.js";
import { checkPasswordPolicy, type Passwords } from "./password.js";
import { type ClientInfo } from "../../kernel/request.js";
import { BadUserInputError } from "../../kernel/errors.js";

const VERIFICATION_HOURS = 24;
const RESET_MINUTES = 60;

export interface AccountEmailDependencies {
  prisma: PrismaClient;
  tokens: OneTimeTokens;
  mailer: Mailer;
  passwords: Passwords;
  sessions: SessionService;
  lockout: Lockout;
  audit: AuditTrail;
  /** Told of every change to a user's record. */
  access: AccessService;
  appUrl: string;
  log: Logger;
}

const invalidToken = () => new BadUserInputError([{ path: "token", message: "is invalid, used or expired" }]);

/** What a user proves by reading their mail: that the address is theirs, and their right to a new password. */
export class AccountEmailService {
  constructor(private readonly deps: AccountEmailDependencies) {}

  /**
   * Mails a verification link (24 h). A mail that cannot be sent is logged, not thrown: the account
   * exists either way, and the user can ask for another.
   */
  async sendVerification(user: Pick<UserRecord, "id" | "email" | "displayName" | "emailVerifiedAt">): Promise<void> {
    if (user.emailVerifiedAt) return;
    const { tokens, mailer, appUrl, log } = this.deps;
    const token = await tokens.issue(user.id, "email_verification", VERIFICATION_HOURS * 3600);
    await mailer
      .send(verificationMail(appUrl, user.email, user.displayName, token, VERIFICATION_HOURS))
      .catch((error: unknown) => log.error("verification mail not sent", { userId: user.id, error }));
  }

  async resendVerification(userId: string): Promise<void> {
    await this.sendVerification(await this.deps.prisma.user.findUniqueOrThrow({ where: { id: userId } }));
  }

  /** Marks the token's email address verified. */
  async verifyEmail(token: string): Promise<UserRecord> {
    const userId = await this.deps.tokens.consume(token, "email_verification");
    if (!userId) throw invalidToken();
    const user = await this.deps.prisma.$transaction(async (tx) => {
      const verified = await tx.user.update({ where: { id: userId }, data: { emailVerifiedAt: new Date() } });
      await this.deps.audit.record(onOwnAccount("auth.email_verified", verified), tx);
      return verified;
    });
    await this.deps.access.invalidateUser(userId);
    this.deps.log.info("email verified", { event: "auth.email_verified", userId });
    return user;
  }

  /** Mails a reset link when the account exists and is active; says nothing either way. */
  async requestPasswordReset(rawEmail: string, client: ClientInfo): Promise<void> {
    const { prisma, tokens, mailer, appUrl, log } = this.deps;
    const found = await prisma.user.findUnique({ where: { email: normalizeEmail(rawEmail) } });
    // A service account has no password to reset (nor a mailbox).
    const user = found?.kind === "human" ? found : null;
    log.info("password reset requested", { event: "auth.reset_requested", userId: user?.id, ip: client.ip });
    if (!user || user.status !== "active") return;
    // Not awaited: the answer must take as long for an unknown email as for a real one.
    void tokens
      .issue(user.id, "password_reset", RESET_MINUTES * 60)
      .then((token) => mailer.send(passwordResetMail(appUrl, user.email, user.displayName, token, RESET_MINUTES)))
      .catch((error: unknown) => log.error("password reset mail not sent", { userId: user.id, error }));
  }

  /**
   * Sets a new password with a reset token. The policy is checked before the token is used up; then
   * every session ends and any lockout is lifted. Reading the mail proved the address, too.
   */
  async resetPassword(token: string, newPassword: string): Promise<void> {
    const { prisma, tokens, passwords, sessions, lockout, log } = this.deps;
    const userId = await tokens.peek(token, "password_reset");
    if (!userId) throw invalidToken();
    const user = await prisma.user.findUniqueOrThrow({ where: { id: userId } });
    const problems = checkPasswordPolicy(newPassword, user.email, "newPassword");
    if (problems.length > 0) throw new BadUserInputError(problems);
    const passwordHash = await passwords.hash(newPassword);
    // The token, the new password and the end of every session commit together: a crash between
    // them leaves neither a used token without its password nor a session of the old password.
    const endedIds = await prisma.$transaction(async (tx) => {
      if ((await tokens.consume(token, "password_reset", tx)) !== userId) throw invalidToken();
      // Reading the mail proved the mailbox, not what was added to the account before anyone had: every
      // linked identity goes (a squatter's among them), and while the address was unverified the second
      // factor and the passkeys too. On a verified account the second factor stays: a reset must not bypass it. The new
      // stamp voids pending link flows, link codes and MFA challenges.
      const removeSecondFactor = !user.emailVerifiedAt && user.totpSecret !== null;
      await tx.user.update({
        where: { id: userId },
        data: {
          passwordHash,
          emailVerifiedAt: user.emailVerifiedAt ?? new Date(),
          securityStamp: randomUUID(),
          ...(removeSecondFactor ? { totpSecret: null, totpEnabledAt: null } : {}),
        },
      });
      await this.deps.audit.record(onOwnAccount("auth.password_reset", user), tx);
      await removeLinkedAccounts(tx, this.deps.audit, user, "password_reset");
      // A passkey is a door too: one registered while the address was unverified may be a squatter's.
      if (!user.emailVerifiedAt) await removePasskeys(tx, this.deps.audit, user);
      if (removeSecondFactor) {
        await tx.recoveryCode.deleteMany({ where: { userId } });
        if (user.totpEnabledAt) await this.deps.audit.record(onOwnAccount("auth.mfa_disabled", user), tx);
      }
      return sessions.revokeAllIn(tx, userId, "password_reset");
    });
    await this.deps.access.invalidateUser(userId);
    await sessions.ended(endedIds);
    const ended = endedIds.length;
    await lockout.unlock(user.email);
    log.info("password reset", { event: "auth.password_reset", userId, endedSessions: ended });
  }

  /** Voids the user's pending reset links, in `tx`: a password change supersedes them. */
  voidResets(tx: Prisma.TransactionClient, userId: string): Promise<void> {
    return this.deps.tokens.voidAll(tx, userId, ["password_reset"]);
  }

  /** Mails the user that `providers` were unlinked; a mail that fails is logged. */
  async tellUnlinked(user: { id: string; email: string; displayName: string }, providers: string[]): Promise<void> {
    for (const provider of providers) {
      await this.deps.mailer
        .send(linkedAccountMail(this.deps.appUrl, user.email, user.displayName, { provider, linked: false }))
        .catch((error: unknown) => this.deps.log.error("unlink mail not sent", { userId: user.id, error }));
    }
  }
}
