import type { User as UserRecord } from "../../generated/prisma/client.js";
import { changesBetween } from "../../platform/audit/audit-event.js";
import { type AuditEntry, type AuditTrail, onOwnAccount } from "../../platform/audit/audit-trail.js";
import type { Prisma, PrismaClient } from "../../platform/db/database.js";
import type { Logger } from "../../platform/observability/logger.js";
import { type AccessService } from "../permissions/index.js";
import type { IssuedRefreshToken, SessionService } from "../sessions/index.js";
import { normalizeEmail, type UserService } from "../users/index.js";
import { type AccessTokens } from "./access-tokens.js";
import type { AccountEmailService } from "./account-email.service.js";
import type { MfaService } from "../mfa/index.js";
import type { KeyValueStore } from "../../platform/kv/kv.js";
import { hashToken, MAX_TOKEN_LENGTH, randomToken } from "../../platform/secret-tokens.js";
import { AUTH_CONFLICTS } from "./auth.errors.js";
import type { SignUpInput } from "./auth.inputs.js";
import type { Lockout } from "./lockout.js";
import { removeLinkedAccounts } from "./linked-accounts.js";
import { checkPasswordPolicy, type Passwords } from "./password.js";
import { type ClientInfo } from "../../kernel/request.js";
import {
  AccountDisabledError,
  BadUserInputError,
  ConflictError,
  EmailNotVerifiedError,
  NotFoundError,
  UnauthenticatedError,
} from "../../kernel/errors.js";
import { asActor, type Principal, type VerifiedAccessToken } from "../../kernel/principal.js";
import { profileOf, type UserProfile } from "../../kernel/user-profile.js";
import { SystemRole } from "../../kernel/permission-catalog.js";

export interface SignedIn {
  mfaRequired: false;
  emailVerificationRequired: false;
  user: UserProfile;
  accessToken: string;
  accessTokenExpiresAt: Date;
  refreshToken: string;
  refreshTokenExpiresAt: Date;
}

/** The password was right; a second factor is due before any token is issued. */
export interface MfaChallenge {
  mfaRequired: true;
  emailVerificationRequired: false;
  mfaToken: string;
}

/** A sign-up where verified emails are required: no session until the mailed link is followed. */
export interface VerificationRequired {
  mfaRequired: false;
  emailVerificationRequired: true;
  user: UserProfile;
}

export type AuthResult = SignedIn | MfaChallenge | VerificationRequired;

/** How long a login may wait for its second factor, and how many wrong codes it may take. */
const MFA_CHALLENGE_MS = 5 * 60_000;
const MFA_MAX_FAILURES = 5;

/** How a user proved who they are, for `signInProven`. */
export interface SignInProof {
  /** The audit action of the sign-in: `auth.social_login`, `auth.passkey_login`, ... */
  action: string;
  /** The credential used, the target of the audit event. */
  credential: { type: string; id: string };
  /** Whether the proof was two factors (a passkey with user verification): no second factor asked. */
  twoFactors?: boolean;
}

/** A second factor for verifyMfa: a TOTP or recovery code, or a passkey's answer; exactly one. */
export interface MfaProof {
  code?: string;
  /** The browser's answer to passkeyMfaOptions (WebAuthn JSON). */
  webauthn?: unknown;
}

/** Passkeys as a second factor (the passkeys module's PasskeyService). */
export interface PasskeySecondFactor {
  /** @returns whether `response` is a valid answer by one of the user's passkeys; false is counted as wrong. */
  checkSecondFactor(userId: string, response: unknown): Promise<boolean>;
}

/** A provider identity a new account signs in with instead of a password. */
export interface NewSocialAccount {
  provider: string;
  providerUserId: string;
  email: string | null;
  emailVerified: boolean;
}

export interface NewAccount {
  email: string;
  /** Omitted for an account that signs in through a provider (`socialAccount`) only. */
  password?: string;
  socialAccount?: NewSocialAccount;
  displayName: string;
  /** System role names to grant. */
  roles: string[];
  /** The address is known good (the operator's own configuration), not to be verified by mail. */
  emailVerified?: boolean;
  /** Created from the operator's configuration (the first admin), not by the user signing up. */
  byOperator?: boolean;
  /** An organization invitation to accept with the account, in the same transaction. */
  invitationToken?: string;
}

