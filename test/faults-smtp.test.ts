import net from "node:net";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PASSWORD, startServer, type TestServer } from "./support/server.js";

const SIGN_UP = `mutation($input: SignUpInput!) { signUp(input: $input) { user { id } } }`;

// A mail server that takes the connection and never says a word: what a hung SMTP server (or a
// firewall that swallows packets after the handshake) looks like to a client.
describe("an SMTP server that never answers", () => {
  const sockets = new Set<net.Socket>();
  const silent = net.createServer((socket) => void sockets.add(socket));
  let server: TestServer;
  beforeAll(async () => {
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const { port } = silent.address() as AddressInfo;
    server = await startServer({ env: { SMTP_URL: `smtp://127.0.0.1:${port}` } });
  });
  afterAll(async () => {
    await server?.close();
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
  });

  // Regression: nodemailer's defaults wait 30 s for a greeting (and 2 minutes for a connection), and a
  // sign-up waits for its verification mail: the client waited that long for its account.
  it("holds a sign-up only briefly: the account is made and the mail logged as not sent", async () => {
    const email = `silent-${Date.now()}@example.com`;
    const answer = server.gql(SIGN_UP, { input: { email, password: PASSWORD, displayName: "Silent" } });
    // A liveness bound, well under nodemailer's own 30 s greeting wait.
    const result = await Promise.race([
      answer,
      new Promise<"no answer">((resolve) => setTimeout(() => resolve("no answer"), 15_000).unref()),
    ]);
    expect(result).not.toBe("no answer");
    expect((result as Awaited<typeof answer>).data!.signUp.user.id).toBeTruthy();
    const lines = server.logs.map((l) => JSON.parse(l) as { message: string });
    expect(lines.some((l) => l.message === "verification mail not sent")).toBe(true);
  }, 20_000);
});
