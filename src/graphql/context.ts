import type { FastifyReply, FastifyRequest } from "fastify";
import type { ClientInfo, Tenant } from "../kernel/request.js";
import type { ScopedClients } from "../platform/db/scoped.js";
import { clientOf } from "../platform/http/request-id.js";
import {
  AUTH_MODE_HEADER,
  authModeOf,
  type CookiePolicy,
  SessionCookieWriter,
  sessionCookiesOf,
  type SessionTokens,
} from "../platform/http/session-cookies.js";
import { isUuid } from "../platform/uuid.js";
import type { Logger } from "../platform/observability/logger.js";
import { currentRequestContext } from "../platform/observability/request-context.js";
import type { Instances } from "./container.js";
import {
  API_KEY_PREFIX,
  type AccessTokenCheck,
  type VerifiedAccessToken,
  organizationGrants,
  type OrganizationRefusal,
  type Principal,
} from "../kernel/principal.js";
import { BadUserInputError, NotFoundError, UnauthenticatedError } from "../kernel/errors.js";

/** What every resolver and rule of one GraphQL request sees. */
export interface Context {
  requestId: string;
  client: ClientInfo;
  /** Kafkey's base URL as this request's client sees it (`KAFKEY_PUBLIC_URL`, else the request's own). */
  publicUrl: string;
  /** The verified access token, or null with the reason in `tokenProblem`. */
  token: VerifiedAccessToken | null;
  /** Why the request is not authenticated although it presented a token (known once principal() ran). */
  tokenProblem(): string | undefined;
  /** The caller, loaded once per request; null when anonymous, the token is bad or the user is gone. */
  principal(): Promise<Principal | null>;
  /**
   * The caller as they are now, loaded again (a subscription asks before each event): null once the
   * token expired or was revoked, or the user is disabled or gone.
   */
  reload(): Promise<Principal | null>;
  /** The WebSocket connection, for a subscription. */
  live: LiveConnection | undefined;
  /** The browser's session cookies: where the tokens this request issues go, and the refresh cookie. */
  browser: BrowserSession;
  /** The organization the request acts in, as named (x-organization-id, else the token's org claim). */
  organizationId: string | null;
  /** Why the request cannot act in the organization it names (known once principal() ran). */
  organizationProblem(): string | undefined;
  /**
   * The organization `organizationId` (default: the active one) with a client scoped to it, when the
   * caller acts in it or holds a platform `orgs.*` permission; NOT_FOUND otherwise.
   */
  tenant(organizationId?: string | null): Promise<Tenant>;
  /** Users whose own fields this response may show: the caller, and whoever this request signed in. */
  selfIds: Set<string>;
  /**
   * What a mutation of this request changed, with the permission to: a user's id (updateUser,
   * assignRole and removeRole need users.update), or `<organizationId>/<userId>` for a member's
   * organization roles (org.roles.manage). Its answer shows them without the permission to read
   * them: a mutation's response asks no more permission than the mutation.
   */
  changedIds: Set<string>;
  /** This app's resolvers and the services rules ask for (TypeGraphQL's container). */
  container: Instances;
  /** A value made once per request and kept for its length, by `key` (DataLoaders, for one). */
  once<T>(key: object, make: () => T): T;
  log: Logger;
}

function bearerToken(header: string | undefined): string | undefined {
  const match = header?.match(/^Bearer\s+(\S+)\s*$/i);
  return match?.[1];
}

const REFUSALS: Record<OrganizationRefusal, string> = {
  // Whether an organization one is not in exists is none of one's business.
  not_found: "You are not a member of this organization",
  not_member: "You are not a member of this organization",
  suspended: "This organization is suspended",
};

/** The organization a request names: its `x-organization-id` header, else its token's `org` claim. */
function requestedOrganization(
  header: unknown,
  token: VerifiedAccessToken | null,
): { id: string | null; problem?: string } {
  if (header === undefined || header === null) return { id: token?.organizationId ?? null };
  if (typeof header !== "string" || !isUuid(header.trim()))
    return { id: null, problem: "x-organization-id is not a UUID" };
  return { id: header.trim().toLowerCase() };
}

