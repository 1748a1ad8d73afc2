import type { GraphQLError } from "graphql";
import { type AuditTrail, onOwnAccount } from "../../platform/audit/audit-trail.js";
import type { PrismaClient } from "../../platform/db/database.js";
import type { KeyValueStore } from "../../platform/kv/kv.js";
import type { Mailer } from "../../platform/mail/mailer.js";
import type { Logger } from "../../platform/observability/logger.js";
import { hashToken, MAX_TOKEN_LENGTH, randomToken } from "../../platform/secret-tokens.js";
import { reauthenticationMail } from "../auth/account-mail.js";
import type { Lockout } from "../auth/lockout.js";
import type { Passwords } from "../auth/password.js";
import { AUTH_CONFLICTS } from "../auth/index.js";
import type { MfaService } from "../mfa/index.js";
import { REAUTH_CONFLICTS } from "./reauth.errors.js";
import { type ClientInfo } from "../../kernel/request.js";
import {
  BadUserInputError,
  ConflictError,
  ReauthenticationRequiredError,
  type FieldProblem,
} from "../../kernel/errors.js";
import { type Principal } from "../../kernel/principal.js";

/** How long a step-up proof lets its session change credentials. */
export const PROOF_MS = 5 * 60_000;
/** How long an emailed re-authentication code may wait to be used. */
const EMAIL_CODE_MS = 10 * 60_000;

/** What a caller can offer as proof that they are the account's owner, now. */
export interface ReauthProof {
  currentPassword?: string | null;
  /** A TOTP code or an unused recovery code. */
  mfaCode?: string | null;
  /** The code of a requestReauthenticationCode mail (accounts with neither password nor second factor). */
  emailCode?: string | null;
}

/** The ways an account can re-authenticate, for a frontend to offer. */
export type ReauthMethod = "password" | "totp" | "email";

export interface ReauthDependencies {
  prisma: PrismaClient;
  kv: KeyValueStore;
  passwords: Passwords;
  lockout: Lockout;
  mfa: MfaService;
  mailer: Mailer;
  audit: AuditTrail;
  appUrl: string;
  log: Logger;
}

const proofKey = (sessionId: string) => `reauth:proof:${sessionId}`;
const emailCodeKey = (code: string) => `reauth:email-code:${hashToken(code)}`;

/**
 * Recent re-authentication ("sudo mode"): before a credential is added or removed, the caller proves
 * again that they are the account's owner, in the call or by a step-up of their session within the
 * last five minutes. A stolen access token alone cannot add the thief's way in. Proofs live in the
 * shared store per session: a lost one (a wiped store) only costs a prompt again.
 */
export class ReauthService {
  constructor(private readonly deps: ReauthDependencies) {}

  /**
   * Whether the caller's session may change a credential now: with a proof given in the call (which
   * then counts as a step-up of the session), else with a recent step-up of this session.
   * @returns true, or the error to answer with.
   */
  async check(
    actor: Principal,
    sessionId: string,
    proof: ReauthProof,
    client: ClientInfo,
  ): Promise<true | GraphQLError> {
    if (proof.currentPassword || proof.mfaCode || proof.emailCode) {
      const refused = await this.verify(actor.userId, sessionId, proof, client);
      if (refused) return refused;
      await this.remember(actor.userId, sessionId);
      return true;
    }
    if ((await this.deps.kv.get(proofKey(sessionId))) === actor.userId) return true;
    return new ReauthenticationRequiredError(await this.methods(actor.userId));
  }

  /**
   * Proves the caller again for their session (the password, a second-factor code, or an emailed code).
   * @returns until when credential changes need no further proof.
   */
  async stepUp(actor: Principal, sessionId: string, proof: ReauthProof, client: ClientInfo): Promise<Date> {
    if (!proof.currentPassword && !proof.mfaCode && !proof.emailCode) {
      throw new BadUserInputError([{ path: "currentPassword", message: "or mfaCode or emailCode is required" }]);
    }
    const refused = await this.verify(actor.userId, sessionId, proof, client);
    if (refused) throw refused;
    return this.remember(actor.userId, sessionId);
  }

