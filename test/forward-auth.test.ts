/**
 * Forward auth (issue 19): `/auth/verify` answers a reverse proxy whether to pass a request on to an app
 * that speaks no GraphQL. End to end through a real nginx (`auth_request`, Debian's build) in front of a
 * toy upstream that counts what reaches it; and `/auth/verify` called directly the way Traefik, Caddy
 * and Envoy call it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SignedIn, startServer, type TestServer } from "./support/server.js";
import { Nginx, nginxMissing, Upstream } from "./support/nginx.js";

const FOREIGN = "http://127.0.0.1:6666";
const ORG_CREATE = `mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { id } }`;

let server: TestServer;
let upstream: Upstream;
let nginx: Nginx;
const missing = nginxMissing();

/**
 * What docs/gateway.md tells nginx: ask `/auth/verify` (here with `?permission=` for `/audit/`), copy
 * the identity headers onto the proxied request (an empty one is not sent: a client's own is dropped).
 */
function serverBlock(kafkey: string, upstreamPort: number): string {
  const protectedBy = (verify: string) => `
      auth_request ${verify};
      auth_request_set $kafkey_user $upstream_http_x_kafkey_user_id;
      auth_request_set $kafkey_org $upstream_http_x_kafkey_organization_id;
      auth_request_set $kafkey_permissions $upstream_http_x_kafkey_permissions;
      proxy_set_header X-Kafkey-User-Id $kafkey_user;
      proxy_set_header X-Kafkey-Organization-Id $kafkey_org;
      proxy_set_header X-Kafkey-Permissions $kafkey_permissions;
      proxy_pass http://127.0.0.1:${upstreamPort};`;
  const verifier = (name: string, query: string) => `
    location = ${name} {
      internal;
      proxy_pass ${kafkey}/auth/verify${query};
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Original-URI $request_uri;
      proxy_set_header X-Original-Method $request_method;
    }`;
  return `
    location = /__nginx_up { return 204; }
    location / {${protectedBy("/_kafkey")}
    }
    location /audit/ {${protectedBy("/_kafkey_audit")}
    }
    ${verifier("/_kafkey", "")}
    ${verifier("/_kafkey_audit", "?permission=audit.read")}`;
}

beforeAll(async () => {
  upstream = await new Upstream().start();
  nginx = new Nginx();
  await nginx.reserve();
  // The app and Kafkey share the proxy's origin: the access cookie is host-only (`__Host-` in production).
  server = await startServer({
    env: {
      KAFKEY_PUBLIC_URL: `http://127.0.0.1:${nginx.port}`,
      KAFKEY_VERIFY_ROUTES: "/admin/*=users.read; POST|DELETE /reports/*=roles.update",
      KAFKEY_ORGANIZATION_CREATION: "users",
    },
  });
  if (!missing) await nginx.start(serverBlock(server.url, upstream.port));
});

afterAll(async () => {
  await nginx?.close();
  await upstream?.close();
  await server?.close();
});

/** A request to the app through nginx. */
function viaProxy(path: string, init: { method?: string; headers?: Record<string, string> } = {}) {
  return fetch(`${nginx.url}${path}`, { method: init.method ?? "GET", headers: init.headers ?? {} });
}

const bearer = (user: SignedIn) => ({ authorization: `Bearer ${user.accessToken}` });
const cookieOf = (user: SignedIn) => ({ cookie: `kafkey-access=${user.accessToken}` });

/** Expects nginx to refuse with `status`, and the upstream to have seen nothing more. */
async function refused(response: Promise<Response>, status: number): Promise<void> {
  const before = upstream.count;
  expect((await response).status).toBe(status);
  expect(upstream.count).toBe(before);
}

