import path from "node:path";
import { type Config, passkeyOrigins } from "./config.js";
import { ApiKeyService } from "./modules/api-keys/index.js";
import { AuditService } from "./modules/audit/index.js";
import {
  type AccessTokens,
  AccountEmailService,
  AuthService,
  Lockout,
  OneTimeTokens,
  Passwords,
} from "./modules/auth/index.js";
import type { SigningKeys } from "./modules/keys/index.js";
import { MfaService } from "./modules/mfa/index.js";
import { type NotificationService } from "./modules/notifications/index.js";
import { configuredProviders, OAuthService } from "./modules/oauth/index.js";
import { MemberService, OrganizationService } from "./modules/organizations/index.js";
import { PasskeyService } from "./modules/passkeys/index.js";
import { ServiceAccountService } from "./modules/service-accounts/index.js";
import { SignInCodeService } from "./modules/sign-in-codes/index.js";
import { AccessService, PermissionService } from "./modules/permissions/index.js";
import { ReauthService } from "./modules/reauth/index.js";
import { RoleLoaders, RoleService } from "./modules/roles/index.js";
import { SessionService } from "./modules/sessions/index.js";
import { UserService } from "./modules/users/index.js";
import type { AuditSink } from "./platform/audit/audit-event.js";
import { PostgresAuditSink } from "./platform/audit/postgres.js";
import type { AuditTrail } from "./platform/audit/audit-trail.js";
import type { Database } from "./platform/db/database.js";
import type { ScopedClients } from "./platform/db/scoped.js";
import type { KeyValueStore } from "./platform/kv/kv.js";
import { MemoryStore } from "./platform/kv/memory.js";
import { RedisStore } from "./platform/kv/redis.js";
import { type Mailer, OutboxMailer, SmtpMailer } from "./platform/mail/mailer.js";
import type { Logger } from "./platform/observability/logger.js";
import type { Metrics } from "./platform/observability/metrics.js";
import type { Revocations } from "./platform/revocations.js";
import type { SecretBox } from "./platform/secret-box.js";

/** The domain services, built once per app by `buildServices`. */
export interface Services {
  audit: AuditService;
  oauth: OAuthService;
  access: AccessService;
  auth: AuthService;
  accountEmail: AccountEmailService;
  mfa: MfaService;
  /** Recent re-authentication before credential changes. */
  reauth: ReauthService;
  users: UserService;
  roles: RoleService;
  /** Per-request DataLoaders of roles and their permissions. */
  roleLoaders: RoleLoaders;
  permissions: PermissionService;
  sessions: SessionService;
  organizations: OrganizationService;
  members: MemberService;
  notifications: NotificationService;
  /** The signing keys of access tokens (rotation). */
  signingKeys: SigningKeys;
  /** API keys (personal access tokens). */
  apiKeys: ApiKeyService;
  serviceAccounts: ServiceAccountService;
  /** Passkeys (WebAuthn). */
  passkeys: PasskeyService;
  /** Sign-in with a mailed code or link. */
  signInCodes: SignInCodeService;
}

/** The technical parts the services are built from (app.ts opens them). */
export interface Parts {
  config: Config;
  db: Database;
  kv: KeyValueStore;
  tokens: AccessTokens;
  signingKeys: SigningKeys;
  revocations: Revocations;
  mailer: Mailer;
  box: SecretBox;
  metrics: Metrics;
  audit: AuditTrail;
  auditSink: AuditSink;
  scoped: ScopedClients;
  notifications: NotificationService;
  log: Logger;
}

