import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { GraphQLErrorBody, GraphQLResponse } from "./server.js";
import { testEnv } from "./server.js";

/** How long a start may take: tsx compiles the whole app first. */
const START_TIMEOUT_MS = 60_000;

/**
 * Kafkey as a process of its own (`src/main.ts`, the production entry), for tests of what would
 * otherwise end the test worker: an unhandled error kills this child, not the test. Its stdout JSON
 * lines and its stderr are kept for the test to read.
 */
export class ChildServer {
  /** Every JSON log line it wrote on stdout. */
  readonly logs: Record<string, unknown>[] = [];
  /** Everything it wrote on stderr. */
  stderr = "";
  url = "";
  /** How it ended, once it has. */
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private readonly child: ChildProcess;
  private readonly dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "kafkey-child-"));
  private readonly kill = () => this.child.kill("SIGKILL");

  private constructor(env: Record<string, string>) {
    this.child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
      cwd: path.resolve(import.meta.dirname, "../.."),
      env: { PATH: process.env.PATH, ...testEnv(this.dataDir), ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    process.once("exit", this.kill);
    let partial = "";
    this.child.stdout!.on("data", (chunk: Buffer) => {
      const lines = (partial + chunk.toString()).split("\n");
      partial = lines.pop()!;
      for (const line of lines) {
        try {
          this.logs.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          // not a log line (the generated admin's box)
        }
      }
    });
    this.child.stderr!.on("data", (chunk: Buffer) => void (this.stderr += chunk.toString()));
    this.child.once("exit", (code, signal) => void (this.exit = { code, signal }));
  }

  /**
   * Starts Kafkey with the test configuration plus `env` (DATABASE_URL, REDIS_URL, ...) and waits
   * until `/health/ready` answers 200.
   */
  static async start(env: Record<string, string>): Promise<ChildServer> {
    const server = new ChildServer({ PORT: "0", ...env });
    try {
      const deadline = Date.now() + START_TIMEOUT_MS;
      while (!server.url) {
        if (server.exit || Date.now() > deadline) throw new Error(`Kafkey did not start: ${server.stderr}`);
        const line = server.logs.find((l) => l.message === "Kafkey is listening");
        if (line) server.url = String(line.url);
        else await pause(100);
      }
      await server.until(async () => (await fetch(`${server.url}/health/ready`)).status === 200, deadline);
      return server;
    } catch (error) {
      await server.stop();
      throw error;
    }
  }

  /** Whether the process is still running. */
  get alive(): boolean {
    return this.exit === undefined;
  }

  /**
   * POSTs a GraphQL operation; a request that gets no answer within `timeoutMs` rejects
   * (the tests' bound on a hang).
   */
  async gql<T = Record<string, any>>(
    query: string,
    variables?: Record<string, unknown>,
    token?: string,
    timeoutMs = 15_000,
  ): Promise<GraphQLResponse<T>> {
    const response = await fetch(`${this.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query, variables }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const body = (await response.json()) as { data?: T; errors?: GraphQLErrorBody[] };
    return { status: response.status, headers: response.headers, ...body };
  }

  /** Polls `check` until it holds (a liveness deadline, not a timing assertion). */
  async until(check: () => Promise<boolean>, deadline = Date.now() + 30_000): Promise<void> {
    for (;;) {
      if (await check().catch(() => false)) return;
      if (!this.alive) throw new Error(`Kafkey exited (${JSON.stringify(this.exit)}): ${this.stderr}`);
      if (Date.now() > deadline) throw new Error("gave up waiting");
      await pause(100);
    }
  }

  /** Stops the process (SIGTERM, then SIGKILL if it lingers) and removes its data directory. */
  async stop(): Promise<void> {
    if (this.alive) {
      const exited = new Promise((resolve) => this.child.once("exit", resolve));
      this.child.kill("SIGTERM");
      const timer = setTimeout(this.kill, 10_000);
      await exited;
      clearTimeout(timer);
    }
    process.off("exit", this.kill);
    fs.rmSync(this.dataDir, { recursive: true, force: true });
  }
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