/** A new account whose password was checked and hashed, ready to be written. */
type PreparedAccount = Omit<NewAccount, "password" | "email"> & { email: string; passwordHash: string | null };

/** Accepting organization invitations (the organizations module's MemberService). */
export interface Invitations {
  findPending(token: string): Promise<{ email: string }>;
  accept(user: { id: string; email: string }, token: string, tx: Prisma.TransactionClient): Promise<string>;
}

export interface AuthDependencies {
  prisma: PrismaClient;
  passwords: Passwords;
  tokens: AccessTokens;
  sessions: SessionService;
  lockout: Lockout;
  accountEmail: AccountEmailService;
  mfa: MfaService;
  kv: KeyValueStore;
  audit: AuditTrail;
  /** Told of every change to a user's record. */
  access: AccessService;
  /** Decides whom an actor may manage (unlocking another user). */
  users: UserService;
  invitations: Invitations;
  /** Passkeys as a second factor; without them, verifyMfa takes codes only. */
  passkeys?: PasskeySecondFactor;
  /** Refuse logins until the email is verified. */
  requireVerifiedEmail: boolean;
  log: Logger;
}

const invalidCredentials = () => new UnauthenticatedError("Invalid email or password");

/** What a sign-in form's email field may hold to be recorded as typed: an address, not a password. */
const EMAIL_SHAPE = /^[^\s@]{1,64}@[^\s@]{1,189}$/;

/**
 * The audit event of a sign-in attempt for `email`, by the account's user if there is one. What was
 * typed is recorded only when it has the shape of an address: a password typed into the email field
 * stays out of the trail.
 */
function signIn(action: string, email: string, userId: string | null, outcome: AuditEntry["outcome"]): AuditEntry {
  return {
    action,
    outcome,
    actor: { id: userId, email: EMAIL_SHAPE.test(email) ? email : null },
    target: userId === null ? undefined : { type: "user", id: userId },
  };
}

/** Sign-up, password login, token refresh, logout and password changes. */
export class AuthService {
  constructor(private readonly deps: AuthDependencies) {}

  /**
   * Creates an account with a password, or with a provider identity. A duplicate email fails with
   * CONFLICT.
   */
  async createAccount(account: NewAccount): Promise<UserRecord> {
    const prepared = await this.prepareAccount(account);
    return this.deps.prisma.$transaction((tx) => this.insertAccount(tx, prepared));
  }

  /** Checks the password against the policy and hashes it: the slow part, before any transaction. */
  private async prepareAccount(account: NewAccount): Promise<PreparedAccount> {
    const email = normalizeEmail(account.email);
    let passwordHash: string | null = null;
    if (account.password !== undefined) {
      const problems = checkPasswordPolicy(account.password, email);
      if (problems.length > 0) throw new BadUserInputError(problems);
      passwordHash = await this.deps.passwords.hash(account.password);
    }
    return { ...account, email, passwordHash };
  }

  /** Writes the account, its roles, its audit event and an invitation's acceptance, in `tx`. */
  private async insertAccount(tx: Prisma.TransactionClient, account: PreparedAccount): Promise<UserRecord> {
    const { email } = account;
    const roles = await tx.role.findMany({
      where: { name: { in: account.roles }, organizationId: null },
      select: { id: true },
    });
    const user = await tx.user.create({
      data: {
        email,
        displayName: account.displayName.trim().slice(0, 100) || email,
        passwordHash: account.passwordHash,
        emailVerifiedAt: account.emailVerified ? new Date() : null,
        roles: { create: roles.map((role) => ({ roleId: role.id })) },
        // The identity the account is made with: it may sign in before the email is verified.
        socialAccounts: account.socialAccount
          ? { create: { ...account.socialAccount, signedUpWith: true } }
          : undefined,
      },
    });
    const created = { ...user, roles: [...account.roles].sort(), signInProvider: account.socialAccount?.provider };
    await this.deps.audit.record(
      {
        action: "user.created",
        actor: account.byOperator ? undefined : { id: user.id, email },
        target: { type: "user", id: user.id },
        changes: changesBetween(null, created, ["email", "displayName", "emailVerifiedAt", "roles", "signInProvider"]),
      },
      tx,
    );
    if (account.invitationToken !== undefined) await this.deps.invitations.accept(user, account.invitationToken, tx);
    return user;
  }

