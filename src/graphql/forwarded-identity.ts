import type { FastifyReply, FastifyRequest } from "fastify";
import type { Principal } from "../kernel/principal.js";
import { type CookiePolicy, navigationAccessCookieOf } from "../platform/http/session-cookies.js";
import { type Context, type RequestInfo, requestInfo } from "./context.js";

/**
 * How `/auth/verify` (modules/gateway) finds the caller of a forwarded request: through the very
 * context a GraphQL request gets (bearer token, API key, access cookie from a trusted page; the same
 * caches and revocations), the access cookie also counting without a trusted `Origin` when the
 * forwarded request is a page navigation (`navigation`: a GET or HEAD, as the proxy names it, that
 * carries no `Origin`).
 */
export function forwardedIdentity(
  contextFor: (request: RequestInfo) => Context,
  publicUrl: (request: FastifyRequest) => string,
  cookies: CookiePolicy,
) {
  return async (
    request: FastifyRequest,
    reply: FastifyReply,
    navigation: boolean,
  ): Promise<{ principal: Principal | null; problem: string | undefined; organizationRefused: boolean }> => {
    const info = requestInfo(request, reply, publicUrl(request), cookies);
    // A navigation carries no Origin; a GET that has one (a script's fetch) follows the trusted-page rule.
    if (navigation && request.headers.origin === undefined) {
      info.accessCookie ??= navigationAccessCookieOf(request.headers, cookies);
    }
    const context = contextFor(info);
    const principal = await context.principal();
    return {
      principal,
      problem: context.tokenProblem(),
      organizationRefused: context.organizationProblem() !== undefined,
    };
  };
}
