import type { IncomingHttpHeaders } from "node:http";
import type { VerifyRoute } from "../../config.js";

/**
 * The request a reverse proxy asks `/auth/verify` about, as the proxy names it. Each proxy names it its
 * own way (Traefik and Caddy `X-Forwarded-Method`/`-Uri`, nginx whatever its configuration sets, by
 * convention `X-Original-Method`/`-URI`, Envoy by sending the original method to
 * `/auth/verify<original path>`), and a proxy passes on the headers the client sent that it does not set
 * itself. So every name is read, and the strictest reading wins: a client that adds one of these
 * headers itself can only add requirements, never drop one.
 */
export interface ForwardedRequest {
  /** Every method named, upper case; empty when none is (then it could be any). */
  methods: string[];
  /** Every reading of every path named (see `pathReadings`); empty when none is (then it could be any). */
  paths: string[];
}

/** The methods a cookie may authenticate without a trusted `Origin`: a page navigation's. */
const SAFE_METHODS = new Set(["GET", "HEAD"]);

/** The route Envoy's HTTP external authorization calls, with the original path after it (`path_prefix`). */
export const VERIFY_PATH = "/auth/verify";

function values(headers: IncomingHttpHeaders, name: string): string[] {
  const value = headers[name];
  if (value === undefined) return [];
  // Node joins a repeated header with ", ": each part counts, and the whole too.
  return (Array.isArray(value) ? value : [value]).flatMap((v) => [v, ...(v.includes(", ") ? v.split(", ") : [])]);
}

/**
 * The request `headers` and `url` (the `/auth/verify…` request's own, with its `method`) describe.
 * @param url the `/auth/verify` request's own URL: a path after `/auth/verify` is Envoy's original one.
 */
export function forwardedRequest(headers: IncomingHttpHeaders, method: string, url: string): ForwardedRequest {
  const path = url.split("?")[0]!;
  const envoy = path.length > VERIFY_PATH.length ? url.slice(VERIFY_PATH.length) : undefined;
  const methods = [...values(headers, "x-forwarded-method"), ...values(headers, "x-original-method")];
  const uris = [...values(headers, "x-forwarded-uri"), ...values(headers, "x-original-uri")];
  if (envoy !== undefined) {
    methods.push(method);
    uris.push(envoy);
  }
  return {
    methods: [...new Set(methods.map((m) => m.trim().toUpperCase()).filter(Boolean))],
    paths: [...new Set(uris.flatMap(pathReadings))],
  };
}

/**
 * Whether the forwarded request is a page navigation's (GET or HEAD, as the proxy names it), whose
 * access cookie counts without a trusted `Origin` (browsers send none on a navigation; SameSite=Strict
 * keeps the cookie off cross-site ones). A request whose method nobody names could be a POST: not one.
 */
export function isSafeMethod(forwarded: ForwardedRequest): boolean {
  return forwarded.methods.length > 0 && forwarded.methods.every((method) => SAFE_METHODS.has(method));
}

function decoded(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function withoutDotSegments(path: string): string {
  const segments: string[] = [];
  for (const segment of path.replace(/\\/g, "/").split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") segments.pop();
    else segments.push(segment);
  }
  return `/${segments.join("/")}`;
}

/**
 * The ways an upstream may read a forwarded URI's path, each lower case, its dot segments resolved,
 * repeated and trailing slashes dropped, `\` read as `/`: as sent, percent-decoded once and again (an
 * upstream that decodes twice reads `%252e%252e` as `..`), and each of those without `;parameters`
 * (Java servlet containers drop them). A route entry applies when it matches any of them.
 */
export function pathReadings(uri: string): string[] {
  // An absolute URI (a proxy may forward one) is read from its path.
  let path = uri.trim().replace(/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i, "");
  path = path.split(/[?#]/)[0]!;
  const readings = new Set<string>();
  for (let level = 0; level < 4; level++) {
    readings.add(withoutDotSegments(path));
    readings.add(withoutDotSegments(path.replace(/;[^/]*/g, "")));
    const next = decoded(path);
    if (next === path) break;
    path = next;
  }
  return [...readings].map((reading) => reading.toLowerCase());
}

function routeMatches(route: VerifyRoute, forwarded: ForwardedRequest): boolean {
  const methods =
    route.methods.length === 0 ||
    forwarded.methods.length === 0 ||
    forwarded.methods.some(
      (method) => route.methods.includes(method) || (method === "HEAD" && route.methods.includes("GET")),
    );
  if (!methods) return false;
  // A path nobody names could be any: every entry applies.
  if (forwarded.paths.length === 0) return true;
  return forwarded.paths.some(
    (path) => path === route.path || (route.prefix && (path.startsWith(`${route.path}/`) || route.path === "")),
  );
}

/** The permissions `KAFKEY_VERIFY_ROUTES` requires of the forwarded request: every matching entry's. */
export function routePermissions(routes: readonly VerifyRoute[], forwarded: ForwardedRequest): string[] {
  return [...new Set(routes.filter((route) => routeMatches(route, forwarded)).flatMap((route) => route.permissions))];
}