  /**
   * Creates an account and signs it in. With an invitation sent to its address, the account joins the
   * organization, and its address counts as verified: the invitation came to it. Where verified emails
   * are required, an unverified account gets no session (it could not sign in either): the answer is
   * emailVerificationRequired, and the mailed link comes first.
   */
  async signUp(input: SignUpInput, client: ClientInfo): Promise<SignedIn | VerificationRequired> {
    const { invitationToken, ...fields } = input;
    if (invitationToken !== undefined) {
      const invitation = await this.deps.invitations.findPending(invitationToken);
      if (invitation.email !== normalizeEmail(input.email)) {
        throw new BadUserInputError([{ path: "invitationToken", message: "was sent to another email address" }]);
      }
    }
    const prepared = await this.prepareAccount({
      ...fields,
      roles: [SystemRole.USER],
      emailVerified: invitationToken !== undefined,
      invitationToken,
    });
    // The account, its audit event and its first session commit together, or none of them: a sign-up
    // that answers an error has created nothing, and its retry does not meet a CONFLICT.
    const withSession = !this.deps.requireVerifiedEmail || prepared.emailVerified === true;
    const { user, session } = await this.deps.prisma.$transaction(async (tx) => {
      const user = await this.insertAccount(tx, prepared);
      return { user, session: withSession ? await this.deps.sessions.start(user.id, client, undefined, tx) : null };
    });
    this.deps.log.info("user signed up", { event: "auth.signup", userId: user.id, ip: client.ip });
    await this.deps.accountEmail.sendVerification(user);
    if (!session) return { mfaRequired: false, emailVerificationRequired: true, user: profileOf(user) };
    return this.result(user, session);
  }

  /**
   * Password login. A wrong password, an unknown email and a locked account or IP all get the same
   * answer after the same work, so none of them tells an attacker anything.
   */
  async login(rawEmail: string, password: string, client: ClientInfo): Promise<AuthResult> {
    const { prisma, passwords, lockout, log } = this.deps;
    const email = normalizeEmail(rawEmail);
    // Counted before the password is looked at: parallel guesses cannot slip past the threshold.
    const attempt = await lockout.admit(email, client.ip);
    if (!attempt) {
      await passwords.verify(null, password);
      log.warn("login refused: locked out", { event: "auth.login_locked", email, ip: client.ip });
      await this.deps.audit.record(signIn("auth.login_locked", email, null, "failure"));
      throw invalidCredentials();
    }
    const found = await prisma.user.findUnique({ where: { email } });
    // A service account signs in only with its API keys: to login, it is no account.
    const user = found?.kind === "human" ? found : null;
    if (!(await passwords.verify(user?.passwordHash, password)) || !user?.passwordHash) {
      await lockout.failed(attempt, user?.id);
      log.warn("login failed", { event: "auth.login_failed", email, ip: client.ip });
      await this.deps.audit.record(signIn("auth.login_failed", email, user?.id ?? null, "failure"));
      throw invalidCredentials();
    }
    // The password was right: whatever stops the sign-in now, this was no guess.
    if (
      user.status !== "active" ||
      (this.deps.requireVerifiedEmail && !user.emailVerifiedAt) ||
      this.deps.mfa.isEnabled(user)
    ) {
      await lockout.withdrawn(attempt);
    }
    if (user.status !== "active") {
      log.warn("login refused: account disabled", { event: "auth.login_disabled", userId: user.id, ip: client.ip });
      await this.deps.audit.record(signIn("auth.login_disabled", email, user.id, "failure"));
      throw new AccountDisabledError();
    }
    if (this.deps.requireVerifiedEmail && !user.emailVerifiedAt) {
      await this.deps.audit.record(signIn("auth.login_unverified", email, user.id, "failure"));
      throw new EmailNotVerifiedError();
    }
    if (passwords.needsRehash(user.passwordHash)) {
      await prisma.user.update({ where: { id: user.id }, data: { passwordHash: await passwords.hash(password) } });
      await this.deps.access.invalidateUser(user.id);
    }
    if (this.deps.mfa.isEnabled(user)) {
      // Failures are not cleared: a right password must not reset the count of wrong codes.
      log.info("login: second factor required", { event: "auth.mfa_challenge", userId: user.id, ip: client.ip });
      return this.challenge(user);
    }
    await lockout.succeeded(attempt);
    log.info("login succeeded", { event: "auth.login", userId: user.id, ip: client.ip });
    return this.signedIn(user, client);
  }

