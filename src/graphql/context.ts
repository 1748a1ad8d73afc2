import type { FastifyRequest } from "fastify";
import type { AuditService } from "../modules/audit/index.js";
import type { OAuthService } from "../modules/oauth/index.js";
import type { ReauthService } from "../modules/reauth/index.js";
import type {
  AccessTokenCheck,
  AccessTokens,
  AccountEmailService,
  AuthService,
  VerifiedAccessToken,
} from "../modules/auth/index.js";
import type { MfaService } from "../modules/mfa/index.js";
import type { NotificationService } from "../modules/notifications/index.js";
import type { OrganizationService, MemberService } from "../modules/organizations/index.js";
import {
  type AccessService,
  organizationGrants,
  type OrganizationRefusal,
  type PermissionService,
  type Principal,
} from "../modules/permissions/index.js";
import type { RoleLoaders, RoleService } from "../modules/roles/index.js";
import type { SessionService } from "../modules/sessions/index.js";
import type { UserService } from "../modules/users/index.js";
import { createRoleLoaders } from "../modules/roles/index.js";
import type { PrismaClient } from "../platform/db/database.js";
import type { ScopedClient, ScopedClients } from "../platform/db/scoped.js";
import { clientOf } from "../platform/http/request-id.js";
import { isUuid } from "../platform/uuid.js";
import type { Logger } from "../platform/observability/logger.js";
import { currentRequestContext } from "../platform/observability/request-context.js";
import { BadUserInputError, NotFoundError, UnauthenticatedError } from "./errors.js";
import type { FieldRateLimiter } from "./rate-limit.js";

/** The domain services, built once in app.ts. */
export interface Services {
  audit: AuditService;
  oauth: OAuthService;
  access: AccessService;
  auth: AuthService;
  accountEmail: AccountEmailService;
  mfa: MfaService;
  /** Recent re-authentication before credential changes. */
  reauth: ReauthService;
  users: UserService;
  roles: RoleService;
  permissions: PermissionService;
  sessions: SessionService;
  organizations: OrganizationService;
  members: MemberService;
  notifications: NotificationService;
}

/** One organization's rows, as the caller may reach them. */
export interface Tenant {
  organizationId: string;
  /** Sees only this organization's rows (src/platform/db/scoped.ts). */
  db: ScopedClient;
}

/** Where a request comes from, for sessions and logs. */
export interface ClientInfo {
  ip: string;
  userAgent: string | undefined;
}

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
  limiter: FieldRateLimiter;
  /** The caller, loaded once per request; null when anonymous, the token is bad or the user is gone. */
  principal(): Promise<Principal | null>;
  /**
   * The caller as they are now, loaded again (a subscription asks before each event): null once the
   * token expired or was revoked, or the user is disabled or gone.
   */
  reload(): Promise<Principal | null>;
  /** The WebSocket connection, for a subscription. */
  live: LiveConnection | undefined;
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
  services: Services;
  loaders: RoleLoaders;
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

export interface ContextDependencies {
  services: Services;
  tokens: AccessTokens;
  limiter: FieldRateLimiter;
  prisma: PrismaClient;
  scoped: ScopedClients;
  log: Logger;
}

/** What a context is made from: an HTTP request, or one operation of a WebSocket connection. */
export interface RequestInfo {
  id: string;
  /** `Bearer <token>`, as sent. */
  authorization: string | undefined;
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

/** What an HTTP request's context is made from. */
export function requestInfo(request: FastifyRequest, publicUrl: string): RequestInfo {
  return {
    id: request.id,
    authorization: request.headers.authorization,
    organizationHeader: request.headers["x-organization-id"],
    client: clientOf(request),
    publicUrl,
  };
}

/**
 * Builds the per-request context. The token's signature is checked here; whether it was revoked and
 * who its user is now are loaded once, when a rule first asks.
 */
export function contextFactory(deps: ContextDependencies) {
  return (request: RequestInfo): Context => {
    const raw = bearerToken(request.authorization);
    const check = raw === undefined ? undefined : deps.tokens.verify(raw);
    const token = check?.ok ? check.token : null;
    // Apollo hands resolvers a shallow copy of the context: state that changes lives in these closures.
    let problem = tokenProblem(check, request.authorization);
    const organization = requestedOrganization(request.organizationHeader, token);
    if (organization.problem) throw organizationHeaderError(request.organizationHeader)!;
    let organizationProblem: string | undefined;
    let principal: Promise<Principal | null> | undefined;
    const load = async (verified: VerifiedAccessToken): Promise<Principal | null> => {
      // The database of record decides whether the session still lives (cached, told of revocations).
      const [live, loaded] = await Promise.all([
        deps.services.sessions.isLive(verified.sessionId, verified.userId),
        deps.services.access.principal(verified.userId, organization.id ?? undefined),
      ]);
      const revoked = !live;
      if (revoked) problem = "token revoked";
      else if (!loaded.principal) problem = "user disabled or deleted";
      if (loaded.refusal) organizationProblem = REFUSALS[loaded.refusal];
      return revoked ? null : loaded.principal;
    };
    const principalOnce = () => (principal ??= token ? load(token) : Promise.resolve(null));
    const requestContext = currentRequestContext();
    if (requestContext && token) requestContext.userId = token.userId;
    return {
      requestId: request.id,
      client: request.client,
      publicUrl: request.publicUrl,
      token,
      tokenProblem: () => problem,
      limiter: deps.limiter,
      principal: principalOnce,
      async reload() {
        if (!token) return null;
        if (token.expiresAt.getTime() <= Date.now()) {
          problem = "token expired";
          return null;
        }
        return load(token);
      },
      live: request.live,
      organizationId: organization.id,
      organizationProblem: () => organizationProblem,
      async tenant(organizationId) {
        const actor = await principalOnce();
        const id = organizationId ?? actor?.organization?.id;
        if (!actor || !id || organizationGrants(actor, id) === null) throw new NotFoundError("Organization");
        return { organizationId: id, db: deps.scoped.of(id) };
      },
      selfIds: new Set(token ? [token.userId] : []),
      services: deps.services,
      loaders: createRoleLoaders(deps.prisma, deps.scoped),
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
