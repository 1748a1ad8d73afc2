import type { IncomingHttpHeaders } from "node:http";
import { fastifyCookie } from "@fastify/cookie";
import type { FastifyInstance, FastifyReply } from "fastify";
import { isTrustedOrigin, type OriginPolicy } from "./cors.js";

/** The request header with which a client asks for its tokens in cookies (SuperTokens' `st-auth-mode`). */
export const AUTH_MODE_HEADER = "x-kafkey-auth-mode";

/** How a request wants its tokens delivered: in cookies the page cannot read, or in the answer. */
export type AuthMode = "cookie" | "header";

/** Where and how the session cookies are set. */
export interface CookiePolicy extends OriginPolicy {
  /** Whether the cookies are `Secure` (and `__Host-` prefixed): all but plain-HTTP loopback development. */
  secure: boolean;
  access: string;
  refresh: string;
}

const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);

/**
 * The cookie policy of a deployment. `Secure` follows the public URL's scheme, not the request's (TLS
 * usually ends at a proxy): only a plain-HTTP public URL on a loopback host, or none in development,
 * drops it, since browsers keep a `Secure` cookie from `http://` only on localhost anyway.
 */
export function cookiePolicy(publicUrl: string | undefined, production: boolean, origins: OriginPolicy): CookiePolicy {
  const url = publicUrl === undefined ? undefined : new URL(publicUrl);
  const plainLoopback = url ? url.protocol === "http:" && LOOPBACK.has(url.hostname) : !production;
  const secure = !plainLoopback;
  // `__Host-`: the browser keeps it only when Secure, with Path=/ and no Domain, so a sibling subdomain
  // cannot plant or shadow it.
  const prefix = secure ? "__Host-kafkey-" : "kafkey-";
  return { ...origins, secure, access: `${prefix}access`, refresh: `${prefix}refresh` };
}

/** The auth mode a request asks for; undefined when the header holds something else (a client's mistake). */
export function authModeOf(headers: IncomingHttpHeaders): AuthMode | undefined {
  const value = headers[AUTH_MODE_HEADER];
  if (value === undefined) return "header";
  const mode = typeof value === "string" ? value.trim().toLowerCase() : undefined;
  return mode === "cookie" || mode === "header" ? mode : undefined;
}

/**
 * Whether a page of a trusted origin sent the request, so that its cookies may authenticate it (CSRF):
 * its `Origin` is Kafkey's own or allowed, or it has none and the browser says it is same-origin
 * (`Sec-Fetch-Site`, which no page can set; same-origin GETs carry no `Origin`). A request without
 * either is not refused: its cookies are ignored.
 */
export function fromTrustedPage(headers: IncomingHttpHeaders, policy: OriginPolicy): boolean {
  const origin = headers.origin;
  if (origin !== undefined) return isTrustedOrigin(origin, headers.host, policy);
  return headers["sec-fetch-site"] === "same-origin";
}

/** The tokens a request's cookies hold, only when a trusted page sent it (see `fromTrustedPage`). */
export function sessionCookiesOf(
  headers: IncomingHttpHeaders,
  policy: CookiePolicy,
): { access: string | undefined; refresh: string | undefined } {
  if (headers.cookie === undefined || !fromTrustedPage(headers, policy))
    return { access: undefined, refresh: undefined };
  const cookies = fastifyCookie.parse(headers.cookie);
  return { access: cookies[policy.access] || undefined, refresh: cookies[policy.refresh] || undefined };
}

/**
 * The access cookie's token whatever page sent the request: only for a request that is known to be a
 * safe (GET or HEAD) page navigation, which carries no `Origin` and changes nothing, as `/auth/verify`
 * answers for one behind a reverse proxy (docs/gateway.md). Everything else uses `sessionCookiesOf`.
 */
export function navigationAccessCookieOf(headers: IncomingHttpHeaders, policy: CookiePolicy): string | undefined {
  if (headers.cookie === undefined) return undefined;
  return fastifyCookie.parse(headers.cookie)[policy.access] || undefined;
}

/** A signed-in session's tokens, as the cookies carry them. */
export interface SessionTokens {
  accessToken: string;
  accessTokenExpiresAt: Date;
  refreshToken: string;
  refreshTokenExpiresAt: Date;
}

/** Sets and clears one response's session cookies. */
export class SessionCookieWriter {
  constructor(
    private readonly reply: FastifyReply,
    private readonly policy: CookiePolicy,
  ) {}

  /** The access cookie lives as long as its token, the refresh cookie as long as the session. */
  keep(tokens: SessionTokens): void {
    this.reply.setCookie(this.policy.access, tokens.accessToken, this.options(tokens.accessTokenExpiresAt));
    this.reply.setCookie(this.policy.refresh, tokens.refreshToken, this.options(tokens.refreshTokenExpiresAt));
  }

  forget(): void {
    const options = this.options(new Date(0));
    this.reply.clearCookie(this.policy.access, options);
    this.reply.clearCookie(this.policy.refresh, options);
  }

  private options(expires: Date) {
    const maxAge = Math.max(0, Math.floor((expires.getTime() - Date.now()) / 1000));
    // Strict: the cookies go only with requests a page of the same site sends; Kafkey has no page a
    // link from elsewhere must open signed in.
    return { httpOnly: true, secure: this.policy.secure, sameSite: "strict", path: "/", maxAge } as const;
  }
}

/** Lets replies set cookies; requests are not parsed for every route (`sessionCookiesOf` reads the header). */
export async function registerCookies(app: FastifyInstance): Promise<void> {
  await app.register(fastifyCookie, { hook: false });
}
