import cors, { type FastifyCorsOptions } from "@fastify/cors";
import type { FastifyInstance } from "fastify";

/** The request headers Kafkey reads that a browser on another origin must be allowed to send. */
export const CORS_ALLOWED_HEADERS = [
  "content-type",
  "authorization",
  "x-organization-id",
  "x-request-id",
  "apollo-require-preflight",
  "x-kafkey-auth-mode",
] as const;

/** How long a browser may keep a preflight's answer, in seconds. */
export const CORS_MAX_AGE_SECONDS = 600;

/**
 * @fastify/cors's options for the allowed origins (already normalised to `scheme://host[:port]` by
 * config.ts): an allowed `Origin` is echoed with credentials allowed; any other origin, and a request
 * without one, gets no CORS header at all (not even `Access-Control-Allow-Credentials`), and its
 * preflight answers 404. `Vary: Origin` is always set, so a cache never serves one origin's answer to
 * another.
 */
export function corsOptions(allowedOrigins: readonly string[]): FastifyCorsOptions {
  const allowed = new Set(allowedOrigins);
  return {
    // A function rather than the list: with a list, the plugin still sends the credentials header and
    // answers a foreign origin's preflight.
    origin: (origin, callback) => callback(null, origin !== undefined && allowed.has(origin) ? origin : false),
    credentials: true,
    methods: ["GET", "POST"],
    allowedHeaders: [...CORS_ALLOWED_HEADERS],
    maxAge: CORS_MAX_AGE_SECONDS,
    // Before the rate limit and the body parser, so that their refusals (429, 413, 400) carry the
    // headers too and a browser lets the page read them.
    hook: "onRequest",
  };
}

/**
 * Registers CORS on every route. Call it before the rate limit: hooks run in the order they are added,
 * and a preflight answered here never reaches the limit.
 */
export async function registerCors(app: FastifyInstance, allowedOrigins: readonly string[]): Promise<void> {
  await app.register(cors, corsOptions(allowedOrigins));
}

/** Which browser origins are Kafkey's own or allowed to call it. */
export interface OriginPolicy {
  /** Kafkey's own origin from KAFKEY_PUBLIC_URL, when set (the request's Host counts as own too). */
  ownOrigin: string | undefined;
  /** KAFKEY_CORS_ORIGINS. */
  allowedOrigins: readonly string[];
}

/** Whether `origin` is Kafkey's own (the public URL's, or the request's Host) or allowed. */
export function isTrustedOrigin(origin: string, host: string | undefined, policy: OriginPolicy): boolean {
  if (origin === policy.ownOrigin || policy.allowedOrigins.includes(origin)) return true;
  if (!URL.canParse(origin) || host === undefined) return false;
  const url = new URL(origin);
  return ["http:", "https:"].includes(url.protocol) && url.host === host.toLowerCase();
}

/**
 * Whether a WebSocket upgrade's `Origin` may open a connection: absent (not a browser; it proves
 * itself by its token, never by a cookie), Kafkey's own, or allowed.
 */
export function upgradeOriginAllowed(origin: string | undefined, host: string | undefined, policy: OriginPolicy) {
  return origin === undefined || isTrustedOrigin(origin, host, policy);
}