  /** The user a pending MFA challenge (login's mfaToken) is for; null when unknown or expired. */
  async pendingMfaUser(mfaToken: string): Promise<string | null> {
    if (mfaToken.length > MAX_TOKEN_LENGTH) return null;
    const pending = await this.deps.kv.get(`mfa:challenge:${hashToken(mfaToken)}`);
    return pending ? (JSON.parse(pending) as { userId: string }).userId : null;
  }

  /**
   * Completes a login with a TOTP code, a recovery code or a passkey (exactly one). Wrong ones count
   * toward the account's lockout, and a challenge dies after five of them; a right one works once.
   */
  async verifyMfa(mfaToken: string, proof: MfaProof, client: ClientInfo): Promise<SignedIn> {
    const { kv, mfa, lockout, prisma, log } = this.deps;
    const { code, webauthn } = proof;
    if ((code === undefined) === (webauthn === undefined)) {
      throw new BadUserInputError([{ path: "code", message: "or webauthn is required, not both" }]);
    }
    const invalid = () => new UnauthenticatedError("Invalid or expired MFA token or code");
    if (mfaToken.length > MAX_TOKEN_LENGTH) throw invalid();
    const key = `mfa:challenge:${hashToken(mfaToken)}`;
    const pending = await kv.get(key);
    if (!pending) throw invalid();
    const { userId, email, stamp } = JSON.parse(pending) as { userId: string; email: string; stamp: string };
    const attempt = await lockout.admit(email, client.ip);
    if (!attempt) throw invalid();
    const passkeys = this.deps.passkeys;
    const right =
      code !== undefined
        ? await mfa.check(userId, code)
        : passkeys !== undefined && (await passkeys.checkSecondFactor(userId, webauthn));
    if (!right) {
      await lockout.failed(attempt, userId);
      const { count } = await kv.increment(`${key}:failures`, MFA_CHALLENGE_MS);
      if (count >= MFA_MAX_FAILURES) await kv.delete(key);
      log.warn("second factor refused", { event: "auth.mfa_failed", userId, ip: client.ip });
      await this.deps.audit.record(signIn("auth.mfa_failed", email, userId, "failure"));
      throw invalid();
    }
    if ((await kv.take(key)) === null) throw invalid();
    const user = await prisma.user.findUniqueOrThrow({ where: { id: userId } });
    // A password reset since the challenge was made voids it.
    if (user.securityStamp !== stamp) throw invalid();
    if (user.status !== "active") throw new AccountDisabledError();
    await lockout.succeeded(attempt);
    log.info("login succeeded", { event: "auth.login", userId, ip: client.ip, mfa: true });
    return this.signedIn(user, client);
  }

  /** Starts a session for a user who proved who they are, recording the sign-in (`audit`) with it. */
  private async signedIn(
    user: UserRecord,
    client: ClientInfo,
    audit: AuditEntry = signIn("auth.login", user.email, user.id, "success"),
  ): Promise<SignedIn> {
    return this.result(user, await this.deps.sessions.start(user.id, client, audit));
  }

