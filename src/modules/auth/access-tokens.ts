import { createSecretKey, randomUUID, type KeyObject } from "node:crypto";
import jwt from "jsonwebtoken";
import type { Config } from "../../config.js";
import type { AccessTokenCheck } from "../../kernel/principal.js";
import { isUuid } from "../../platform/uuid.js";

/** The JOSE `typ` of Kafkey access tokens (RFC 9068), so no other token can pass for one. */
const ACCESS_TOKEN_TYPE = "at+jwt";

/** How much longer than the configured lifetime a token may say it lives (clock steps, rounding). */
const LIFETIME_LEEWAY_SECONDS = 60;

export interface IssuedAccessToken {
  token: string;
  jti: string;
  expiresAt: Date;
}

/**
 * Signs and verifies access tokens: HS256 JWTs with `iss`, `aud`, `sub`, `sid`, `jti`, `iat`, `exp`
 * and, for a session acting in an organization, `org`.
 * The key is a `KeyObject`: jsonwebtoken verifies about 50x slower with a string secret.
 */
export class AccessTokens {
  private readonly key: KeyObject;

  constructor(
    secret: string,
    private readonly options: Pick<Config["jwt"], "issuer" | "audience" | "accessTokenTtlSeconds">,
  ) {
    this.key = createSecretKey(Buffer.from(secret, "utf8"));
  }

  /** @param organizationId the organization the token acts in, as its `org` claim. */
  sign(userId: string, sessionId: string, organizationId: string | null = null): IssuedAccessToken {
    const jti = randomUUID();
    const claims = organizationId === null ? { sid: sessionId } : { sid: sessionId, org: organizationId };
    const token = jwt.sign(claims, this.key, {
      algorithm: "HS256",
      header: { alg: "HS256", typ: ACCESS_TOKEN_TYPE },
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
   * Checks signature (HS256 only), type, issuer, audience, expiry, the presence of sub, sid and jti, and
   * that `exp - iat` is within the configured lifetime. The ids come back lower-cased.
   */
  verify(token: string): AccessTokenCheck {
    try {
      const { header, payload } = jwt.verify(token, this.key, {
        algorithms: ["HS256"],
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
      return {
        ok: true,
        token: {
          // Canonical like every id a client sends (graphql/scalars.ts): self checks and cache keys compare strings.
          userId: payload.sub.toLowerCase(),
          sessionId: (payload.sid as string).toLowerCase(),
          jti: payload.jti,
          expiresAt: new Date(payload.exp * 1000),
          organizationId: (payload.org as string | undefined)?.toLowerCase() ?? null,
        },
      };
    } catch (error) {
      return { ok: false, reason: error instanceof jwt.TokenExpiredError ? "token expired" : "invalid token" };
    }
  }
}