/**
 * BAD_USER_INPUT (HTTP 400) for an `x-organization-id` that is sent but is not a UUID: silently acting
 * in no organization instead would hide the client's mistake. Undefined when it is fine or absent.
 */
export function organizationHeaderError(header: unknown): BadUserInputError | undefined {
  const { problem } = requestedOrganization(header, null);
  return problem
    ? new BadUserInputError([{ path: "x-organization-id", message: "is not a UUID" }], problem, 400)
    : undefined;
}

function tokenProblem(check: AccessTokenCheck | undefined, header: string | undefined): string | undefined {
  if (check) return check.ok ? undefined : check.reason;
  return header === undefined ? undefined : "malformed authorization header";
}

/** Who a verified token's user is now: the two questions a context asks of the modules. */
export interface Identification {
  /** Whether the session still lives and belongs to `userId` (the database of record decides). */
  isLive(sessionId: string, userId: string): Promise<boolean>;
  /** The active user with their grants (null when disabled or gone), in `organizationId` if named. */
  principal(
    userId: string,
    organizationId?: string,
  ): Promise<{ principal: Principal | null; refusal?: OrganizationRefusal }>;
  /**
   * Who a presented API key acts as now (null with the `problem` when it is invalid, expired, revoked or
   * its owner inactive), in the organization the request names unless the key is bound to one.
   */
  apiKey(
    secret: string,
    organizationId: string | null,
  ): Promise<{ principal: Principal | null; problem?: string; refusal?: OrganizationRefusal }>;
}

export interface ContextDependencies {
  tokens: { verify(raw: string): AccessTokenCheck };
  identification: Identification;
  scoped: ScopedClients;
  container: Instances;
  log: Logger;
}

/** What a context is made from: an HTTP request, or one operation of a WebSocket connection. */
export interface RequestInfo {
  id: string;
  /** `Bearer <token>`, as sent. */
  authorization: string | undefined;
  /** The access cookie's token, when a page of a trusted origin sent it: the bearer header wins. */
  accessCookie?: string;
  /** An HTTP request's session cookies (none for a WebSocket operation). */
  browser?: BrowserSession;
  /** The `x-organization-id` header (or connection parameter), as sent. */
  organizationHeader: unknown;
  client: ClientInfo;
  publicUrl: string;
  /** The WebSocket connection of a subscription. */
  live?: LiveConnection;
}

/** The connection a subscription streams on. */
export interface LiveConnection {
  /** Ends the connection: 4403 when the caller may no longer receive, 1008 when too slow. */
  close(code: number, reason: string): void;
}

/** A browser's session cookies, as one request sees them. */
export interface BrowserSession {
  /** Whether the tokens this request issues go in cookies, not in its answer (`x-kafkey-auth-mode: cookie`). */
  readonly cookieMode: boolean;
  /** The refresh cookie's token, when a page of a trusted origin sent it. */
  readonly refreshToken: string | undefined;
  /** Sets the cookies of a session this request signed in or refreshed. */
  keep(tokens: SessionTokens): void;
  /** Clears both cookies: a logout, or a session found ended. */
  forget(): void;
}

/** A WebSocket operation's: it sets no cookie (the connection authenticated once, at its start). */
const NO_BROWSER: BrowserSession = { cookieMode: false, refreshToken: undefined, keep() {}, forget() {} };

/** What an HTTP request's context is made from. */
export function requestInfo(
  request: FastifyRequest,
  reply: FastifyReply,
  publicUrl: string,
  cookies: CookiePolicy,
): RequestInfo {
  const mode = authModeOf(request.headers);
  if (mode === undefined) {
    throw new BadUserInputError(
      [{ path: AUTH_MODE_HEADER, message: 'is neither "cookie" nor "header"' }],
      undefined,
      400,
    );
  }
  const sent = sessionCookiesOf(request.headers, cookies);
  const writer = new SessionCookieWriter(reply, cookies);
  return {
    id: request.id,
    authorization: request.headers.authorization,
    accessCookie: sent.access,
    organizationHeader: request.headers["x-organization-id"],
    client: clientOf(request),
    publicUrl,
    browser: {
      cookieMode: mode === "cookie",
      refreshToken: sent.refresh,
      keep: (tokens) => writer.keep(tokens),
      forget: () => writer.forget(),
    },
  };
}

