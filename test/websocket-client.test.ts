/**
 * What a WebSocket connection tells of its client (the address and user agent its operations' contexts
 * carry), read from a real upgrade request of a real ws client.
 */
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { WebSocket } from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectionClient } from "../src/graphql/websocket.js";
import type { ClientInfo } from "../src/kernel/request.js";
import { clientOf } from "../src/platform/http/request-id.js";

const server = createServer();
let url: string;
beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** What connectionClient reads from the upgrade request of a ws client with these headers (and clientOf, for one). */
function upgradeWith(headers: Record<string, string>) {
  return new Promise<{ request: IncomingMessage; trusted: ClientInfo; direct: ClientInfo }>((resolve) => {
    server.once("upgrade", (request: IncomingMessage, socket: Duplex) => {
      // Read while the socket is open: its address goes with it.
      resolve({ request, trusted: connectionClient(request, true), direct: connectionClient(request, false) });
      socket.destroy();
    });
    new WebSocket(url, { headers }).on("error", () => undefined);
  });
}

describe("a WebSocket connection's client", () => {
  // Regression: websocket.ts had a copy of clientOf of its own, without the cut.
  it("cuts the user agent at 512 characters, as for an HTTP request", async () => {
    const { request, direct } = await upgradeWith({ "user-agent": "a".repeat(600) });
    expect(direct.userAgent).toBe("a".repeat(512));
    expect(direct).toEqual(clientOf({ ip: "127.0.0.1", headers: request.headers }));
  });

  it("reads the address from X-Forwarded-For only behind a trusted proxy", async () => {
    const { trusted, direct } = await upgradeWith({
      "x-forwarded-for": "203.0.113.7, 10.0.0.1",
      "user-agent": "Phone/1.0",
    });
    expect(trusted).toEqual({ ip: "203.0.113.7", userAgent: "Phone/1.0" });
    expect(direct).toEqual({ ip: "127.0.0.1", userAgent: "Phone/1.0" });
  });
});
