import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createScratchDatabase, type ScratchDatabase } from "./support/databases.js";
import { ADMIN, testEnv } from "./support/server.js";

interface Span {
  name: string;
  traceId: string;
  attributes: Record<string, unknown>;
}

type OtlpValue = { stringValue?: string; intValue?: string | number; boolValue?: boolean; doubleValue?: number };

/** A stand-in OpenTelemetry collector: keeps the spans of every OTLP/HTTP JSON export posted to it. */
class Collector {
  readonly spans: Span[] = [];
  /** `POST <path> <content-type>` of every export. */
  readonly exports: string[] = [];
  private readonly server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      this.exports.push(`${request.method} ${request.url} ${request.headers["content-type"]}`);
      const body = JSON.parse(Buffer.concat(chunks).toString()) as {
        resourceSpans: {
          scopeSpans: { spans: { name: string; traceId: string; attributes: { key: string; value: OtlpValue }[] }[] }[];
        }[];
      };
      for (const resource of body.resourceSpans) {
        for (const scope of resource.scopeSpans) {
          for (const span of scope.spans) {
            const attributes = Object.fromEntries(
              span.attributes.map(({ key, value }) => [
                key,
                value.stringValue ?? value.intValue ?? value.boolValue ?? value.doubleValue,
              ]),
            );
            this.spans.push({ name: span.name, traceId: span.traceId, attributes });
          }
        }
      }
      response.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

let collector: Collector;
let database: ScratchDatabase;
let child: ChildProcess;
let url: string;
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "kafkey-tracing-"));

/** Starts `src/main.ts` in its own process, as `npm run dev` does, and waits until it listens. */
function startKafkey(env: Record<string, string>): Promise<string> {
  child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  return new Promise((resolve, reject) => {
    let output = "";
    const timer = setTimeout(() => reject(new Error(`Kafkey did not start:\n${output}`)), 45_000);
    const read = (chunk: Buffer) => {
      output += chunk.toString();
      const listening = /"url":"(http:\/\/[^"]+)"/.exec(output);
      if (listening) {
        clearTimeout(timer);
        resolve(listening[1]!);
      }
    };
    child.stdout!.on("data", read);
    child.stderr!.on("data", read);
    child.on("exit", (code) => reject(new Error(`Kafkey exited with ${code}:\n${output}`)));
  });
}

beforeAll(async () => {
  collector = new Collector();
  database = await createScratchDatabase();
  url = await startKafkey({
    ...testEnv(dataDir),
    DATABASE_URL: database.url,
    REDIS_URL: "",
    OTEL_EXPORTER_OTLP_ENDPOINT: await collector.start(),
    OTEL_SERVICE_NAME: "kafkey-under-test",
  });
}, 60_000);
afterAll(async () => {
  if (child.exitCode === null) child.kill("SIGKILL");
  await collector.stop();
  await database.drop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe("tracing with OTEL_EXPORTER_OTLP_ENDPOINT", () => {
  it("exports HTTP, GraphQL and database spans of one trace, tagged with the request id", async () => {
    const response = await fetch(`${url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        query: `mutation SignIn($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }`,
        variables: { e: ADMIN.email, p: ADMIN.password },
      }),
    });
    expect(response.status).toBe(200);
    const requestId = response.headers.get("x-request-id");
    // A clean stop flushes the spans still buffered.
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    expect(await exited).toBe(0);

    expect(collector.exports.length).toBeGreaterThan(0);
    // Traces only (metrics are Prometheus' business), as JSON.
    for (const posted of collector.exports) expect(posted).toMatch(/^POST \/v1\/traces application\/json/);
    const request = collector.spans.find((s) => s.attributes["kafkey.request_id"] === requestId);
    expect(request, "an HTTP server span with the request id").toBeDefined();
    expect(request!.name).toMatch(/POST/);
    const trace = collector.spans.filter((s) => s.traceId === request!.traceId);
    const graphql = trace.find((s) => s.name.includes("SignIn") || s.attributes["graphql.operation.name"] === "SignIn");
    expect(graphql, "a GraphQL span of the operation").toBeDefined();
    const sql = trace.filter(
      (s) => s.attributes["db.system"] === "postgresql" || s.attributes["db.system.name"] === "postgresql",
    );
    expect(sql.length, "database spans in the same trace").toBeGreaterThan(0);
    const text = JSON.stringify(collector.spans);
    expect(text).not.toContain(ADMIN.password);
  });
});