/** Builds every service: the one place that decides which implementation each one gets. */
export function buildServices(parts: Parts): Services {
  const { config, db, kv, tokens, revocations, mailer, box, metrics, audit, scoped, log } = parts;
  const { prisma } = db;
  const access = new AccessService(prisma, kv, config.permissionCache, metrics);
  const roles = new RoleService(prisma, scoped.of(null), access, audit);
  const serviceAccounts = new ServiceAccountService({ prisma, roles, access, revocations, audit });
  const sessions = new SessionService(
    prisma,
    revocations,
    {
      refreshTokenTtlSeconds: config.refreshTokenTtlSeconds,
      reuseGraceSeconds: config.refreshReuseGraceSeconds,
      successorKey: box.subkey("refresh-token successors"),
    },
    audit,
    log,
  );
  const passwords = new Passwords(config.argon2);
  const lockout = new Lockout(prisma, kv, config.lockout, audit, log);
  const accountEmail = new AccountEmailService({
    prisma,
    tokens: new OneTimeTokens(prisma),
    mailer,
    passwords,
    sessions,
    lockout,
    audit,
    access,
    appUrl: config.appUrl,
    log,
  });
  const mfa = new MfaService({ prisma, kv, box, issuer: config.totpIssuer, audit, access, log, sessions });
  const members = new MemberService({
    prisma,
    scoped,
    access,
    roles,
    sessions,
    mailer,
    audit,
    appUrl: config.appUrl,
    log,
  });
  const users = new UserService(prisma, access, roles, sessions, audit);
  const passkeys: PasskeyService = new PasskeyService({
    prisma,
    kv,
    audit,
    // Called only once a ceremony completes, after auth below exists.
    auth: {
      signInProven: (userId, proof, client) => auth.signInProven(userId, proof, client),
      pendingMfaUser: (mfaToken) => auth.pendingMfaUser(mfaToken),
    },
    users,
    fakeIdKey: box.subkey("passkey fake credential ids"),
    options: { rpId: config.webauthn.rpId, rpName: config.webauthn.rpName, origins: passkeyOrigins(config) },
    log,
  });
  const auth: AuthService = new AuthService({
    prisma,
    passwords,
    tokens,
    sessions,
    lockout,
    accountEmail,
    mfa,
    kv,
    audit,
    access,
    invitations: members,
    users,
    passkeys,
    requireVerifiedEmail: config.requireVerifiedEmail,
    log,
  });
  return {
    audit: new AuditService(parts.auditSink),
    access,
    roles,
    roleLoaders: new RoleLoaders(prisma, scoped),
    sessions,
    accountEmail,
    mfa,
    reauth: new ReauthService({ prisma, kv, passwords, lockout, mfa, mailer, audit, appUrl: config.appUrl, log }),
    auth,
    oauth: new OAuthService({
      prisma,
      kv,
      providers: configuredProviders(config.oauth),
      auth,
      audit,
      mailer,
      appUrl: config.appUrl,
      redirectAllowlist: config.oauth.redirectAllowlist,
      log,
    }),
    users,
    organizations: new OrganizationService({
      prisma,
      access,
      sessions,
      tokens,
      audit,
      creation: config.organizationCreation,
    }),
    members,
    notifications: parts.notifications,
    signingKeys: parts.signingKeys,
    permissions: new PermissionService(prisma, access, audit),
    apiKeys: new ApiKeyService({
      prisma,
      kv,
      access,
      revocations,
      audit,
      serviceAccounts,
      options: config.apiKeys,
      log,
    }),
    serviceAccounts,
    passkeys,
    signInCodes: new SignInCodeService({
      prisma,
      kv,
      mailer,
      lockout,
      sessions,
      access,
      audit,
      auth,
      options: {
        enabled: config.emailSignIn.enabled,
        countsAsSecondFactor: config.emailSignIn.countsAsSecondFactor,
        pageUrl: config.emailSignIn.url ?? `${config.appUrl}/sign-in/email`,
      },
      log,
    }),
  };
}

// Which implementation of each port runs, decided here from config.

/** SMTP when configured, else `.eml` files in the data dir's outbox (development). */
export function openMailer(config: Config, log: Logger): Mailer {
  return config.mail.smtpUrl
    ? new SmtpMailer(config.mail.smtpUrl, config.mail.from)
    : new OutboxMailer(path.join(config.dataDir, "outbox"), config.mail.from, log);
}

/**
 * MongoDB when configured, else the database's own `audit_events` table. The MongoDB driver is loaded
 * only then: it holds some 20 MB from the moment it is imported.
 */
export async function openAuditSink(config: Config, db: Database, log: Logger): Promise<AuditSink> {
  const { audit } = config;
  if (!audit.mongoUrl) return new PostgresAuditSink(db);
  const { MongoAuditSink } = await import("./platform/audit/mongo.js");
  const sink = new MongoAuditSink(
    {
      url: audit.mongoUrl,
      poolSize: audit.mongoPoolSize,
      connectTimeoutMs: audit.mongoConnectTimeoutMs,
      serverSelectionTimeoutMs: audit.mongoServerSelectionTimeoutMs,
    },
    log,
  );
  // Not awaited: a MongoDB that is down must not hold the start up; events wait in the outbox.
  void sink.prepare();
  return sink;
}

/** Redis when a topology is configured, else the in-process store (one instance only). */
export function openStore(config: Config, log: Logger): KeyValueStore {
  const { topology, prefix, commandTimeoutMs } = config.redis;
  return topology ? new RedisStore({ topology, prefix, commandTimeoutMs, log }) : new MemoryStore();
}
