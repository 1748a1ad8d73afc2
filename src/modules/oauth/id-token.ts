import { createPublicKey, type JsonWebKey, type KeyObject } from "node:crypto";
import jwt from "jsonwebtoken";
import { OAuthErrorCode, OAuthFlowError } from "./oauth.errors.js";

/** A provider's signing keys, fetched from its JWKS URL and fetched again when an unknown key id shows up. */
export class JwksKeys {
  private keys = new Map<string, KeyObject>();
  private fetchedAt = 0;

  constructor(private readonly url: string) {}

  async key(kid: string | undefined): Promise<KeyObject> {
    if (!kid) throw new OAuthFlowError(OAuthErrorCode.INVALID_ID_TOKEN, "ID token without a key id");
    // Keys rotate: an unknown kid refreshes the set, at most every 10 seconds.
    if (!this.keys.has(kid) && Date.now() - this.fetchedAt > 10_000) await this.refresh();
    const key = this.keys.get(kid);
    if (!key) throw new OAuthFlowError(OAuthErrorCode.INVALID_ID_TOKEN, "ID token signed with an unknown key");
    return key;
  }

  private async refresh(): Promise<void> {
    this.fetchedAt = Date.now();
    const response = await fetch(this.url, { signal: AbortSignal.timeout(5000) });
    if (!response.ok) throw new OAuthFlowError(OAuthErrorCode.PROVIDER_ERROR, `JWKS answered ${response.status}`);
    const { keys } = (await response.json()) as { keys?: (JsonWebKey & { kid?: string; use?: string })[] };
    const next = new Map<string, KeyObject>();
    for (const jwk of keys ?? []) {
      if (!jwk.kid || (jwk.use !== undefined && jwk.use !== "sig") || jwk.kty !== "RSA") continue;
      // One key Node cannot read must not take the others down with it.
      try {
        next.set(jwk.kid, createPublicKey({ key: jwk, format: "jwk" }));
      } catch {
        continue;
      }
    }
    this.keys = next;
  }
}

export interface IdTokenClaims {
  sub: string;
  exp?: number;
  aud?: string | string[];
  azp?: string;
  email?: string;
  email_verified?: boolean | string;
  name?: string;
  nonce?: string;
}

/**
 * Verifies an OpenID Connect ID token: its signature (RS256, against the provider's JWKS), `iss`,
 * `aud` (our client id), `exp`, and the `nonce` this login sent.
 */
export async function verifyIdToken(
  token: string,
  keys: JwksKeys,
  expected: { issuer: string; audience: string; nonce: string },
): Promise<IdTokenClaims> {
  const decoded = jwt.decode(token, { complete: true });
  if (!decoded || typeof decoded.payload === "string")
    throw new OAuthFlowError(OAuthErrorCode.INVALID_ID_TOKEN, "not a JWT");
  const key = await keys.key(decoded.header.kid);
  let claims: IdTokenClaims;
  try {
    claims = jwt.verify(token, key, {
      algorithms: ["RS256"],
      // Google writes its issuer with and without the scheme.
      issuer: [expected.issuer, expected.issuer.replace(/^https:\/\//, "")],
      audience: expected.audience,
      clockTolerance: 30,
    }) as IdTokenClaims;
  } catch (error) {
    throw new OAuthFlowError(OAuthErrorCode.INVALID_ID_TOKEN, (error as Error).message);
  }
  if (typeof claims.sub !== "string" || claims.sub === "") {
    throw new OAuthFlowError(OAuthErrorCode.INVALID_ID_TOKEN, "ID token without a subject");
  }
  if (typeof claims.exp !== "number")
    throw new OAuthFlowError(OAuthErrorCode.INVALID_ID_TOKEN, "ID token without an expiry");
  if (Array.isArray(claims.aud) && claims.aud.length > 1 && claims.azp !== expected.audience) {
    throw new OAuthFlowError(OAuthErrorCode.INVALID_ID_TOKEN, "ID token authorized for another party");
  }
  if (claims.nonce !== expected.nonce) throw new OAuthFlowError(OAuthErrorCode.INVALID_ID_TOKEN, "nonce mismatch");
  return claims;
}