describe.skipIf(missing)("an app behind nginx auth_request", () => {
  it("never sees a request without credentials, or with a bad token", async () => {
    expect(upstream.count).toBe(0);
    await refused(viaProxy("/dashboard"), 401);
    await refused(viaProxy("/dashboard", { method: "POST" }), 401);
    await refused(viaProxy("/dashboard", { headers: { authorization: "Bearer not-a-token" } }), 401);
    expect(upstream.count).toBe(0);
  });

  it("sees a request with a bearer token, with the caller's identity headers", async () => {
    const user = await server.signUp("forward");
    const response = await viaProxy("/dashboard?tab=1", { headers: bearer(user) });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("upstream");
    expect(upstream.last!.url).toBe("/dashboard?tab=1");
    expect(upstream.last!.headers["x-kafkey-user-id"]).toBe(user.id);
    // A new user holds no platform permission: the header is there, empty, and so not sent on.
    expect(upstream.last!.headers["x-kafkey-organization-id"]).toBeUndefined();
  });

  it("passes on no identity header a client made up", async () => {
    const user = await server.signUp("spoofer");
    const response = await viaProxy("/dashboard", {
      headers: {
        ...bearer(user),
        "x-kafkey-user-id": "00000000-0000-0000-0000-000000000001",
        "x-kafkey-organization-id": "00000000-0000-0000-0000-000000000002",
        "x-kafkey-permissions": "*",
      },
    });
    expect(response.status).toBe(200);
    expect(upstream.last!.headers["x-kafkey-user-id"]).toBe(user.id);
    expect(upstream.last!.headers["x-kafkey-organization-id"]).toBeUndefined();
    expect(upstream.last!.headers["x-kafkey-permissions"]).toBeUndefined();
  });

  it("refuses a token at the next request once its session logged out", async () => {
    const user = await server.signUp("revoked");
    expect((await viaProxy("/dashboard", { headers: bearer(user) })).status).toBe(200);
    expect((await server.gql(`mutation { logout }`, {}, user.accessToken)).data!.logout).toBe(true);
    await refused(viaProxy("/dashboard", { headers: bearer(user) }), 401);
  });

  it("requires the permission that ?permission= names (403 without it)", async () => {
    const user = await server.signUp("auditor");
    await refused(viaProxy("/audit/log", { headers: bearer(user) }), 403);
    await server.grant(user.id, ["audit.read"]);
    expect((await viaProxy("/audit/log", { headers: bearer(user) })).status).toBe(200);
    expect(upstream.last!.headers["x-kafkey-permissions"]).toContain("audit.read");
  });

  it("requires what KAFKEY_VERIFY_ROUTES maps the path to, however the path is spelt", async () => {
    const user = await server.signUp("not-admin");
    for (const path of ["/admin", "/admin/users", "/ADMIN/users", "//admin//users", "/public/..%2Fadmin/users"]) {
      await refused(viaProxy(path, { headers: bearer(user) }), 403);
    }
    // Methods: /reports/* needs roles.update to change, not to read.
    expect((await viaProxy("/reports/q3", { headers: bearer(user) })).status).toBe(200);
    await refused(viaProxy("/reports/q3", { method: "DELETE", headers: bearer(user) }), 403);
    const admin = await server.loginAdmin();
    expect((await viaProxy("/admin/users", { headers: bearer(admin) })).status).toBe(200);
    expect(String(upstream.last!.headers["x-kafkey-permissions"]).split(",")).toContain("users.read");
    expect((await viaProxy("/reports/q3", { method: "DELETE", headers: bearer(admin) })).status).toBe(200);
  });

  it("names the organization the request acts in, and refuses one the caller is not in", async () => {
    const owner = await server.signUp("owner");
    const created = await server.gql(
      ORG_CREATE,
      { input: { name: `Forward ${owner.id.slice(0, 8)}` } },
      owner.accessToken,
    );
    const organizationId = created.data!.createOrganization.id as string;
    const inOrganization = { "x-organization-id": organizationId };
    expect((await viaProxy("/dashboard", { headers: { ...bearer(owner), ...inOrganization } })).status).toBe(200);
    expect(upstream.last!.headers["x-kafkey-organization-id"]).toBe(organizationId);
    expect(upstream.last!.headers["x-kafkey-permissions"]).toContain("org.update");
    const stranger = await server.signUp("stranger");
    await refused(viaProxy("/dashboard", { headers: { ...bearer(stranger), ...inOrganization } }), 403);
  });

  describe("with the access cookie", () => {
    it("lets a page navigation in (GET without Origin)", async () => {
      const user = await server.signUp("navigator");
      expect((await viaProxy("/dashboard", { headers: cookieOf(user) })).status).toBe(200);
      expect(upstream.last!.headers["x-kafkey-user-id"]).toBe(user.id);
    });

    it("refuses a cross-origin GET (its Origin is not trusted) and a POST from a foreign Origin or none", async () => {
      const user = await server.signUp("csrf-target");
      await refused(viaProxy("/dashboard", { headers: { ...cookieOf(user), origin: FOREIGN } }), 401);
      await refused(viaProxy("/dashboard", { method: "POST", headers: { ...cookieOf(user), origin: FOREIGN } }), 401);
      await refused(viaProxy("/dashboard", { method: "POST", headers: cookieOf(user) }), 401);
      // A client's own X-Forwarded-Method cannot pass a POST for a navigation: nginx names the real one.
      await refused(
        viaProxy("/dashboard", { method: "POST", headers: { ...cookieOf(user), "x-forwarded-method": "GET" } }),
        401,
      );
    });

    it("lets a POST in from a page of the app's own origin", async () => {
      const user = await server.signUp("form");
      const response = await viaProxy("/dashboard", {
        method: "POST",
        headers: { ...cookieOf(user), origin: nginx.url },
      });
      expect(response.status).toBe(200);
      expect(upstream.last!.method).toBe("POST");
      expect(upstream.last!.headers["x-kafkey-user-id"]).toBe(user.id);
    });
  });
});

