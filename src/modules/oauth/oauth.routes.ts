import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { ERROR_PAGE_CSP, errorPageHtml, prefersJson } from "../../platform/http/error-page.js";
import { OAuthRequestError } from "./oauth.errors.js";
import { bindingCookie, type OAuthService } from "./oauth.service.js";

/** Where the cookies binding flows to browsers are sent: these routes only. */
const COOKIE_PATH = "/auth/oauth";

function cookies(request: FastifyRequest): (name: string) => string | undefined {
  const jar = new Map<string, string>();
  for (const part of (request.headers.cookie ?? "").split(";")) {
    const [name, ...value] = part.trim().split("=");
    if (name) jar.set(name, value.join("="));
  }
  return (name) => jar.get(name);
}

function setCookie(reply: FastifyReply, name: string, value: string, maxAgeSeconds: number, secure: boolean): void {
  reply.header(
    "set-cookie",
    `${name}=${value}; Path=${COOKIE_PATH}; Max-Age=${maxAgeSeconds}; HttpOnly; SameSite=Lax${secure ? "; Secure" : ""}`,
  );
}

type Query = Record<string, unknown>;

/** A query parameter given once; a repeated one (an array) counts as absent, so it is refused cleanly. */
function one(query: Query, name: string): string | undefined {
  const value = query[name];
  return typeof value === "string" ? value : undefined;
}

/**
 * The browser's side of social sign-in: `GET /auth/oauth/:provider/start?redirect_uri=[&state=]` sends
 * it to the provider, `GET /auth/oauth/:provider/callback` brings it back and on to the frontend. A
 * refusal before any redirect (a `redirect_uri` not allowed, a bad state) is a short HTML page with its
 * code, or `{ errors }` for a client whose `Accept` asks for JSON.
 * @param publicUrl Kafkey's base URL as browsers and providers see it, for the callback URL.
 */
export function registerOAuthRoutes(
  http: FastifyInstance,
  oauth: OAuthService,
  publicUrl: (request: FastifyRequest) => string,
): void {
  const callbackUrl = (request: FastifyRequest, provider: string) =>
    `${publicUrl(request)}/auth/oauth/${encodeURIComponent(provider)}/callback`;
  // A browser (these routes' visitor) sees a page; a client that asks for JSON gets the GraphQL shape.
  const refuse = (request: FastifyRequest, reply: FastifyReply, error: unknown) => {
    if (!(error instanceof OAuthRequestError)) throw error;
    const { status, code, message } = error;
    reply.status(status).header("vary", "accept");
    if (prefersJson(request.headers.accept)) {
      return reply.send({ errors: [{ message, extensions: { code, requestId: request.id } }] });
    }
    const page = errorPageHtml({ title: "Sign-in failed", status, code, message, requestId: request.id });
    return reply.header("content-security-policy", ERROR_PAGE_CSP).type("text/html; charset=utf-8").send(page);
  };

  http.get<{ Params: { provider: string }; Querystring: Query }>(
    "/auth/oauth/:provider/start",
    async (request, reply) => {
      try {
        const { provider } = request.params;
        const url = callbackUrl(request, provider);
        const { location, cookie } = await oauth.start(
          provider,
          {
            redirectUri: one(request.query, "redirect_uri"),
            linkToken: one(request.query, "link"),
            clientState: one(request.query, "state"),
          },
          url,
        );
        setCookie(reply, cookie.name, cookie.value, 600, url.startsWith("https:"));
        return reply.redirect(location, 302);
      } catch (error) {
        return refuse(request, reply, error);
      }
    },
  );

  http.get<{ Params: { provider: string }; Querystring: Query }>(
    "/auth/oauth/:provider/callback",
    async (request, reply) => {
      try {
        const { provider } = request.params;
        const url = callbackUrl(request, provider);
        const state = one(request.query, "state");
        const location = await oauth.callback(
          provider,
          { code: one(request.query, "code"), state, error: one(request.query, "error") },
          cookies(request),
          url,
        );
        if (state) setCookie(reply, bindingCookie(state), "", 0, url.startsWith("https:"));
        return reply.redirect(location, 302);
      } catch (error) {
        return refuse(request, reply, error);
      }
    },
  );
}
