import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { REQUIRED_PERMISSION, type VerifyHeader, type VerifyRoute } from "../../config.js";
import { BadUserInputError, ErrorCode, ServiceUnavailableError } from "../../kernel/errors.js";
import { holdsNow, type Principal } from "../../kernel/principal.js";
import { forwardedRequest, isSafeMethod, routePermissions, VERIFY_PATH } from "./forwarded.js";

/** Who the forwarded request's credentials name, found the way GraphQL finds its caller. */
export interface ForwardedIdentity {
  /** Null without credentials, with bad, expired or revoked ones, or for a disabled or deleted user. */
  principal: Principal | null;
  /** Why credentials that were sent do not count (`token revoked`, …); undefined when none were sent. */
  problem: string | undefined;
  /** Whether the request names an organization (header or token claim) that it cannot act in. */
  organizationRefused: boolean;
}

export interface VerifyDependencies {
  /**
   * The caller of `request`: its bearer token, API key, or (from a trusted page, or on a navigation when
   * `navigation` is set) its access cookie, with GraphQL's caches and revocations. Throws
   * BadUserInputError for a malformed `x-organization-id` or `x-kafkey-auth-mode`.
   */
  identify(request: FastifyRequest, reply: FastifyReply, navigation: boolean): Promise<ForwardedIdentity>;
  /** Every permission key `principal` holds now (what `myPermissions` answers). */
  permissionsOf(principal: Principal): Promise<string[]>;
  /** KAFKEY_VERIFY_ROUTES. */
  routes: readonly VerifyRoute[];
  /** KAFKEY_VERIFY_HEADERS. */
  headers: readonly VerifyHeader[];
}

/** The headers a 200 carries; the proxy copies them onto the request it passes upstream. */
export const IDENTITY_HEADERS = {
  userId: "x-kafkey-user-id",
  organizationId: "x-kafkey-organization-id",
  permissions: "x-kafkey-permissions",
  email: "x-kafkey-email",
  roles: "x-kafkey-roles",
} as const;

type Query = Record<string, unknown>;

/** `?permission=` (repeatable, or comma separated); undefined when one is not a permission key. */
function requestedPermissions(query: Query): string[] | undefined {
  const given = query.permission;
  const texts = given === undefined ? [] : Array.isArray(given) ? given : [given];
  const keys = texts.flatMap((text) => String(text).split(",")).map((key) => key.trim());
  return keys.every((key) => REQUIRED_PERMISSION.test(key)) ? keys : undefined;
}

function refuse(
  request: FastifyRequest,
  reply: FastifyReply,
  status: number,
  code: ErrorCode,
  message: string,
  extra: Record<string, unknown> = {},
) {
  return reply.status(status).send({ errors: [{ message, extensions: { code, ...extra, requestId: request.id } }] });
}

/**
 * `/auth/verify`, the question a reverse proxy asks before it passes a request on (nginx
 * `auth_request`, Traefik `forwardAuth`, Caddy `forward_auth`, Envoy's HTTP external authorization):
 * 200 with the caller's identity in headers and no body; 401 UNAUTHENTICATED (`WWW-Authenticate:
 * Bearer`) without valid credentials; 403 FORBIDDEN when a permission that `?permission=` or
 * KAFKEY_VERIFY_ROUTES requires is missing (`requiredPermission`), or the named organization cannot be
 * acted in. Every method, and any path under it (Envoy sends the original ones). Not under the per-IP
 * HTTP rate limit: every request of the protected app passes through here, often from the one address
 * of its proxy, and a refusal here costs no database work (docs/gateway.md).
 */
export async function registerVerifyRoutes(http: FastifyInstance, deps: VerifyDependencies): Promise<void> {
  const verify = async (request: FastifyRequest<{ Querystring: Query }>, reply: FastifyReply) => {
    const forwarded = forwardedRequest(request.headers, request.method, request.url);
    // Under Envoy's path the query string is the protected app's, not a question to Kafkey.
    const envoy = request.url.split("?")[0]!.length > VERIFY_PATH.length;
    const asked = envoy ? [] : requestedPermissions(request.query);
    if (asked === undefined) {
      return refuse(request, reply, 400, ErrorCode.BAD_REQUEST, "permission must be permission keys");
    }
    let identity: ForwardedIdentity;
    try {
      identity = await deps.identify(request, reply, isSafeMethod(forwarded));
    } catch (error) {
      if (error instanceof BadUserInputError) return refuse(request, reply, 400, ErrorCode.BAD_REQUEST, error.message);
      if (error instanceof ServiceUnavailableError) {
        return refuse(request, reply, 503, ErrorCode.SERVICE_UNAVAILABLE, error.message);
      }
      throw error;
    }
    const { principal } = identity;
    if (!principal) {
      // RFC 6750: `invalid_token` tells a client that the credentials it sent are the problem.
      const challenge =
        identity.problem === undefined ? 'Bearer realm="kafkey"' : 'Bearer realm="kafkey", error="invalid_token"';
      reply.header("www-authenticate", challenge);
      return refuse(request, reply, 401, ErrorCode.UNAUTHENTICATED, "Authentication required");
    }
    if (identity.organizationRefused) {
      return refuse(request, reply, 403, ErrorCode.FORBIDDEN, "You cannot act in this organization");
    }
    const missing = [...asked, ...routePermissions(deps.routes, forwarded)].find((key) => !holdsNow(principal, key));
    if (missing !== undefined) {
      return refuse(request, reply, 403, ErrorCode.FORBIDDEN, `Missing permission ${missing}`, {
        requiredPermission: missing,
      });
    }
    reply.header(IDENTITY_HEADERS.userId, principal.userId);
    // Every identity header is in every 200, empty when there is nothing to say: a proxy that copies it
    // onto the upstream request then replaces one the client sent itself.
    reply.header(IDENTITY_HEADERS.organizationId, principal.organization?.id ?? "");
    reply.header(IDENTITY_HEADERS.permissions, (await deps.permissionsOf(principal)).join(","));
    for (const header of deps.headers) {
      if (header === "email") reply.header(IDENTITY_HEADERS.email, encodeURI(principal.profile.email));
      if (header === "roles") reply.header(IDENTITY_HEADERS.roles, principal.roles.join(","));
    }
    return reply.status(200).send();
  };

  await http.register(async (scope) => {
    // Envoy sends the original request's method and headers without its body: whatever its content
    // type, nothing is read.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser("*", (_request, _payload, done) => done(null, undefined));
    for (const url of [VERIFY_PATH, `${VERIFY_PATH}/*`]) {
      scope.route<{ Querystring: Query }>({
        url,
        method: ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
        config: { rateLimit: false },
        handler: verify,
      });
    }
  });
}
