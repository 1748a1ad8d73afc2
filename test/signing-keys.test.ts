import { createHmac, createPublicKey } from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type App, createApp } from "../src/app.js";
import { loadConfig } from "../src/config.js";
import { openDatabase } from "../src/platform/db/database.js";
import { migrate } from "../src/platform/db/migrator.js";
import { createLogger } from "../src/platform/observability/logger.js";
import { createScratchDatabase, postgresAvailable } from "./support/databases.js";
import { codeOf, readJson, type SignedIn, startServer, testEnv, type TestServer } from "./support/server.js";

const ME = `{ me { id } }`;
const ROTATE = `mutation($emergency: Boolean) { rotateSigningKey(emergency: $emergency) { id state activatesAt } }`;
/** Short, so a rotation's staged key starts signing within the test; the JWKS max-age is half of it. */
const LEAD_SECONDS = 2;

async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

const kidOf = (token: string) => decodeProtectedHeader(token).kid;
const sleepUntil = (at: Date) =>
  new Promise((resolve) => setTimeout(resolve, Math.max(0, at.getTime() - Date.now()) + 50));

/** An HS256 JWT made by hand, with `secret` as the HMAC key: the algorithm-confusion forgery. */
function hs256(claims: object, kid: string, secret: string): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const unsigned = `${part({ alg: "HS256", typ: "at+jwt", kid })}.${part(claims)}`;
  return `${unsigned}.${createHmac("sha256", secret).update(unsigned).digest("base64url")}`;
}

let a: TestServer;
let b: TestServer;
let issuer: string;
let jwksUrl: URL;

beforeAll(async () => {
  const port = await freePort();
  issuer = `http://127.0.0.1:${port}`;
  const env = { KAFKEY_PUBLIC_URL: issuer, KAFKEY_SIGNING_KEY_PUBLISH_LEAD_SECONDS: String(LEAD_SECONDS) };
  a = await startServer({ env: { ...env, PORT: String(port) } });
  b = await startServer({ sharing: a, env });
  jwksUrl = new URL(`${a.url}/.well-known/jwks.json`);
});
afterAll(async () => {
  await b?.close();
  await a?.close();
});

describe("access tokens signed with ES256", () => {
  it("carry a kid that a resource server verifies with the live JWKS (jose createRemoteJWKSet)", async () => {
    const admin = await a.loginAdmin();
    const { payload, protectedHeader } = await jwtVerify(admin.accessToken, createRemoteJWKSet(jwksUrl), {
      issuer,
      audience: "kafkey",
      typ: "at+jwt",
      algorithms: ["ES256"],
    });
    expect(protectedHeader).toMatchObject({ alg: "ES256", kid: expect.any(String) });
    expect(payload).toMatchObject({ iss: issuer, sub: admin.id, client_id: "kafkey", sid: expect.any(String) });
  });

  it("is the same key set on every instance", async () => {
    const fromA = await readJson(await fetch(jwksUrl));
    const fromB = await readJson(await fetch(`${b.url}/.well-known/jwks.json`));
    expect(fromB).toEqual(fromA);
    const signedByB = await b.loginAdmin();
    expect(fromA.keys.map((k: { kid: string }) => k.kid)).toContain(kidOf(signedByB.accessToken));
    expect((await a.gql(ME, {}, signedByB.accessToken)).data!.me.id).toBe(signedByB.id);
  });

  it("refuses an HS256 token signed with the public key as its secret (PEM or JWK), and alg none", async () => {
    const user = await a.signUp("confusion");
    const claims = jwtClaims(user);
    const kid = kidOf(user.accessToken)!;
    const { keys } = await readJson(await fetch(jwksUrl));
    const jwk = keys.find((k: { kid: string }) => k.kid === kid);
    const pem = createPublicKey({ key: jwk, format: "jwk" }).export({ type: "spki", format: "pem" }).toString();
    const none = `${Buffer.from(JSON.stringify({ alg: "none", typ: "at+jwt", kid })).toString("base64url")}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.`;
    // The control: the same claims, as the server signed them, work.
    expect((await a.gql(ME, {}, user.accessToken)).data!.me.id).toBe(user.id);
    for (const forged of [hs256(claims, kid, pem), hs256(claims, kid, JSON.stringify(jwk)), none]) {
      expect(codeOf(await a.gql(ME, {}, forged))).toBe("UNAUTHENTICATED");
    }
  });
});