  /**
   * Signs in a user who proved who they are some other way than a password (an OAuth provider, a
   * passkey, a mailed code): the same checks as a password login (a person, active, verified email when
   * required), and the second factor when they have one, unless `proof` already counts as two factors
   * (a passkey with user verification).
   * @param proof what the sign-in is audited as (its action and the credential used), and whether it
   * was two factors.
   */
  async signInProven(userId: string, proof: SignInProof, client: ClientInfo): Promise<AuthResult> {
    const user = await this.deps.prisma.user.findUnique({ where: { id: userId } });
    if (!user || user.kind !== "human" || user.status !== "active") throw new AccountDisabledError();
    if (this.deps.requireVerifiedEmail && !user.emailVerifiedAt) throw new EmailNotVerifiedError();
    if (this.deps.mfa.isEnabled(user) && !proof.twoFactors) return this.challenge(user);
    this.deps.log.info("login succeeded", { event: proof.action, userId, ip: client.ip });
    return this.signedIn(user, client, {
      action: proof.action,
      actor: { id: user.id, email: user.email },
      target: proof.credential,
    });
  }

  private async challenge(user: UserRecord): Promise<MfaChallenge> {
    const mfaToken = randomToken();
    const pending = JSON.stringify({ userId: user.id, email: user.email, stamp: user.securityStamp });
    await this.deps.kv.set(`mfa:challenge:${hashToken(mfaToken)}`, pending, MFA_CHALLENGE_MS);
    return { mfaRequired: true, emailVerificationRequired: false, mfaToken };
  }

  /** Exchanges a refresh token for a new pair; the presented one stops working. */
  async refresh(token: string, client: ClientInfo): Promise<SignedIn> {
    // The user comes with the exchange (the statement that rotates the token reads them too).
    const { user, issued } = await this.deps.sessions.rotate(token, client);
    this.deps.log.debug("tokens refreshed", { event: "auth.refresh", userId: user.id, sessionId: issued.sessionId });
    // Sessions started before the requirement (or at sign-up) do not outlive it.
    if (this.deps.requireVerifiedEmail && !user.emailVerifiedAt) throw new EmailNotVerifiedError();
    return this.result(user, issued);
  }

  /** Ends the calling session; the presented access token stops working at once. */
  async logout(actor: Principal, token: VerifiedAccessToken): Promise<void> {
    await this.deps.sessions.revoke(actor.userId, token.sessionId, "logout", {
      action: "auth.logout",
      actor: asActor(actor),
      target: { type: "session", id: token.sessionId },
    });
    this.deps.log.info("logged out", { event: "auth.logout", userId: actor.userId, sessionId: token.sessionId });
  }

  /** Ends the session of a refresh token (a browser's refresh cookie). @returns false when it was over. */
  async logoutWithRefreshToken(token: string): Promise<boolean> {
    const ended = await this.deps.sessions.revokeByRefreshToken(token);
    if (ended) this.deps.log.info("logged out with the refresh cookie", { event: "auth.logout" });
    return ended;
  }

  /**
   * Ends every session of the caller, and with `removeLinkedAccounts` unlinks every provider identity
   * too (in the same transaction). @returns how many sessions ended.
   */
  async logoutAll(actor: Principal, removeLinkedAccounts = false): Promise<number> {
    const audit: AuditEntry = {
      action: "auth.logout_all",
      actor: asActor(actor),
      target: { type: "user", id: actor.userId },
    };
    const { endedIds, unlinked } = await this.deps.prisma.$transaction(async (tx) => {
      const unlinked = removeLinkedAccounts ? await this.unlinkAll(tx, actor.userId, "logout_all") : [];
      return { endedIds: await this.deps.sessions.revokeAllIn(tx, actor.userId, "logout_all", { audit }), unlinked };
    });
    await this.deps.sessions.ended(endedIds);
    await this.afterUnlinking(actor.userId, unlinked);
    const ended = endedIds.length;
    this.deps.log.info("logged out everywhere", { event: "auth.logout_all", userId: actor.userId, sessions: ended });
    return ended;
  }

