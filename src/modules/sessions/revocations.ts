import type { KeyValueStore } from "../../platform/kv/kv.js";

/**
 * Access tokens are checked by signature, so ending a session must also reach the access tokens
 * already issued for it. Revocations live in the shared store until those tokens would expire
 * anyway, so every instance honours them on the next request.
 */
export class Revocations {
  constructor(
    private readonly kv: KeyValueStore,
    private readonly accessTokenTtlSeconds: number,
  ) {}

  /** Revokes one access token until its expiry. */
  async revokeAccessToken(jti: string, expiresAt: Date): Promise<void> {
    const ttlMs = expiresAt.getTime() - Date.now();
    if (ttlMs > 0) await this.kv.set(`revoked:jti:${jti}`, "1", ttlMs);
  }

  /** Revokes every access token issued for these sessions (none outlives the access token TTL). */
  async revokeSessions(sessionIds: string[]): Promise<void> {
    await Promise.all(
      sessionIds.map((id) => this.kv.set(`revoked:sid:${id}`, "1", this.accessTokenTtlSeconds * 1000 + 1000)),
    );
  }

  async isRevoked(jti: string, sessionId: string): Promise<boolean> {
    const [token, session] = await this.kv.getMany([`revoked:jti:${jti}`, `revoked:sid:${sessionId}`]);
    return token !== null || session !== null;
  }
}