/** The claims of a real token, to forge others from. */
function jwtClaims(user: SignedIn): Record<string, unknown> {
  return JSON.parse(Buffer.from(user.accessToken.split(".")[1]!, "base64url").toString("utf8")) as Record<
    string,
    unknown
  >;
}

describe("GET /.well-known/*", () => {
  it("serves the JWKS cacheable for half the publish lead, to any origin without credentials", async () => {
    const response = await fetch(jwksUrl, { headers: { origin: "https://elsewhere.example" } });
    expect(response.status).toBe(200);
    expect(response.headers.get("cache-control")).toBe(`public, max-age=${LEAD_SECONDS / 2}`);
    expect(response.headers.get("access-control-allow-origin")).toBe("*");
    expect(response.headers.get("access-control-allow-credentials")).toBeNull();
    const { keys } = (await response.json()) as { keys: Record<string, unknown>[] };
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) {
      expect(key).toEqual({
        kty: "EC",
        crv: "P-256",
        x: expect.any(String),
        y: expect.any(String),
        kid: expect.any(String),
        use: "sig",
        alg: "ES256",
      });
    }
  });

  it("keeps the GraphQL endpoint's CORS: a foreign origin gets no CORS header there", async () => {
    const response = await fetch(`${a.url}/graphql`, {
      method: "POST",
      headers: { origin: "https://elsewhere.example", "content-type": "application/json" },
      body: JSON.stringify({ query: "{ __typename }" }),
    });
    expect(response.headers.get("access-control-allow-origin")).toBeNull();
  });

  it.each(["/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"])(
    "%s names the issuer, the JWKS, its algorithm and introspection, and no endpoint Kafkey lacks",
    async (document) => {
      const response = await fetch(`${a.url}${document}`, { headers: { origin: "https://elsewhere.example" } });
      expect(response.status).toBe(200);
      expect(response.headers.get("access-control-allow-origin")).toBe("*");
      const metadata = await readJson(response);
      expect(metadata).toEqual({
        issuer,
        jwks_uri: `${issuer}/.well-known/jwks.json`,
        access_token_signing_alg_values_supported: ["ES256"],
        introspection_endpoint: `${issuer}/oauth/introspect`,
        introspection_endpoint_auth_methods_supported: ["client_secret_basic"],
        response_types_supported: [],
      });
      // Every URL it names answers: the introspection endpoint asks a caller to authenticate.
      expect((await fetch(metadata.jwks_uri as string)).status).toBe(200);
      const introspection = await fetch(metadata.introspection_endpoint as string, { method: "POST" });
      expect(introspection.status).toBe(401);
    },
  );
});

