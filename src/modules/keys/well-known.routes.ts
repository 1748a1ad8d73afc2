import type { FastifyInstance, FastifyRequest } from "fastify";
import { SIGNING_ALGORITHM, type SigningKeys } from "./signing-keys.service.js";

/**
 * Readable from any origin, without credentials: public documents a browser-side verifier may fetch.
 * @fastify/cors reads a route's own options over its global ones (an origin allow-list, with credentials).
 */
const PUBLIC_CORS = { cors: { origin: "*", credentials: false } };

/**
 * The documents resource servers verify Kafkey's access tokens with:
 * - `GET /.well-known/jwks.json`: the public keys in use (current, next once staged, retired until their
 *   tokens have expired), cacheable for half the publish lead, so a verifier's cache holds a staged key
 *   before it signs;
 * - `GET /.well-known/oauth-authorization-server` (RFC 8414) and `/.well-known/openid-configuration`:
 *   the same honest subset, naming only what exists (the issuer, the JWKS and its algorithm). Kafkey
 *   has no OAuth authorization or token endpoint and issues no ID tokens: neither document claims them.
 * @param issuer the `iss` of every access token.
 * @param publicUrl Kafkey's base URL as clients see it, for `jwks_uri`.
 */
export function registerWellKnownRoutes(
  http: FastifyInstance,
  keys: SigningKeys,
  issuer: string,
  publicUrl: (request: FastifyRequest) => string,
): void {
  const cacheControl = () => `public, max-age=${keys.maxAgeSeconds}`;
  http.get("/.well-known/jwks.json", { config: PUBLIC_CORS }, async (_request, reply) =>
    reply.header("cache-control", cacheControl()).type("application/jwk-set+json").send(keys.jwks()),
  );
  const metadata = async (request: FastifyRequest) => ({
    issuer,
    jwks_uri: `${publicUrl(request)}/.well-known/jwks.json`,
    // Not registered metadata: the `alg` of the access tokens (RFC 9068), which every JWK also says.
    access_token_signing_alg_values_supported: [SIGNING_ALGORITHM],
    // RFC 7662, for services that must see a revocation before the token expires (modules/gateway).
    introspection_endpoint: `${publicUrl(request)}/oauth/introspect`,
    introspection_endpoint_auth_methods_supported: ["client_secret_basic"],
    // RFC 8414 asks for it; Kafkey has no authorization endpoint, so it supports no response type.
    response_types_supported: [],
  });
  for (const path of ["/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"]) {
    http.get(path, { config: PUBLIC_CORS }, async (request, reply) =>
      reply.header("cache-control", cacheControl()).send(await metadata(request)),
    );
  }
}
