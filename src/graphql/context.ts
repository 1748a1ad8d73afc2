import type { FastifyRequest } from "fastify";
import type { AccessTokenCheck, AccessTokens, AuthService, VerifiedAccessToken } from "../modules/auth/index.js";
import type { AccessService, PermissionService, Principal } from "../modules/permissions/index.js";
import type { RoleLoaders, RoleService } from "../modules/roles/index.js";
import type { UserService } from "../modules/users/index.js";
import { createRoleLoaders } from "../modules/roles/index.js";
import type { PrismaClient } from "../platform/db/database.js";
import { currentRequestContext } from "../platform/observability/request-context.js";
import { UnauthenticatedError } from "./errors.js";

/** The domain services, built once in app.ts. */
export interface Services {
  access: AccessService;
  auth: AuthService;
  users: UserService;
  roles: RoleService;
  permissions: PermissionService;
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
  /** The verified access token, or null with the reason in `tokenProblem`. */
  token: VerifiedAccessToken | null;
  tokenProblem: string | undefined;
  /** The caller, loaded once per request; null when anonymous, the token is bad or the user is gone. */
  principal(): Promise<Principal | null>;
  /** Users whose own fields this response may show: the caller, and whoever this request signed in. */
  selfIds: Set<string>;
  services: Services;
  loaders: RoleLoaders;
}

function bearerToken(header: string | undefined): string | undefined {
  const match = header?.match(/^Bearer\s+(\S+)\s*$/i);
  return match?.[1];
}

function tokenProblem(check: AccessTokenCheck | undefined, header: string | undefined): string | undefined {
  if (check) return check.ok ? undefined : check.reason;
  return header === undefined ? undefined : "malformed authorization header";
}

/** Builds the per-request context: verifies the access token but loads the principal lazily. */
export function contextFactory(deps: { services: Services; tokens: AccessTokens; prisma: PrismaClient }) {
  return async (request: FastifyRequest): Promise<Context> => {
    const raw = bearerToken(request.headers.authorization);
    const check = raw === undefined ? undefined : deps.tokens.verify(raw);
    const token = check?.ok ? check.token : null;
    let principal: Promise<Principal | null> | undefined;
    const requestContext = currentRequestContext();
    if (requestContext && token) requestContext.userId = token.userId;
    return {
      requestId: request.id,
      client: { ip: request.ip, userAgent: request.headers["user-agent"]?.slice(0, 512) },
      token,
      tokenProblem: tokenProblem(check, request.headers.authorization),
      principal: () => (principal ??= token ? deps.services.access.principal(token.userId) : Promise.resolve(null)),
      selfIds: new Set(token ? [token.userId] : []),
      services: deps.services,
      loaders: createRoleLoaders(deps.prisma),
    };
  };
}

/** The caller of a field whose rule already required a signed-in user. */
export async function actorOf(ctx: Context): Promise<Principal> {
  const principal = await ctx.principal();
  if (!principal) throw new UnauthenticatedError();
  return principal;
}