describe("rotateSigningKey", () => {
  it("refuses a caller without keys.rotate (FORBIDDEN) and one without a token (UNAUTHENTICATED)", async () => {
    const user = await a.signUp("not-rotator");
    expect(codeOf(await a.gql(ROTATE, {}, user.accessToken))).toBe("FORBIDDEN");
    expect(codeOf(await a.gql(ROTATE, {}))).toBe("UNAUTHENTICATED");
  });

  it("publishes the new key before it signs; old and new tokens verify through the same remote JWKS", async () => {
    const admin = await a.loginAdmin();
    const before = await a.signUp("before-rotation");
    const oldKid = kidOf(before.accessToken);
    const rotated = await a.gql(ROTATE, {}, admin.accessToken);
    expect(rotated.errors).toBeUndefined();
    const next = rotated.data!.rotateSigningKey as { id: string; state: string; activatesAt: string };
    expect(next.state).toBe("NEXT");
    // A second call while one is staged returns it rather than stage another.
    expect((await a.gql(ROTATE, {}, admin.accessToken)).data!.rotateSigningKey.id).toBe(next.id);
    // A resource server that fetches the set now, and never again within this test, already has it.
    const remote = createRemoteJWKSet(jwksUrl, { cooldownDuration: 600_000, cacheMaxAge: 600_000 });
    await jwtVerify(before.accessToken, remote, { issuer, audience: "kafkey" });
    const published = await readJson(await fetch(jwksUrl));
    expect(published.keys.map((k: { kid: string }) => k.kid)).toEqual([oldKid, next.id]);
    // Still the old key signs until the new one activates.
    expect(kidOf((await a.signUp("still-old")).accessToken)).toBe(oldKid);

    await sleepUntil(new Date(next.activatesAt));
    const afterA = await a.signUp("after-rotation");
    const afterB = await b.signUp("after-rotation-b");
    expect(kidOf(afterA.accessToken)).toBe(next.id);
    expect(kidOf(afterB.accessToken)).toBe(next.id);
    for (const token of [afterA.accessToken, afterB.accessToken, before.accessToken]) {
      await jwtVerify(token, remote, { issuer, audience: "kafkey" });
    }
    // Tokens of the retired key keep working on every instance until they expire.
    for (const server of [a, b]) expect((await server.gql(ME, {}, before.accessToken)).data!.me.id).toBe(before.id);
    // The retired key stays published after the current one.
    expect((await readJson(await fetch(jwksUrl))).keys.map((k: { kid: string }) => k.kid)).toEqual([next.id, oldKid]);
  });

  it("in an emergency revokes the keys in use at once: old tokens are refused on both instances at the next request", async () => {
    const admin = await a.loginAdmin();
    const fromA = await a.signUp("emergency-a");
    const fromB = await b.signUp("emergency-b");
    for (const [server, user] of [
      [a, fromA],
      [b, fromB],
    ] as const) {
      expect((await server.gql(ME, {}, user.accessToken)).data!.me.id).toBe(user.id);
    }
    const rotated = await a.gql(ROTATE, { emergency: true }, admin.accessToken);
    expect(rotated.errors).toBeUndefined();
    const fresh = rotated.data!.rotateSigningKey as { id: string; state: string };
    expect(fresh.state).toBe("CURRENT");
    for (const server of [a, b]) {
      for (const user of [fromA, fromB, admin]) {
        expect(codeOf(await server.gql(ME, {}, user.accessToken))).toBe("UNAUTHENTICATED");
      }
    }
    // The new key signs at once, on both instances; the JWKS lists it alone.
    for (const server of [a, b]) {
      const again = await server.loginAdmin();
      expect(kidOf(again.accessToken)).toBe(fresh.id);
      expect((await server.gql(ME, {}, again.accessToken)).data!.me.id).toBe(again.id);
      const { keys } = await readJson(await fetch(`${server.url}/.well-known/jwks.json`));
      expect(keys.map((k: { kid: string }) => k.kid)).toEqual([fresh.id]);
    }
    // Refresh tokens are not signed: clients carry on by refreshing.
    const refreshed = await a.gql(`mutation($t: String!) { refreshToken(token: $t) { accessToken } }`, {
      t: fromB.refreshToken,
    });
    expect(kidOf(refreshed.data!.refreshToken.accessToken)).toBe(fresh.id);

    await a.app.auditDispatcher.drain();
    const events = await a.app.db.prisma.auditEvent.findMany({
      where: { action: "signing_key.emergency_rotated", targetId: fresh.id },
    });
    expect(events).toHaveLength(1);
    expect(events[0]!.actorEmail).toBe(admin.email);
  });
});

describe("the first start", () => {
  it("makes one key when two instances start together on a fresh database", async (context) => {
    if (!(await postgresAvailable())) {
      console.warn("skipped: needs PostgreSQL for two instances on one database");
      context.skip();
    }
    const scratch = await createScratchDatabase();
    // Migrated beforehand, so that neither start waits on the other's migrations: both make keys at once.
    const migrated = loadConfig({ ...testEnv(os.tmpdir()), DATABASE_URL: scratch.url });
    const db = await openDatabase(migrated);
    await migrate(db);
    await db.close();
    const dirs = [0, 1].map(() => fs.mkdtempSync(path.join(os.tmpdir(), "kafkey-keys-")));
    const apps: App[] = [];
    try {
      const started = await Promise.all(
        dirs.map((dir) => {
          const config = loadConfig({
            ...testEnv(dir),
            DATABASE_URL: scratch.url,
            KAFKEY_MIGRATE_ON_START: "false",
            LOG_LEVEL: "silent",
          });
          return createApp(config, { log: createLogger("silent") });
        }),
      );
      apps.push(...started);
      expect(await started[0]!.db.prisma.signingKey.count()).toBe(1);
      const [first, second] = await Promise.all(
        started.map(async (app) => (await app.http.inject({ url: "/.well-known/jwks.json" })).json()),
      );
      expect(first.keys).toHaveLength(1);
      expect(second).toEqual(first);
    } finally {
      await Promise.all(apps.map((app) => app.close()));
      await scratch.drop();
      for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
