import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
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
 * it to the provider, `GET /auth/oauth/:provider/callback` brings it back and on to the frontend.
 * @param publicUrl Kafkey's base URL as browsers and providers see it, for the callback URL.
 */
export function registerOAuthRoutes(
  http: FastifyInstance,
  oauth: OAuthService,
  publicUrl: (request: FastifyRequest) => string,
): void {
  const callbackUrl = (request: FastifyRequest, provider: string) =>
    `${publicUrl(request)}/auth/oauth/${encodeURIComponent(provider)}/callback`;
  const refuse = (reply: FastifyReply, error: unknown, requestId: string) => {
    if (!(error instanceof OAuthRequestError)) throw error;
    return reply
      .status(error.status)
      .send({ errors: [{ message: error.message, extensions: { code: error.code, requestId } }] });
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
        return refuse(reply, error, request.id);
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
        return refuse(reply, error, request.id);
      }
    },
  );
}
