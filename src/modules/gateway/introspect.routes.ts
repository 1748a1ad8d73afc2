import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { type AccessTokenCheck, API_KEY_PREFIX, type Principal } from "../../kernel/principal.js";
import type { ApiKeyIdentity } from "../api-keys/index.js";

/** Where a resource server asks whether a token is active (RFC 7662). */
export const INTROSPECTION_PATH = "/oauth/introspect";
/** The longest `token` read: anything longer is no token Kafkey issued. */
const MAX_TOKEN_LENGTH = 8192;

export interface IntrospectionDependencies {
  /** Who an API key acts as now (a revoked, expired or disabled one: nobody). */
  apiKey(secret: string): Promise<ApiKeyIdentity>;
  /** Checks an access token's signature, issuer, audience and expiry. */
  verify(raw: string): AccessTokenCheck;
  /** Whether session `sessionId` of `userId` still lives, as the database of record says. */
  isLive(sessionId: string, userId: string): Promise<boolean>;
  /** The user a token names, if still active (in `organizationId`, when it acts in one). */
  principal(userId: string, organizationId?: string): Promise<{ principal: Principal | null; refusal?: string }>;
  /** The `iss` and `aud` of Kafkey's access tokens, and their `client_id`. */
  issuer: string;
  audience: string;
  clientId: string;
}

/** The caller's credential: `Authorization: Bearer kfk_…`, or Basic with the key as the password. */
function callerKey(authorization: string | undefined): string | undefined {
  const [scheme, value] = (authorization ?? "").split(" ", 2);
  if (!value) return undefined;
  if (scheme?.toLowerCase() === "bearer") return value.trim();
  if (scheme?.toLowerCase() !== "basic") return undefined;
  const decoded = Buffer.from(value, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return undefined;
  try {
    // RFC 6749 2.3.1: client_id and client_secret are form-urlencoded before they are joined.
    return decodeURIComponent(decoded.slice(colon + 1));
  } catch {
    return undefined;
  }
}

const INACTIVE = { active: false } as const;

/**
 * `POST /oauth/introspect` (RFC 7662): for a service that must see a revocation at once, where
 * checking a token's signature against the JWKS sees one only when the token expires. The caller
 * authenticates with one of its service account's API keys (`Authorization: Bearer kfk_…`, or HTTP
 * Basic with the key as the password); `token` (form or JSON body) is an access token or an API key.
 * The answer is `{ "active": false }` for any token that does not work now (bad, expired, revoked,
 * its user disabled), with no reason: the caller learns only whether to accept it.
 */
export async function registerIntrospectionRoutes(
  http: FastifyInstance,
  deps: IntrospectionDependencies,
): Promise<void> {
  const describe = async (token: string): Promise<Record<string, unknown>> => {
    if (token.startsWith(API_KEY_PREFIX)) {
      const { principal, refusal } = await deps.apiKey(token).catch(() => ({ principal: null, refusal: undefined }));
      if (!principal?.apiKey || refusal) return INACTIVE;
      // What the key may do now: its permissions, cut to what its owner still holds (where it acts).
      const grants = principal.apiKey.organizationId ? (principal.organization?.grants ?? []) : principal.grants;
      if (grants.length === 0) return INACTIVE;
      return {
        active: true,
        token_type: "api_key",
        sub: principal.userId,
        scope: grants.join(" "),
        ...(principal.apiKey.organizationId ? { org: principal.apiKey.organizationId } : {}),
        iss: deps.issuer,
      };
    }
    const check = deps.verify(token);
    if (!check.ok) return INACTIVE;
    const { userId, sessionId, jti, expiresAt, issuedAt, organizationId } = check.token;
    const [live, loaded] = await Promise.all([
      deps.isLive(sessionId, userId),
      deps.principal(userId, organizationId ?? undefined),
    ]);
    // A token naming an organization its user can no longer act in is refused there as everywhere.
    if (!live || !loaded.principal || loaded.refusal) return INACTIVE;
    return {
      active: true,
      token_type: "Bearer",
      client_id: deps.clientId,
      sub: userId,
      username: loaded.principal.profile.email,
      iss: deps.issuer,
      aud: deps.audience,
      exp: Math.floor(expiresAt.getTime() / 1000),
      iat: Math.floor(issuedAt.getTime() / 1000),
      jti,
      sid: sessionId,
      ...(organizationId ? { org: organizationId } : {}),
    };
  };

  const introspect = async (request: FastifyRequest, reply: FastifyReply) => {
    reply.header("cache-control", "no-store");
    const secret = callerKey(request.headers.authorization);
    const caller = secret?.startsWith(API_KEY_PREFIX)
      ? await deps.apiKey(secret).catch(() => ({ principal: null }))
      : { principal: null };
    // Only a platform service account asks: a person's key, a session's token or nothing is no resource
    // server, and an organization's account would see other tenants' tokens.
    const asker = caller.principal?.profile;
    if (asker?.kind !== "service" || asker.organizationId !== null) {
      reply.header("www-authenticate", 'Basic realm="kafkey", Bearer realm="kafkey"');
      return reply.status(401).send({
        error: "invalid_client",
        error_description: "Authenticate with an API key of a platform service account",
      });
    }
    const body = (request.body ?? {}) as Record<string, unknown>;
    const token = typeof body.token === "string" ? body.token : undefined;
    if (!token || token.length > MAX_TOKEN_LENGTH) {
      return reply.status(400).send({ error: "invalid_request", error_description: "token is required" });
    }
    return reply.status(200).send(await describe(token));
  };

  await http.register(async (scope) => {
    // RFC 7662 posts a form; JSON is read as well, for clients that send it.
    scope.addContentTypeParser("application/x-www-form-urlencoded", { parseAs: "string" }, (_request, body, done) =>
      done(null, Object.fromEntries(new URLSearchParams(body as string))),
    );
    scope.post(INTROSPECTION_PATH, introspect);
  });
}