  /**
   * Mails a one-time code that re-authenticates the calling session, for accounts that have neither a
   * password nor a second factor (they signed up through a provider). Others use those.
   */
  async requestEmailCode(actor: Principal, sessionId: string): Promise<void> {
    const { prisma, kv, mailer, appUrl, log } = this.deps;
    const user = await prisma.user.findUniqueOrThrow({ where: { id: actor.userId } });
    if (user.passwordHash || user.totpEnabledAt) {
      throw new ConflictError(
        "Re-authenticate with your password or second factor",
        REAUTH_CONFLICTS.USE_PASSWORD_OR_SECOND_FACTOR,
      );
    }
    if (!user.emailVerifiedAt) {
      throw new ConflictError("The email address is not verified", AUTH_CONFLICTS.EMAIL_NOT_VERIFIED);
    }
    const code = randomToken();
    await kv.set(emailCodeKey(code), JSON.stringify({ userId: user.id, sessionId }), EMAIL_CODE_MS);
    await mailer
      .send(reauthenticationMail(appUrl, user.email, user.displayName, code, EMAIL_CODE_MS / 60_000))
      .catch((error: unknown) => log.error("re-authentication mail not sent", { userId: user.id, error }));
  }

  /** @returns the refusal, or undefined when the proof is good. */
  private async verify(
    userId: string,
    sessionId: string,
    proof: ReauthProof,
    client: ClientInfo,
  ): Promise<GraphQLError | undefined> {
    const { prisma, passwords, lockout, mfa, kv, log } = this.deps;
    const wrong = (problem: FieldProblem) => new BadUserInputError([problem]);
    const user = await prisma.user.findUniqueOrThrow({ where: { id: userId } });
    if (proof.currentPassword) {
      // Guesses through a stolen token count toward the account's lockout, as at login.
      const password = proof.currentPassword;
      const right = await lockout.counted(user.email, client.ip, user.id, () =>
        passwords.verify(user.passwordHash, password),
      );
      if (!right) {
        log.warn("re-authentication refused", { event: "auth.reauth_failed", userId, method: "password" });
        await this.deps.audit.record({ ...onOwnAccount("auth.reauth_failed", user), outcome: "failure" });
        return wrong({ path: "currentPassword", message: "is not the current password" });
      }
    } else if (proof.mfaCode) {
      // The one counted check of every second-factor code.
      if (!(await mfa.check(userId, proof.mfaCode))) {
        log.warn("re-authentication refused", { event: "auth.reauth_failed", userId, method: "totp" });
        return wrong({ path: "mfaCode", message: "is not a valid code" });
      }
    } else {
      const code = proof.emailCode ?? "";
      const raw = code.length <= MAX_TOKEN_LENGTH ? await kv.get(emailCodeKey(code)) : null;
      const pending = raw ? (JSON.parse(raw) as { userId: string; sessionId: string }) : undefined;
      // Bound to the session that asked for it: a code read by someone else works nowhere else.
      if (
        !pending ||
        pending.userId !== userId ||
        pending.sessionId !== sessionId ||
        !(await kv.take(emailCodeKey(code)))
      ) {
        return wrong({ path: "emailCode", message: "is invalid, used or expired" });
      }
    }
    log.info("re-authenticated", { event: "auth.reauthenticated", userId, sessionId });
    return undefined;
  }

  private async remember(userId: string, sessionId: string): Promise<Date> {
    await this.deps.kv.set(proofKey(sessionId), userId, PROOF_MS);
    return new Date(Date.now() + PROOF_MS);
  }

  /** How this account can re-authenticate. */
  private async methods(userId: string): Promise<ReauthMethod[]> {
    const user = await this.deps.prisma.user.findUnique({
      where: { id: userId },
      select: { passwordHash: true, totpEnabledAt: true },
    });
    const methods: ReauthMethod[] = [];
    if (user?.passwordHash) methods.push("password");
    if (user?.totpEnabledAt) methods.push("totp");
    if (methods.length === 0) methods.push("email");
    return methods;
  }
}