describe("/auth/verify, called directly", () => {
  const verify = (path: string, init: RequestInit = {}) => fetch(`${server.url}${path}`, init);

  it("answers 401 UNAUTHENTICATED with a Bearer challenge, and 200 with no body and no-store", async () => {
    const none = await verify("/auth/verify");
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toBe('Bearer realm="kafkey"');
    expect(((await none.json()) as any).errors[0].extensions.code).toBe("UNAUTHENTICATED");
    const bad = await verify("/auth/verify", { headers: { authorization: "Bearer nope" } });
    expect(bad.headers.get("www-authenticate")).toContain('error="invalid_token"');
    const user = await server.signUp("direct");
    // KAFKEY_VERIFY_ROUTES is set here: the proxy names the path (below: without one, every entry applies).
    const ok = await verify("/auth/verify", { headers: { ...bearer(user), "x-forwarded-uri": "/" } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get("cache-control")).toBe("no-store");
    expect(ok.headers.get("x-kafkey-user-id")).toBe(user.id);
    // Empty rather than absent, so that a proxy copying it replaces whatever the client sent.
    expect(ok.headers.get("x-kafkey-organization-id")).toBe("");
    expect(await ok.text()).toBe("");
  });

  it("sends no SQL statement once its caches are warm (the principal GraphQL caches)", async () => {
    const user = await server.signUp("warm");
    const ask = () => verify("/auth/verify", { headers: { ...bearer(user), "x-forwarded-uri": "/" } });
    expect((await ask()).status).toBe(200);
    await server.app.auditDispatcher.drain();
    const before = server.statements.length;
    expect((await ask()).status).toBe(200);
    expect(server.statements.slice(before)).toEqual([]);
  });

  it("answers 403 FORBIDDEN with requiredPermission, 400 for a permission that is no key", async () => {
    const user = await server.signUp("direct-403");
    const forbidden = await verify("/auth/verify?permission=users.read&permission=roles.read", {
      headers: bearer(user),
    });
    expect(forbidden.status).toBe(403);
    const body = (await forbidden.json()) as any;
    expect(body.errors[0].extensions).toMatchObject({ code: "FORBIDDEN", requiredPermission: "users.read" });
    const malformed = await verify("/auth/verify?permission=users.*", { headers: bearer(user) });
    expect(malformed.status).toBe(400);
    expect(((await malformed.json()) as any).errors[0].extensions.code).toBe("BAD_REQUEST");
  });

  it("reads Traefik's and Caddy's X-Forwarded-Method/-Uri, and the strictest of what it is told", async () => {
    const user = await server.signUp("traefik");
    const asked = (headers: Record<string, string>) =>
      verify("/auth/verify", { headers: { ...bearer(user), ...headers } });
    expect((await asked({ "x-forwarded-method": "GET", "x-forwarded-uri": "/admin/x" })).status).toBe(403);
    // A client's own X-Original-URI beside the proxy's: both count.
    expect((await asked({ "x-forwarded-uri": "/public", "x-original-uri": "/admin" })).status).toBe(403);
    expect((await asked({ "x-forwarded-uri": "/admin;jsessionid=1/x" })).status).toBe(403);
    expect((await asked({ "x-forwarded-uri": "/%2561dmin/x" })).status).toBe(403);
    expect((await asked({ "x-forwarded-uri": "/public" })).status).toBe(200);
    // With KAFKEY_VERIFY_ROUTES set, a request whose path nobody names could be any: every entry applies.
    expect((await asked({})).status).toBe(403);
  });

  it("takes Envoy's form: the original method and path after /auth/verify, whatever the body's type", async () => {
    const user = await server.signUp("envoy");
    const check = (method: string, path: string, headers: Record<string, string> = bearer(user)) =>
      verify(`/auth/verify${path}`, { method, headers: { ...headers, "content-type": "application/xml" } });
    expect((await check("POST", "/admin/x")).status).toBe(403);
    expect((await check("DELETE", "/reports/1")).status).toBe(403);
    expect((await check("GET", "/reports/1")).status).toBe(200);
    // The query string is the app's: no question to Kafkey.
    expect((await check("GET", "/page?permission=users.read")).status).toBe(200);
    // Envoy's own method counts for the cookie rule: a POST's cookie needs a trusted Origin.
    expect((await check("GET", "/page", cookieOf(user))).status).toBe(200);
    expect((await check("POST", "/page", cookieOf(user))).status).toBe(401);
  });

  it("adds the identity headers KAFKEY_VERIFY_HEADERS asks for", async () => {
    const configured = await startServer({ env: { KAFKEY_VERIFY_HEADERS: "email,roles" } });
    try {
      const user = await configured.signUp("headers");
      const ok = await fetch(`${configured.url}/auth/verify`, { headers: bearer(user) });
      expect(ok.status).toBe(200);
      expect(ok.headers.get("x-kafkey-email")).toBe(user.email);
      expect(ok.headers.get("x-kafkey-roles")).toBe("user");
    } finally {
      await configured.close();
    }
  });

  it("is not under the per-IP HTTP rate limit: every request of the app passes through it", async () => {
    const limited = await startServer({ env: { KAFKEY_HTTP_RATE_LIMIT_MAX: "3" } });
    try {
      const statuses = [];
      for (let i = 0; i < 6; i++) statuses.push((await fetch(`${limited.url}/auth/verify`)).status);
      expect(statuses).toEqual([401, 401, 401, 401, 401, 401]);
      const graphql = [];
      for (let i = 0; i < 4; i++) graphql.push((await limited.gql(`{ __typename }`)).status);
      expect(graphql.at(-1)).toBe(429);
    } finally {
      await limited.close();
    }
  });
});
