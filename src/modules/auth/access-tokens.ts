import { randomUUID, type KeyObject } from "node:crypto";
import jwt from "jsonwebtoken";
import { LRUCache } from "lru-cache";
import type { Config } from "../../config.js";
import type { AccessTokenCheck, VerifiedAccessToken } from "../../kernel/principal.js";
import { isUuid } from "../../platform/uuid.js";

/** The JOSE `typ` of Kafkey access tokens (RFC 9068), so no other token can pass for one. */
const ACCESS_TOKEN_TYPE = "at+jwt";

/** The one algorithm signed and accepted: a token whose header says anything else (HS256, none) is refused. */
const ALGORITHM = "ES256";

/** How much longer than the configured lifetime a token may say it lives (clock steps, rounding). */
const LIFETIME_LEEWAY_SECONDS = 60;

/** The `client_id` (RFC 9068) of tokens Kafkey issues to its own sign-ins. */
export const FIRST_PARTY_CLIENT_ID = "kafkey";

/** Tokens already verified, per instance: a few MB at most. */
const VERIFIED_CACHE_ENTRIES = 10_000;

export interface IssuedAccessToken {
  token: string;
  jti: string;
  expiresAt: Date;
}

/** The keys tokens are signed and verified with (modules/keys' SigningKeys). */
export interface TokenKeys {
  /** The private key that signs now, with its key id. */
  signer(): { kid: string; key: KeyObject };
  /** The public key of `kid` while its tokens are accepted, else undefined. */
  verifier(kid: string): KeyObject | undefined;
  /** Tells of keys revoked on any instance. */
  onRevoked(listener: (kid: string) => void): () => void;
}

export type AccessTokenOptions = Pick<Config["jwt"], "issuer" | "audience" | "accessTokenTtlSeconds">;

interface Verified {
  kid: string;
  token: VerifiedAccessToken;
}

/**
 * Signs and verifies access tokens (RFC 9068): ES256 JWTs with `kid` and `typ: at+jwt` in the header,
 * `iss`, `aud`, `sub`, `client_id`, `sid`, `jti`, `iat`, `exp` and, for a session acting in an
 * organization, `org`. Any service can verify them with the published JWKS.
 *
 * Tokens already verified are remembered until they expire, keyed by their whole text, so `me` and
 * `/auth/verify` pay the signature once per token rather than per request; a revoked key's entries
 * are dropped, and every hit checks the key is still accepted. Whether the session still lives is not
 * cached here: the context asks on every request.
 */
export class AccessTokens {
  private readonly verified = new LRUCache<string, Verified>({ max: VERIFIED_CACHE_ENTRIES });

  constructor(
    private readonly keys: TokenKeys,
    private readonly options: AccessTokenOptions,
  ) {
    keys.onRevoked((kid) => {
      for (const [raw, entry] of this.verified.entries()) if (entry.kid === kid) this.verified.delete(raw);
    });
  }

  /** @param organizationId the organization the token acts in, as its `org` claim. */
  sign(userId: string, sessionId: string, organizationId: string | null = null): IssuedAccessToken {
    const { kid, key } = this.keys.signer();
    const jti = randomUUID();
    const claims = {
      client_id: FIRST_PARTY_CLIENT_ID,
      sid: sessionId,
      ...(organizationId === null ? {} : { org: organizationId }),
    };
    const token = jwt.sign(claims, key, {
      algorithm: ALGORITHM,
      header: { alg: ALGORITHM, typ: ACCESS_TOKEN_TYPE, kid },
      issuer: this.options.issuer,
      audience: this.options.audience,
      subject: userId,
      jwtid: jti,
      expiresIn: this.options.accessTokenTtlSeconds,
    });
    const { exp } = jwt.decode(token) as { exp: number };
    return { token, jti, expiresAt: new Date(exp * 1000) };
  }

  /**
   * Checks the signature (ES256 only, by a key still accepted), type, issuer, audience, expiry, the
   * presence of sub, sid and jti, and that `exp - iat` is within the configured lifetime. The ids come
   * back lower-cased.
   */
  verify(raw: string): AccessTokenCheck {
    const cached = this.verified.get(raw);
    if (cached) {
      if (this.keys.verifier(cached.kid) === undefined) {
        this.verified.delete(raw);
        return { ok: false, reason: "invalid token" };
      }
      if (cached.token.expiresAt.getTime() <= Date.now()) return { ok: false, reason: "token expired" };
      return { ok: true, token: cached.token };
    }
    const checked = this.check(raw);
    if (checked.ok) {
      const ttl = checked.token.expiresAt.getTime() - Date.now();
      if (ttl > 0) this.verified.set(raw, { kid: checked.kid, token: checked.token }, { ttl });
      return { ok: true, token: checked.token };
    }
    return checked;
  }

  private check(raw: string): { ok: true; kid: string; token: VerifiedAccessToken } | { ok: false; reason: string } {
    // The header names the key; the algorithm is fixed here, never taken from the token.
    const decoded = jwt.decode(raw, { complete: true });
    const kid = decoded?.header.kid;
    if (decoded?.header.alg !== ALGORITHM || typeof kid !== "string") return { ok: false, reason: "invalid token" };
    const key = this.keys.verifier(kid);
    if (!key) return { ok: false, reason: "invalid token" };
    try {
      const { header, payload } = jwt.verify(raw, key, {
        algorithms: [ALGORITHM],
        issuer: this.options.issuer,
        audience: this.options.audience,
        complete: true,
      });
      if (header.typ !== ACCESS_TOKEN_TYPE) return { ok: false, reason: "not an access token" };
      if (
        typeof payload !== "object" ||
        !isUuid(payload.sub) ||
        !isUuid(payload.sid) ||
        typeof payload.jti !== "string" ||
        (payload.org !== undefined && !isUuid(payload.org))
      ) {
        return { ok: false, reason: "malformed token" };
      }
      if (typeof payload.exp !== "number" || typeof payload.iat !== "number") {
        return { ok: false, reason: "token without exp or iat" };
      }
      // Kafkey never signs a longer-lived one: a token that says so was not made by this deployment's rules.
      if (payload.exp - payload.iat > this.options.accessTokenTtlSeconds + LIFETIME_LEEWAY_SECONDS) {
        return { ok: false, reason: "token lifetime too long" };
      }
      const token: VerifiedAccessToken = Object.freeze({
        // Canonical like every id a client sends (graphql/scalars.ts): self checks and cache keys compare strings.
        userId: payload.sub.toLowerCase(),
        sessionId: (payload.sid as string).toLowerCase(),
        jti: payload.jti,
        issuedAt: new Date(payload.iat * 1000),
        expiresAt: new Date(payload.exp * 1000),
        organizationId: (payload.org as string | undefined)?.toLowerCase() ?? null,
      });
      return { ok: true, kid, token };
    } catch (error) {
      return { ok: false, reason: error instanceof jwt.TokenExpiredError ? "token expired" : "invalid token" };
    }
  }
}
