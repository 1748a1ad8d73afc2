import http from "node:http";
import type { AddressInfo } from "node:net";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, codeOf, startServer, type TestServer } from "./support/server.js";

/** A stand-in for Sentry's ingestion endpoint: an HTTP server that keeps every envelope posted to it. */
class EnvelopeCatcher {
  readonly envelopes: { path: string; items: Record<string, any>[]; raw: string }[] = [];
  private readonly server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const body = Buffer.concat(chunks);
      const raw = (request.headers["content-encoding"] === "gzip" ? gunzipSync(body) : body).toString();
      const items = raw
        .split("\n")
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, any>);
      this.envelopes.push({ path: request.url ?? "", items, raw });
      response.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });

  async start(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    return (this.server.address() as AddressInfo).port;
  }

  /** The first event whose tags carry `requestId`, waiting a little for it. */
  async event(requestId: string): Promise<{ event: Record<string, any>; raw: string; path: string }> {
    for (let attempt = 0; attempt < 100; attempt++) {
      for (const envelope of this.envelopes) {
        const event = envelope.items.find((item) => item.tags?.requestId === requestId);
        if (event) return { event, raw: envelope.raw, path: envelope.path };
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`no event for ${requestId}`);
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

let sentry: EnvelopeCatcher;
let server: TestServer;
beforeAll(async () => {
  sentry = new EnvelopeCatcher();
  const port = await sentry.start();
  server = await startServer({
    env: { SENTRY_DSN: `http://publickey@127.0.0.1:${port}/42`, SENTRY_ENVIRONMENT: "ci" },
  });
});
afterAll(async () => {
  await server.close();
  await sentry.stop();
});

describe("error tracking with SENTRY_DSN", () => {
  it("reports an unexpected error with the request id, user id and operation name, and no secret", async () => {
    const admin = await server.loginAdmin();
    // The token's session is checked (and cached) first: the failure below is the resolver's, not the rule's.
    await server.gql(`{ me { id } }`, {}, admin.accessToken);
    await server.app.db.prisma.$executeRawUnsafe(`ALTER TABLE "sessions" RENAME TO "sessions_gone"`);
    const response = await server.gql(`query MySessions { sessions { id } }`, {}, admin.accessToken);
    expect(codeOf(response)).toBe("INTERNAL_SERVER_ERROR");
    const requestId = response.errors![0]!.extensions!.requestId as string;

    const { event, raw, path } = await sentry.event(requestId);
    expect(path.split("?")[0]).toBe("/api/42/envelope/");
    expect(event).toMatchObject({
      level: "error",
      environment: "ci",
      tags: { requestId, operationName: "MySessions", logMessage: "unexpected error" },
      user: { id: admin.id },
    });
    expect(event.exception.values[0].value).toMatch(/sessions/);
    expect(event.request).toBeUndefined();
    for (const secret of [admin.accessToken, admin.refreshToken, ADMIN.password]) expect(raw).not.toContain(secret);
  });

  it("reports nothing for the errors clients are meant to get", async () => {
    const before = sentry.envelopes.length;
    const refused = await server.gql(`query Refused { users { items { id } } }`, {}, undefined, {
      "x-request-id": "sentry-2",
    });
    expect(codeOf(refused)).toBe("UNAUTHENTICATED");
    await server.gql(`mutation { login(email: "nobody@example.com", password: "wrong password") { accessToken } }`);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(sentry.envelopes.length).toBe(before);
  });
});