/**
 * Builds the per-request context. The token's signature is checked here; whether it was revoked and
 * who its user is now are loaded once, when a rule first asks.
 */
export function contextFactory(deps: ContextDependencies) {
  return (request: RequestInfo): Context => {
    const bearer = bearerToken(request.authorization);
    const fromCookie =
      bearer === undefined && request.authorization === undefined && request.accessCookie !== undefined;
    const raw = fromCookie ? request.accessCookie : bearer;
    // An API key goes its own way: no JWT is verified, and `token` stays null (the key has no session).
    const apiKey = raw !== undefined && !fromCookie && raw.startsWith(API_KEY_PREFIX) ? raw : undefined;
    const check = raw === undefined || apiKey !== undefined ? undefined : deps.tokens.verify(raw);
    const browser = request.browser ?? NO_BROWSER;
    const token = check?.ok ? check.token : null;
    // Apollo hands resolvers a shallow copy of the context: state that changes lives in these closures.
    let problem = apiKey === undefined ? tokenProblem(check, request.authorization) : undefined;
    const organization = requestedOrganization(request.organizationHeader, token);
    if (organization.problem) throw organizationHeaderError(request.organizationHeader)!;
    let organizationProblem: string | undefined;
    let principal: Promise<Principal | null> | undefined;
    const load = async (verified: VerifiedAccessToken): Promise<Principal | null> => {
      // The database of record decides whether the session still lives (cached, told of revocations).
      const [live, loaded] = await Promise.all([
        deps.identification.isLive(verified.sessionId, verified.userId),
        deps.identification.principal(verified.userId, organization.id ?? undefined),
      ]);
      const revoked = !live;
      if (revoked) problem = "token revoked";
      // The browser keeps no cookie of a session that ended.
      if (revoked && fromCookie) browser.forget();
      else if (!loaded.principal) problem = "user disabled or deleted";
      if (loaded.refusal) organizationProblem = REFUSALS[loaded.refusal];
      return revoked ? null : loaded.principal;
    };
    const requestContext = currentRequestContext();
    const selfIds = new Set(token ? [token.userId] : []);
    const loadKey = async (secret: string): Promise<Principal | null> => {
      const identified = await deps.identification.apiKey(secret, organization.id);
      problem = identified.problem;
      if (identified.refusal) organizationProblem = REFUSALS[identified.refusal];
      if (identified.principal) {
        selfIds.add(identified.principal.userId);
        if (requestContext) requestContext.userId = identified.principal.userId;
      }
      return identified.principal;
    };
    const loadNow = () => (apiKey !== undefined ? loadKey(apiKey) : token ? load(token) : Promise.resolve(null));
    const principalOnce = () => (principal ??= loadNow());
    const made = new Map<object, unknown>();
    if (requestContext && token) requestContext.userId = token.userId;
    return {
      requestId: request.id,
      client: request.client,
      publicUrl: request.publicUrl,
      token,
      tokenProblem: () => problem,
      principal: principalOnce,
      async reload() {
        if (apiKey !== undefined) return loadKey(apiKey);
        if (!token) return null;
        if (token.expiresAt.getTime() <= Date.now()) {
          problem = "token expired";
          return null;
        }
        return load(token);
      },
      live: request.live,
      browser,
      organizationId: organization.id,
      organizationProblem: () => organizationProblem,
      async tenant(organizationId) {
        const actor = await principalOnce();
        const id = organizationId ?? actor?.organization?.id;
        if (!actor || !id || organizationGrants(actor, id) === null) throw new NotFoundError("Organization");
        return { organizationId: id, db: deps.scoped.of(id) };
      },
      selfIds,
      changedIds: new Set(),
      container: deps.container,
      once<T>(key: object, make: () => T): T {
        if (!made.has(key)) made.set(key, make());
        return made.get(key) as T;
      },
      log: deps.log,
    };
  };
}

/** The caller of a field whose rule already required a signed-in user. */
export async function actorOf(ctx: Context): Promise<Principal> {
  const principal = await ctx.principal();
  if (!principal) throw new UnauthenticatedError();
  return principal;
}
