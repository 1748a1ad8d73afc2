import { createHash, randomBytes, randomUUID } from "node:crypto";
import type { User as UserRecord } from "../../generated/prisma/client.js";
import type { ClientInfo } from "../../graphql/context.js";
import { AccountDisabledError, BadUserInputError, UnauthenticatedError } from "../../graphql/errors.js";
import type { Prisma, PrismaClient } from "../../platform/db/database.js";
import type { Logger } from "../../platform/observability/logger.js";
import { SystemRole } from "../permissions/index.js";
import { normalizeEmail } from "../users/index.js";
import type { AccessTokens } from "./access-tokens.js";
import type { SignUpInput } from "./auth.inputs.js";
import { checkPasswordPolicy, type Passwords } from "./password.js";

export interface AuthResult {
  user: UserRecord;
  accessToken: string;
  accessTokenExpiresAt: Date;
  refreshToken: string;
  refreshTokenExpiresAt: Date;
}

export interface NewAccount {
  email: string;
  password: string;
  displayName: string;
  /** System role names to grant. */
  roles: string[];
}

/** Refresh tokens are 256 random bits; anything much longer is not one of ours. */
const MAX_REFRESH_TOKEN_LENGTH = 128;

function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

const invalidCredentials = () => new UnauthenticatedError("Invalid email or password");
const invalidRefreshToken = () => new UnauthenticatedError("Invalid or expired refresh token");

/** Sign-up, password login and refresh-token rotation. */
export class AuthService {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly passwords: Passwords,
    private readonly tokens: AccessTokens,
    private readonly refreshTokenTtlSeconds: number,
    private readonly log: Logger,
  ) {}

  /** Creates an account with a password. A duplicate email fails with CONFLICT. */
  async createAccount(account: NewAccount): Promise<UserRecord> {
    const email = normalizeEmail(account.email);
    const problems = checkPasswordPolicy(account.password, email);
    if (problems.length > 0) throw new BadUserInputError(problems);
    return this.prisma.user.create({
      data: {
        email,
        displayName: account.displayName.trim(),
        passwordHash: await this.passwords.hash(account.password),
        roles: { create: account.roles.map((name) => ({ role: { connect: { name } } })) },
      },
    });
  }

  async signUp(input: SignUpInput, client: ClientInfo): Promise<AuthResult> {
    const user = await this.createAccount({ ...input, roles: [SystemRole.USER] });
    this.log.info("user signed up", { event: "auth.signup", userId: user.id, ip: client.ip });
    return this.startSession(user, client);
  }

  async login(email: string, password: string, client: ClientInfo): Promise<AuthResult> {
    const user = await this.prisma.user.findUnique({ where: { email: normalizeEmail(email) } });
    if (!(await this.passwords.verify(user?.passwordHash, password)) || !user) {
      this.log.warn("login failed", { event: "auth.login_failed", email: normalizeEmail(email), ip: client.ip });
      throw invalidCredentials();
    }
    if (user.status !== "active") {
      this.log.warn("login refused: account disabled", {
        event: "auth.login_disabled",
        userId: user.id,
        ip: client.ip,
      });
      throw new AccountDisabledError();
    }
    if (this.passwords.needsRehash(user.passwordHash!)) {
      await this.prisma.user.update({
        where: { id: user.id },
        data: { passwordHash: await this.passwords.hash(password) },
      });
    }
    this.log.info("login succeeded", { event: "auth.login", userId: user.id, ip: client.ip });
    return this.startSession(user, client);
  }

  /**
   * Exchanges a refresh token for a new pair. The presented token stops working: of two concurrent
   * exchanges of one token, only one succeeds.
   */
  async refresh(token: string, client: ClientInfo): Promise<AuthResult> {
    if (token.length > MAX_REFRESH_TOKEN_LENGTH) throw invalidRefreshToken();
    const now = new Date();
    const current = await this.prisma.refreshToken.findUnique({
      where: { tokenHash: hashToken(token) },
      include: { user: true },
    });
    if (!current || current.revokedAt || current.expiresAt <= now || current.user.status !== "active") {
      throw invalidRefreshToken();
    }
    const next = await this.prisma.$transaction(async (tx) => {
      const claimed = await tx.refreshToken.updateMany({
        where: { id: current.id, revokedAt: null },
        data: { revokedAt: now },
      });
      if (claimed.count !== 1) throw invalidRefreshToken();
      const issued = await this.issueRefreshToken(tx, current.userId, client, current.familyId);
      await tx.refreshToken.update({ where: { id: current.id }, data: { replacedById: issued.id } });
      return issued;
    });
    return this.result(current.user, next);
  }

  private async startSession(user: UserRecord, client: ClientInfo): Promise<AuthResult> {
    return this.result(user, await this.issueRefreshToken(this.prisma, user.id, client, randomUUID()));
  }

  private async issueRefreshToken(
    db: Prisma.TransactionClient,
    userId: string,
    client: ClientInfo,
    familyId: string,
  ): Promise<{ id: string; token: string; expiresAt: Date }> {
    const token = randomBytes(32).toString("base64url");
    const expiresAt = new Date(Date.now() + this.refreshTokenTtlSeconds * 1000);
    const { id } = await db.refreshToken.create({
      data: { userId, tokenHash: hashToken(token), familyId, expiresAt, ip: client.ip, userAgent: client.userAgent },
      select: { id: true },
    });
    return { id, token, expiresAt };
  }

  private result(user: UserRecord, refresh: { token: string; expiresAt: Date }): AuthResult {
    const access = this.tokens.sign(user.id);
    return {
      user,
      accessToken: access.token,
      accessTokenExpiresAt: access.expiresAt,
      refreshToken: refresh.token,
      refreshTokenExpiresAt: refresh.expiresAt,
    };
  }
}
