import type { OneTimeTokenPurpose } from "../../generated/prisma/client.js";
import type { Prisma, PrismaClient } from "../../platform/db/database.js";
import { hashToken, MAX_TOKEN_LENGTH, randomToken } from "../../platform/secret-tokens.js";

/** Single-use tokens sent by mail; only their hashes are stored. A new one supersedes older ones. */
export class OneTimeTokens {
  constructor(private readonly prisma: PrismaClient) {}

  async issue(userId: string, purpose: OneTimeTokenPurpose, ttlSeconds: number): Promise<string> {
    const token = randomToken();
    const now = new Date();
    await this.prisma.$transaction([
      this.prisma.oneTimeToken.updateMany({ where: { userId, purpose, usedAt: null }, data: { usedAt: now } }),
      this.prisma.oneTimeToken.create({
        data: { userId, purpose, tokenHash: hashToken(token), expiresAt: new Date(now.getTime() + ttlSeconds * 1000) },
      }),
    ]);
    return token;
  }

  /** Voids every pending token of `userId` (of `purposes`, default all): a disabled account, a new password. */
  async voidAll(tx: Prisma.TransactionClient, userId: string, purposes?: OneTimeTokenPurpose[]): Promise<void> {
    await tx.oneTimeToken.updateMany({
      where: { userId, usedAt: null, ...(purposes ? { purpose: { in: purposes } } : {}) },
      data: { usedAt: new Date() },
    });
  }

  /** The user a still-valid token belongs to, without using it up. */
  async peek(token: string, purpose: OneTimeTokenPurpose): Promise<string | undefined> {
    if (token.length > MAX_TOKEN_LENGTH) return undefined;
    const found = await this.prisma.oneTimeToken.findFirst({
      where: { tokenHash: hashToken(token), purpose, usedAt: null, expiresAt: { gt: new Date() } },
      select: { userId: true },
    });
    return found?.userId;
  }

  /**
   * Uses the token up, in one statement.
   * @param tx the transaction whose writes the token pays for: rolled back, the token is not used.
   * @returns its user, or undefined when it is unknown, used or expired.
   */
  async consume(
    token: string,
    purpose: OneTimeTokenPurpose,
    tx: Prisma.TransactionClient = this.prisma,
  ): Promise<string | undefined> {
    if (token.length > MAX_TOKEN_LENGTH) return undefined;
    const [used] = await tx.oneTimeToken.updateManyAndReturn({
      where: { tokenHash: hashToken(token), purpose, usedAt: null, expiresAt: { gt: new Date() } },
      data: { usedAt: new Date() },
      select: { userId: true },
    });
    return used?.userId;
  }
}
