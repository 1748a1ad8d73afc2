import { timingSafeEqual } from "node:crypto";
import type { SocialAccount } from "../../generated/prisma/client.js";
import { changesBetween } from "../../platform/audit/audit-event.js";
import type { AuditTrail } from "../../platform/audit/audit-trail.js";
import { isUniqueViolation, lockRow, type Prisma, type PrismaClient } from "../../platform/db/database.js";
import type { KeyValueStore } from "../../platform/kv/kv.js";
import type { Mailer } from "../../platform/mail/mailer.js";
import type { Logger } from "../../platform/observability/logger.js";
import { sha256 } from "../../platform/hash.js";
import { hashToken, MAX_TOKEN_LENGTH, randomToken } from "../../platform/secret-tokens.js";
import { linkedAccountMail } from "../auth/account-mail.js";
import { AUTH_CONFLICTS, type AuthResult, type AuthService } from "../auth/index.js";
import { isOAuthConflict, OAuthErrorCode, OAuthFlowError, OAuthRequestError } from "./oauth.errors.js";
import type { ExternalIdentity, OAuthProvider, ProviderName } from "./providers.js";
import { type ClientInfo } from "../../kernel/request.js";
import {
  BadUserInputError,
  ConflictError,
  ErrorCode,
  ForbiddenError,
  NotFoundError,
  UnauthenticatedError,
} from "../../kernel/errors.js";
import { type Principal } from "../../kernel/principal.js";
import { SystemRole } from "../../kernel/permission-catalog.js";

/** How long the browser may take at the provider. */
const STATE_MS = 10 * 60_000;
/** How long the frontend has to exchange the code it was redirected with. */
const CODE_MS = 60_000;

/** What a sign-in remembers between the start and the callback, keyed by its state. */
interface PendingFlow {
  provider: ProviderName;
  redirectUri: string;
  /** The frontend's own `state`, handed back with the result so it can tell its flows from others'. */
  clientState?: string;
  codeVerifier: string;
  nonce: string;
  /** sha256 of the cookie that binds the flow to the browser that started it. */
  browser: string;
  /** Set when a signed-in user links an identity rather than signing in. */
  linkUserId?: string;
  /** That user's security stamp when the link was asked for: a password reset since voids the link. */
  linkStamp?: string;
}

/** A successful sign-in's one-time code: whom it signs in, through which identity, under which stamp. */
interface PendingSignIn {
  userId: string;
  socialAccountId: string;
  stamp: string;
}

/** Whom a link URL links to, and under which security stamp. */
interface LinkRequest {
  userId: string;
  stamp: string;
}

/** An identity proved at the provider, waiting for its user to confirm the link while signed in. */
interface PendingLink {
  userId: string;
  stamp: string;
  provider: ProviderName;
  identity: ExternalIdentity;
}

export interface StartParams {
  redirectUri?: string;
  /** From `linkUrl`: the flow links an identity to that user instead of signing in. */
  linkToken?: string;
  /** The frontend's `state`, returned as is. */
  clientState?: string;
}

/** The name of the cookie binding the flow of `state` to its browser: one per flow, so flows in one browser do not clash. */
export function bindingCookie(state: string): string {
  return `kafkey_oauth_${sha256(state, "base64url").slice(0, 16)}`;
}

export interface OAuthDependencies {
  prisma: PrismaClient;
  kv: KeyValueStore;
  providers: Map<ProviderName, OAuthProvider>;
  auth: AuthService;
  audit: AuditTrail;
  /** Tells users of links and unlinks. */
  mailer: Mailer;
  /** The frontend's base URL, for links in mails. */
  appUrl: string;
  /** Frontend URLs a flow may return to, compared exactly. */
  redirectAllowlist: string[];
  log: Logger;
}

function withParams(uri: string, params: Record<string, string>): string {
  const url = new URL(uri);
  for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
  return url.toString();
}