  /**
   * Unlinks every provider identity of the user, in `tx`; refused (CONFLICT LAST_SIGN_IN_METHOD) for an
   * account without a password, which would keep no way to sign in. @returns the unlinked providers.
   */
  private async unlinkAll(tx: Prisma.TransactionClient, userId: string, reason: string): Promise<string[]> {
    const user = await tx.user.findUniqueOrThrow({ where: { id: userId } });
    if (!user.passwordHash) {
      throw new ConflictError(
        "Set a password before unlinking every sign-in method",
        AUTH_CONFLICTS.LAST_SIGN_IN_METHOD,
      );
    }
    return removeLinkedAccounts(tx, this.deps.audit, user, reason);
  }

  /** After a commit that unlinked `providers`: the user is mailed, their cached record dropped. */
  private async afterUnlinking(userId: string, providers: string[]): Promise<void> {
    if (providers.length === 0) return;
    await this.deps.access.invalidateUser(userId);
    const user = await this.deps.prisma.user.findUniqueOrThrow({ where: { id: userId } });
    await this.deps.accountEmail.tellUnlinked(user, providers);
  }

  /**
   * Changes the caller's password after checking the current one (failures count toward lockout).
   * Every other session ends (the calling one goes on), pending reset links are void, and with
   * `removeLinkedAccounts` every provider identity is unlinked.
   */
  async changePassword(
    actor: Principal,
    token: VerifiedAccessToken,
    current: string,
    next: string,
    client: ClientInfo,
    removeLinkedAccounts = false,
  ) {
    const { prisma, passwords, lockout, log } = this.deps;
    const user = await prisma.user.findUniqueOrThrow({ where: { id: actor.userId } });
    const right = await lockout.counted(user.email, client.ip, user.id, () =>
      passwords.verify(user.passwordHash, current),
    );
    if (!right) {
      await this.deps.audit.record({ ...onOwnAccount("auth.password_change_failed", user), outcome: "failure" });
      throw new BadUserInputError([{ path: "currentPassword", message: "is not the current password" }]);
    }
    const problems = checkPasswordPolicy(next, user.email, "newPassword");
    if (problems.length > 0) throw new BadUserInputError(problems);
    const passwordHash = await passwords.hash(next);
    // The new password and the end of the other sessions commit together: no crash between them
    // leaves a session of the old password running.
    const { endedIds, unlinked } = await prisma.$transaction(async (tx) => {
      await tx.user.update({ where: { id: user.id }, data: { passwordHash } });
      await this.deps.audit.record(onOwnAccount("auth.password_changed", user), tx);
      // A reset link mailed before is for the old password: whoever reads it later must not use it.
      await this.deps.accountEmail.voidResets(tx, user.id);
      const unlinked = removeLinkedAccounts ? await this.unlinkAll(tx, user.id, "password_changed") : [];
      const endedIds = await this.deps.sessions.revokeAllIn(tx, user.id, "password_changed", {
        keep: token.sessionId,
      });
      return { endedIds, unlinked };
    });
    await this.deps.access.invalidateUser(user.id);
    await this.deps.sessions.ended(endedIds);
    await this.afterUnlinking(user.id, unlinked);
    const ended = endedIds.length;
    log.info("password changed", { event: "auth.password_changed", userId: user.id, endedSessions: ended });
  }

  /** Lifts a lockout of the user's account; the actor must hold every permission the user holds. */
  async unlock(actor: Principal, userId: string): Promise<void> {
    await this.deps.users.requireManageable(actor, userId);
    const user = await this.deps.prisma.user.findUnique({ where: { id: userId }, select: { email: true } });
    if (!user) throw new NotFoundError("User");
    await this.deps.lockout.unlock(user.email);
    await this.deps.audit.record({
      action: "user.unlocked",
      actor: asActor(actor),
      target: { type: "user", id: userId },
    });
  }

  private result(user: UserProfile, refresh: IssuedRefreshToken): SignedIn {
    const access = this.deps.tokens.sign(user.id, refresh.sessionId, refresh.organizationId);
    return {
      mfaRequired: false,
      emailVerificationRequired: false,
      // Never the password hash or the TOTP secret, even where the caller had read them.
      user: profileOf(user),
      accessToken: access.token,
      accessTokenExpiresAt: access.expiresAt,
      refreshToken: refresh.token,
      refreshTokenExpiresAt: refresh.expiresAt,
    };
  }
}
