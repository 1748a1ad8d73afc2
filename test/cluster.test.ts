import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createScratchDatabase, postgresAvailable, type ScratchDatabase } from "./support/databases.js";
import { redisAvailable, TEST_REDIS_URL, uniquePrefix } from "./support/redis.js";
import { freePort } from "./support/ports.js";
import { testEnv } from "./support/server.js";

// Cluster mode needs PostgreSQL and Redis (config refuses it without them).
const services = (await postgresAvailable()) && (await redisAvailable());
if (!services) console.warn("Skipping the cluster-mode test: it needs PostgreSQL and Redis, and one is unreachable.");

let database: ScratchDatabase;
let child: ChildProcess;
let output = "";
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "kafkey-cluster-"));

/** `GET /health/ready` on a connection of its own, so that the cluster hands it to the next worker. */
function ready(port: number): Promise<{ status: number; body: Record<string, any> }> {
  return new Promise((resolve, reject) => {
    const request = http.get({ host: "127.0.0.1", port, path: "/health/ready", agent: false }, (response) => {
      let text = "";
      response.on("data", (chunk: Buffer) => (text += chunk.toString()));
      response.on("end", () => resolve({ status: response.statusCode!, body: JSON.parse(text) }));
    });
    request.on("error", reject);
  });
}

let port: number;

beforeAll(async () => {
  if (!services) return;
  database = await createScratchDatabase();
  port = await freePort();
  child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    env: {
      ...process.env,
      ...testEnv(dataDir),
      PORT: String(port),
      HOST: "127.0.0.1",
      DATABASE_URL: database.url,
      REDIS_URL: TEST_REDIS_URL,
      KAFKEY_REDIS_PREFIX: uniquePrefix(),
      KAFKEY_WORKERS: "2",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
}, 30_000);

afterAll(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    await exited;
  }
  await database?.drop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe.skipIf(!services)("cluster mode (KAFKEY_WORKERS=2)", () => {
  it("is ready only once both workers listen, and then both serve new connections", async () => {
    let first: { status: number; body: Record<string, any> } | undefined;
    for (let i = 0; i < 600 && !first; i++) {
      const answer = await ready(port).catch(() => undefined);
      if (answer?.status === 200) first = answer;
      else await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(first, `never ready:\n${output}`).toBeDefined();
    // Straight after the first "ready", new connections already reach both workers.
    const workers = new Set<number>();
    for (let i = 0; i < 8; i++) {
      const answer = await ready(port);
      expect(answer.status).toBe(200);
      expect(answer.body.checks.workers.status).toBe("ok");
      workers.add(answer.body.checks.workers.worker);
    }
    expect(workers.size).toBe(2);
    expect(output.match(/Kafkey is listening/g)).toHaveLength(2);
  }, 60_000);

  it("replaces a worker that dies, and the replacement is ready and serves", async () => {
    const workerPids = () =>
      fs.readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, "utf8").trim().split(/\s+/).map(Number);
    const [victim] = workerPids();
    process.kill(victim!, "SIGKILL");
    // Workers 1 and 2 started first: the replacement is number 3.
    let replacementReady = false;
    // A liveness deadline: a worker compiles the sources as it starts (tsx), slow on a busy machine.
    const deadline = Date.now() + 100_000;
    while (!replacementReady && Date.now() < deadline) {
      const answer = await ready(port).catch(() => undefined);
      replacementReady = answer?.status === 200 && answer.body.checks.workers.worker > 2;
      if (!replacementReady) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(replacementReady, `no replacement answered:\n${output}`).toBe(true);
    expect(workerPids()).not.toContain(victim);
    const workers = new Set<number>();
    for (let i = 0; i < 8; i++) {
      const answer = await ready(port);
      expect(answer.status).toBe(200);
      workers.add(answer.body.checks.workers.worker);
    }
    expect(workers.size).toBe(2);
  }, 120_000);
});