function sameHash(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

const invalidCode = () => new UnauthenticatedError("Invalid or expired sign-in code");

/**
 * Sign-in and account linking through OAuth providers (authorization code flow with PKCE, state bound
 * to the browser by a cookie, nonce for OpenID Connect). The identity is the provider's user id; an
 * existing account is joined by email only when both sides have verified that email.
 */
export class OAuthService {
  constructor(private readonly deps: OAuthDependencies) {}

  /** The providers that are configured, for the frontend's buttons. */
  enabledProviders(): ProviderName[] {
    return [...this.deps.providers.keys()];
  }

  /**
   * Starts a flow. @returns where to send the browser, and the cookie (name and value) that binds the
   * flow to it.
   */
  async start(
    providerName: string,
    params: StartParams,
    callbackUrl: string,
  ): Promise<{ location: string; cookie: { name: string; value: string } }> {
    const provider = this.provider(providerName);
    const { redirectUri, linkToken, clientState } = params;
    if (!redirectUri || !this.deps.redirectAllowlist.includes(redirectUri)) {
      throw new OAuthRequestError(400, ErrorCode.BAD_REQUEST, "redirect_uri is missing or not in the allow-list");
    }
    if (clientState !== undefined && clientState.length > 200) {
      throw new OAuthRequestError(400, ErrorCode.BAD_REQUEST, "state is longer than 200 characters");
    }
    let link: LinkRequest | undefined;
    if (linkToken !== undefined) {
      const taken = linkToken.length <= MAX_TOKEN_LENGTH ? await this.deps.kv.take(linkKey(linkToken)) : null;
      link = taken ? (JSON.parse(taken) as LinkRequest) : undefined;
      if (!link || !(await this.stampHolds(link.userId, link.stamp))) {
        throw new OAuthRequestError(400, ErrorCode.BAD_REQUEST, "link is invalid, used or expired");
      }
    }
    const state = randomToken();
    const binding = randomToken();
    const flow: PendingFlow = {
      provider: provider.name,
      redirectUri,
      clientState,
      codeVerifier: randomToken(),
      nonce: randomToken(),
      browser: sha256(binding, "base64url"),
      linkUserId: link?.userId,
      linkStamp: link?.stamp,
    };
    await this.deps.kv.set(stateKey(state), JSON.stringify(flow), STATE_MS);
    const location = provider.authorizeUrl({
      callbackUrl,
      state,
      codeChallenge: sha256(flow.codeVerifier, "base64url"),
      nonce: flow.nonce,
    });
    return { location, cookie: { name: bindingCookie(state), value: binding } };
  }

  /**
   * The provider sent the browser back. The state must be one this browser started (its cookie), and
   * is used once; then the code is exchanged and the identity resolved.
   * @returns where to send the browser: the frontend, with `code=` (or `link_code=`) or `error=`, and
   * the frontend's own `state`.
   */
  async callback(
    providerName: string,
    query: { code?: string; state?: string; error?: string },
    cookie: (name: string) => string | undefined,
    callbackUrl: string,
  ): Promise<string> {
    const provider = this.provider(providerName);
    const flow = await this.takeFlow(provider.name, query.state, cookie);
    const back = (params: Record<string, string>) =>
      withParams(flow.redirectUri, flow.clientState === undefined ? params : { ...params, state: flow.clientState });
    try {
      if (query.error || !query.code) {
        throw new OAuthFlowError(OAuthErrorCode.ACCESS_DENIED, `provider said ${query.error ?? "no code"}`);
      }
      const identity = await provider.identify({
        code: query.code,
        callbackUrl,
        codeVerifier: flow.codeVerifier,
        nonce: flow.nonce,
      });
      const code = randomToken();
      if (flow.linkUserId) {
        // Linked only when its user confirms while signed in: a link URL sent to someone else's browser
        // must not attach their identity to the sender's account.
        const pending: PendingLink = {
          userId: flow.linkUserId,
          stamp: flow.linkStamp ?? "",
          provider: provider.name,
          identity,
        };
        await this.deps.kv.set(linkCodeKey(code), JSON.stringify(pending), CODE_MS);
        return back({ link_code: code });
      }
      const { account, stamp } = await this.signInAccount(provider.name, identity);
      const signIn: PendingSignIn = { userId: account.userId, socialAccountId: account.id, stamp };
      await this.deps.kv.set(codeKey(code), JSON.stringify(signIn), CODE_MS);
      return back({ code });
    } catch (error) {
      const code = error instanceof OAuthFlowError ? error.code : OAuthErrorCode.PROVIDER_ERROR;
      if (error instanceof OAuthFlowError) {
        this.deps.log.warn("social sign-in refused", {
          event: "auth.social_login_failed",
          provider: provider.name,
          code,
          error,
        });
      } else {
        this.deps.log.error("social sign-in failed", { provider: provider.name, error });
      }
      await this.deps.audit.record({
        action: "auth.social_login_failed",
        outcome: "failure",
        actor: flow.linkUserId ? { id: flow.linkUserId, email: null } : undefined,
        changes: [{ field: "reason", before: null, after: code }],
      });
      return back({ error: code });
    }
  }

  /**
   * The flow of `state`, if this browser holds its cookie; used up by this call. The cookie is checked
   * before the state is used up, so a request without it cannot spoil the flow for its browser.
   */
  private async takeFlow(
    provider: ProviderName,
    state: string | undefined,
    cookie: (name: string) => string | undefined,
  ): Promise<PendingFlow> {
    const invalid = () =>
      new OAuthRequestError(
        400,
        ErrorCode.INVALID_STATE,
        "This sign-in is unknown, expired, already used, or was started in another browser",
      );
    if (!state || state.length > MAX_TOKEN_LENGTH) throw invalid();
    const raw = await this.deps.kv.get(stateKey(state));
    const flow = raw ? (JSON.parse(raw) as PendingFlow) : undefined;
    const binding = cookie(bindingCookie(state));
    if (!flow || flow.provider !== provider || !binding || !sameHash(sha256(binding, "base64url"), flow.browser))
      throw invalid();
    // Of two callbacks racing with the same state, one gets it.
    if ((await this.deps.kv.take(stateKey(state))) === null) throw invalid();
    return flow;
  }

  /** Trades the one-time code of a successful callback for a session (or an MFA challenge). */
  async exchange(code: string, client: ClientInfo): Promise<AuthResult> {
    if (code.length > MAX_TOKEN_LENGTH) throw invalidCode();
    const raw = await this.deps.kv.take(codeKey(code));
    if (!raw) throw invalidCode();
    const { userId, socialAccountId, stamp } = JSON.parse(raw) as PendingSignIn;
    // A password reset since the callback (which removes the identity) voids its code.
    const still = await this.deps.prisma.socialAccount.findFirst({
      where: { id: socialAccountId, userId, user: { securityStamp: stamp } },
      select: { id: true },
    });
    if (!still) throw invalidCode();
    return this.deps.auth.signInProven(
      userId,
      { action: "auth.social_login", credential: { type: "social_account", id: socialAccountId } },
      client,
    );
  }

  /**
   * Links the identity a link flow proved to the caller, who must be the user who asked for it, with a
   * verified email, and with no password reset since the link was asked for.
   * @returns the new linked account.
   */
  async confirmLink(actor: Principal, code: string): Promise<SocialAccount> {
    const raw = code.length <= MAX_TOKEN_LENGTH ? await this.deps.kv.take(linkCodeKey(code)) : null;
    const invalid = () => new BadUserInputError([{ path: "code", message: "is invalid, used or expired" }]);
    if (!raw) throw invalid();
    const pending = JSON.parse(raw) as PendingLink;
    if (pending.userId !== actor.userId) {
      throw new ForbiddenError(undefined, "This link was started by another user");
    }
    const stamp = await this.linkableStamp(actor.userId);
    if (pending.stamp !== stamp) throw invalid();
    try {
      return await this.link(actor.userId, pending.provider, pending.identity);
    } catch (error) {
      if (error instanceof OAuthFlowError && isOAuthConflict(error.code))
        throw new ConflictError(error.message, error.code);
      throw error;
    }
  }

  /**
   * A URL of Kafkey's that starts linking `provider` to the caller's account (valid 10 minutes, once).
   * Refused while the account's email is not verified: whoever signed up with someone else's address
   * must not leave a way in for when its owner takes the account back.
   */
  async linkUrl(actor: Principal, providerName: ProviderName, redirectUri: string, baseUrl: string): Promise<string> {
    const provider = this.deps.providers.get(providerName);
    if (!provider) throw new NotFoundError("Configured provider");
    if (!this.deps.redirectAllowlist.includes(redirectUri)) {
      throw new BadUserInputError([{ path: "redirectUri", message: "is not in the allow-list" }]);
    }
    const request: LinkRequest = { userId: actor.userId, stamp: await this.linkableStamp(actor.userId) };
    const token = randomToken();
    await this.deps.kv.set(linkKey(token), JSON.stringify(request), STATE_MS);
    const start = new URL(`${baseUrl}/auth/oauth/${provider.name}/start`);
    start.searchParams.set("redirect_uri", redirectUri);
    start.searchParams.set("link", token);
    return start.toString();
  }

  linked(userId: string): Promise<SocialAccount[]> {
    return this.deps.prisma.socialAccount.findMany({ where: { userId }, orderBy: { linkedAt: "asc" } });
  }

  /** Unlinks the caller's identity at `provider`, unless it is their last way to sign in. */
  async unlink(actor: Principal, provider: ProviderName): Promise<boolean> {
    await this.deps.prisma.$transaction(async (tx) => {
      await lockRow(tx, "users", actor.userId);
      const account = await tx.socialAccount.findUnique({
        where: { userId_provider: { userId: actor.userId, provider } },
      });
      if (!account) throw new NotFoundError("Linked account");
      const user = await tx.user.findUniqueOrThrow({ where: { id: actor.userId }, select: { passwordHash: true } });
      const others = await tx.socialAccount.count({ where: { userId: actor.userId, id: { not: account.id } } });
      if (!user.passwordHash && others === 0) {
        throw new ConflictError(
          "This is your only way to sign in: set a password or link another first",
          AUTH_CONFLICTS.LAST_SIGN_IN_METHOD,
        );
      }
      await tx.socialAccount.delete({ where: { id: account.id } });
      await this.recordLink(tx, "user.social_unlinked", actor.userId, actor.profile.email, account, null);
    });
    await this.tell(actor.userId, provider, false);
    return true;
  }

  /**
   * The user's security stamp, when their email is verified (links need it); CONFLICT
   * `EMAIL_NOT_VERIFIED` otherwise.
   */
  private async linkableStamp(userId: string): Promise<string> {
    const user = await this.deps.prisma.user.findUniqueOrThrow({
      where: { id: userId },
      select: { emailVerifiedAt: true, securityStamp: true },
    });
    if (!user.emailVerifiedAt) {
      throw new ConflictError(
        "Verify your email address before linking a sign-in method",
        AUTH_CONFLICTS.EMAIL_NOT_VERIFIED,
      );
    }
    return user.securityStamp;
  }

  /** Whether `stamp` is still the user's: no password reset since it was read. */
  private async stampHolds(userId: string, stamp: string): Promise<boolean> {
    const user = await this.deps.prisma.user.findUnique({ where: { id: userId }, select: { securityStamp: true } });
    return user?.securityStamp === stamp;
  }

  /** Mails the user that `provider` was linked or unlinked; a mail that fails is logged, the change stands. */
  private async tell(userId: string, provider: string, linked: boolean): Promise<void> {
    const { prisma, mailer, appUrl, log } = this.deps;
    const user = await prisma.user.findUniqueOrThrow({
      where: { id: userId },
      select: { email: true, displayName: true },
    });
    await mailer
      .send(linkedAccountMail(appUrl, user.email, user.displayName, { provider, linked }))
      .catch((error: unknown) => log.error("link mail not sent", { userId, error }));
  }

  /**
   * The user this identity signs in as: already linked, joined by a verified email, or new. Two
   * callbacks of one new identity at once: the second finds what the first created.
   */
  private async signInAccount(
    provider: ProviderName,
    identity: ExternalIdentity,
  ): Promise<{ account: SocialAccount; stamp: string }> {
    let account: SocialAccount;
    try {
      account = await this.resolveAccount(provider, identity);
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      account = await this.resolveAccount(provider, identity);
    }
    const user = await this.deps.prisma.user.findUniqueOrThrow({
      where: { id: account.userId },
      select: { status: true, emailVerifiedAt: true, securityStamp: true },
    });
    if (user.status !== "active") throw new OAuthFlowError(OAuthErrorCode.ACCOUNT_DISABLED, "the account is disabled");
    // An identity linked while nobody had proved the account's address may be a squatter's: it signs
    // in only once the address is verified (and a reset by its owner removes it).
    if (!user.emailVerifiedAt && !account.signedUpWith) {
      throw new OAuthFlowError(
        OAuthErrorCode.ACCOUNT_EMAIL_UNVERIFIED,
        "identity linked to an account with an unverified email",
      );
    }
    return { account, stamp: user.securityStamp };
  }

  private async resolveAccount(provider: ProviderName, identity: ExternalIdentity): Promise<SocialAccount> {
    const { prisma } = this.deps;
    const known = await prisma.socialAccount.findUnique({
      where: { provider_providerUserId: { provider, providerUserId: identity.providerUserId } },
    });
    if (known) {
      return prisma.socialAccount.update({
        where: { id: known.id },
        data: { email: identity.email, emailVerified: identity.emailVerified },
      });
    }
    if (!identity.email) throw new OAuthFlowError(OAuthErrorCode.EMAIL_REQUIRED, "the provider gave no email");
    const existing = await prisma.user.findUnique({ where: { email: identity.email } });
    if (existing) {
      // The account-takeover hole: joining on an email either side has not verified.
      if (!identity.emailVerified || !existing.emailVerifiedAt) {
        throw new OAuthFlowError(
          OAuthErrorCode.ACCOUNT_EXISTS_UNVERIFIED,
          "an account has this email, unverified on one side",
        );
      }
      // Only an account that signs in through providers alone is joined by a verified email: a verified
      // address does not prove who set an account's password (a squatter whose verification mail the
      // owner clicked), so such an account is linked by signing in to it.
      if (existing.passwordHash || existing.totpEnabledAt) {
        throw new OAuthFlowError(
          OAuthErrorCode.ACCOUNT_EXISTS,
          "an account with this email signs in with a password: link from it",
        );
      }
      return this.link(existing.id, provider, identity);
    }
    // An address nobody proved would let its real owner's later account be taken over through this identity.
    if (!identity.emailVerified)
      throw new OAuthFlowError(OAuthErrorCode.EMAIL_UNVERIFIED, "the provider has not verified the email");
    const user = await this.deps.auth.createAccount({
      email: identity.email,
      displayName: identity.displayName,
      emailVerified: true,
      roles: [SystemRole.USER],
      socialAccount: { provider, ...pick(identity) },
    });
    return prisma.socialAccount.findUniqueOrThrow({ where: { userId_provider: { userId: user.id, provider } } });
  }

  /** Links the identity to `userId`, refusing one that belongs to someone else; the user is mailed of a new link. */
  private async link(userId: string, provider: ProviderName, identity: ExternalIdentity): Promise<SocialAccount> {
    const { account, created } = await this.deps.prisma.$transaction(async (tx) => {
      const owner = await tx.socialAccount.findUnique({
        where: { provider_providerUserId: { provider, providerUserId: identity.providerUserId } },
      });
      if (owner && owner.userId !== userId)
        throw new OAuthFlowError(OAuthErrorCode.ALREADY_LINKED, "identity linked to another user");
      if (owner) return { account: owner, created: false };
      const mine = await tx.socialAccount.findUnique({ where: { userId_provider: { userId, provider } } });
      if (mine)
        throw new OAuthFlowError(OAuthErrorCode.PROVIDER_ALREADY_LINKED, "another identity of this provider is linked");
      const account = await tx.socialAccount.create({ data: { userId, provider, ...pick(identity) } });
      const user = await tx.user.findUniqueOrThrow({ where: { id: userId }, select: { email: true } });
      await this.recordLink(tx, "user.social_linked", userId, user.email, null, account);
      return { account, created: true };
    });
    if (created) await this.tell(userId, provider, true);
    return account;
  }

  private async recordLink(
    tx: Prisma.TransactionClient,
    action: string,
    userId: string,
    email: string,
    before: SocialAccount | null,
    after: SocialAccount | null,
  ): Promise<void> {
    await this.deps.audit.record(
      {
        action,
        actor: { id: userId, email },
        target: { type: "social_account", id: (after ?? before)!.id },
        changes: changesBetween(before, after, ["provider", "email", "emailVerified"]),
      },
      tx,
    );
  }

  /** The configured provider of the route's `:provider`; 404 for an unknown or unconfigured one. */
  private provider(name: string): OAuthProvider {
    const provider = this.deps.providers.get(name as ProviderName);
    if (!provider) {
      throw new OAuthRequestError(404, ErrorCode.NOT_FOUND, `Sign-in with "${name.slice(0, 40)}" is not configured`);
    }
    return provider;
  }
}

function pick(identity: ExternalIdentity) {
  return { providerUserId: identity.providerUserId, email: identity.email, emailVerified: identity.emailVerified };
}

const stateKey = (state: string) => `oauth:state:${hashToken(state)}`;
const codeKey = (code: string) => `oauth:code:${hashToken(code)}`;
const linkKey = (token: string) => `oauth:link:${hashToken(token)}`;
const linkCodeKey = (code: string) => `oauth:link-code:${hashToken(code)}`;
