/**
 * Browser frontends on another origin (issue 17, CORS): preflights and answers over real HTTP, the
 * refusals a page must be able to read, and the Origin rule on WebSocket upgrades (cross-site
 * WebSocket hijacking), against a real server started with KAFKEY_CORS_ORIGINS.
 */
import { WebSocket } from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CORS_ALLOWED_HEADERS } from "../src/platform/http/cors.js";
import { readJson, startServer, type TestServer } from "./support/server.js";

const APP = "http://app.example.test:3000";
const FOREIGN = "https://evil.example.test";
const ME = JSON.stringify({ query: "{ __typename }" });

let server: TestServer;
let limited: TestServer;

beforeAll(async () => {
  // Written unnormalised on purpose: the comparison is on scheme://host[:port], in lower case.
  const env = { KAFKEY_CORS_ORIGINS: "HTTP://App.Example.test:3000/, https://other.example.test" };
  server = await startServer({ env });
  limited = await startServer({ env: { ...env, KAFKEY_HTTP_RATE_LIMIT_MAX: "3" }, store: "memory" });
});

afterAll(async () => {
  await server?.close();
  await limited?.close();
});

function preflight(target: TestServer, origin: string, method = "POST") {
  return fetch(`${target.url}/graphql`, {
    method: "OPTIONS",
    headers: {
      origin,
      "access-control-request-method": method,
      "access-control-request-headers": "content-type, authorization, x-kafkey-auth-mode",
    },
  });
}

function post(target: TestServer, origin: string, body: string, contentType = "application/json") {
  return fetch(`${target.url}/graphql`, { method: "POST", headers: { origin, "content-type": contentType }, body });
}

/** The CORS headers an answer carries for an allowed origin. */
function expectCorsFor(response: Response, origin: string) {
  expect(response.headers.get("access-control-allow-origin")).toBe(origin);
  expect(response.headers.get("access-control-allow-credentials")).toBe("true");
  expect(response.headers.get("vary")?.toLowerCase()).toContain("origin");
}

function expectNoCors(response: Response) {
  for (const name of [...response.headers.keys()]) expect(name).not.toMatch(/^access-control-/);
}

describe("CORS preflight", () => {
  it("answers an allowed origin's preflight 204 with that origin, credentials, headers, methods and a max-age", async () => {
    const response = await preflight(server, APP);
    expect(response.status).toBe(204);
    expectCorsFor(response, APP);
    const headers = response.headers.get("access-control-allow-headers")!.split(/,\s*/);
    expect(headers.sort()).toEqual([...CORS_ALLOWED_HEADERS].sort());
    expect(response.headers.get("access-control-allow-methods")!.split(/,\s*/).sort()).toEqual(["GET", "POST"]);
    expect(Number(response.headers.get("access-control-max-age"))).toBeGreaterThan(0);
  });

  it("gives a foreign origin's preflight no CORS header and no 500, where an allowed one's has them", async () => {
    expect((await preflight(server, "https://other.example.test")).status).toBe(204);
    const response = await preflight(server, FOREIGN);
    expect(response.status).toBeLessThan(500);
    expect(response.status).not.toBe(204);
    expectNoCors(response);
  });

  it("compares the origin exactly: another port or scheme of an allowed host is foreign", async () => {
    expectCorsFor(await preflight(server, APP), APP);
    for (const origin of ["http://app.example.test:3001", "https://app.example.test:3000", "http://app.example.test"]) {
      expectNoCors(await preflight(server, origin));
    }
  });
});

describe("CORS on answers", () => {
  it("an allowed origin's POST gets its origin back, credentials and Vary: Origin", async () => {
    const response = await post(server, APP, ME);
    expect(response.status).toBe(200);
    expectCorsFor(response, APP);
    expect((await readJson(response)).data).toEqual({ __typename: "Query" });
  });

  it("a foreign origin's POST gets no CORS header (the browser keeps the answer from the page), but Vary: Origin", async () => {
    const response = await post(server, FOREIGN, ME);
    expectNoCors(response);
    expect(response.headers.get("vary")?.toLowerCase()).toContain("origin");
  });

  it("a body over the limit (413) carries the CORS headers", async () => {
    const response = await post(server, APP, JSON.stringify({ query: "{ __typename }", pad: "x".repeat(110_000) }));
    expect(response.status).toBe(413);
    expectCorsFor(response, APP);
  });

  it("malformed JSON (400) carries the CORS headers", async () => {
    const response = await post(server, APP, `{"query": "{ __typename }"`);
    expect(response.status).toBe(400);
    expectCorsFor(response, APP);
  });

  it("the per-IP rate limit's 429 carries the CORS headers, and preflights are not counted", async () => {
    // Ten preflights first: counted, they would spend the limit of 3 several times over.
    for (let i = 0; i < 10; i++) expect((await preflight(limited, APP)).status).toBe(204);
    for (let i = 0; i < 3; i++) expect((await post(limited, APP, ME)).status).toBe(200);
    const refused = await post(limited, APP, ME);
    expect(refused.status).toBe(429);
    expectCorsFor(refused, APP);
  });
});

/** Opens a raw WebSocket upgrade on /graphql; resolves with "open" or the HTTP status of the refusal. */
function upgrade(target: TestServer, origin: string | undefined): Promise<"open" | number> {
  const socket = new WebSocket(`${target.url.replace(/^http/, "ws")}/graphql`, "graphql-transport-ws", {
    ...(origin === undefined ? {} : { origin }),
  });
  return new Promise((resolve, reject) => {
    socket.once("open", () => {
      socket.close();
      resolve("open");
    });
    socket.once("unexpected-response", (_request, response) => {
      resolve(response.statusCode ?? 0);
      socket.terminate();
    });
    socket.once("error", reject);
  });
}

describe("WebSocket upgrades and Origin", () => {
  it("refuses an upgrade from a foreign origin with 403 (cross-site WebSocket hijacking), not an allowed one", async () => {
    expect(await upgrade(server, FOREIGN)).toBe(403);
    expect(await upgrade(server, "null")).toBe(403);
    expect(await upgrade(server, APP)).toBe("open");
  });

  it("accepts an upgrade from an allowed origin, from Kafkey's own origin, and without Origin", async () => {
    expect(await upgrade(server, APP)).toBe("open");
    expect(await upgrade(server, server.url)).toBe("open");
    // Not a browser: such a client proves itself by the token in connection_init, never a cookie.
    expect(await upgrade(server, undefined)).toBe("open");
  });
});
