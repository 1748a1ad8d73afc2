/**
 * A real nginx in front of a toy upstream, for the forward-auth tests: Debian's nginx (its build has
 * the auth_request module), run as the test's own process on a free port with every path it writes in
 * a temporary folder, and an upstream that counts and records the requests that reach it.
 */
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import http, { type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { freePort } from "./ports.js";
import { until } from "./until.js";

/** The nginx binary (`.ci/run` installs Debian's `nginx` when it is missing). */
export const NGINX_PATH = process.env.KAFKEY_TEST_NGINX ?? "/usr/sbin/nginx";

const REQUIRE_SERVICES = process.env.KAFKEY_TEST_REQUIRE_SERVICES === "1";

/**
 * Why nginx cannot run here, or undefined when it can. Printed once by the caller, which skips; with
 * KAFKEY_TEST_REQUIRE_SERVICES=1 (CI) a missing nginx fails the run instead.
 */
export function nginxMissing(): string | undefined {
  if (fs.existsSync(NGINX_PATH)) return undefined;
  const reason = `nginx is not installed at ${NGINX_PATH} (apt-get install nginx, or set KAFKEY_TEST_NGINX)`;
  if (REQUIRE_SERVICES) throw new Error(`KAFKEY_TEST_REQUIRE_SERVICES=1 but ${reason}`);
  console.warn(`Skipping the forward-auth tests through nginx: ${reason}.`);
  return reason;
}

/** A request the upstream received. */
export interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
}

/** The protected app: answers 200 "upstream" to everything, and keeps what reached it. */
export class Upstream {
  readonly received: Received[] = [];
  private server: http.Server | undefined;
  port = 0;

  async start(): Promise<this> {
    this.server = http.createServer((request, response) => {
      this.received.push({ method: request.method!, url: request.url!, headers: request.headers });
      request.resume();
      response.end("upstream");
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  get count(): number {
    return this.received.length;
  }

  /** The last request that reached it. */
  get last(): Received | undefined {
    return this.received.at(-1);
  }

  async close(): Promise<void> {
    if (this.server) await new Promise((resolve) => this.server!.close(resolve));
  }
}

/** An nginx serving `serverBlock` (the `server { … }` contents; `listen` is added) on a free port. */
export class Nginx {
  url = "";
  port = 0;
  private child: ChildProcess | undefined;
  private readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), "kafkey-nginx-"));
  private output = "";

  /** Picks the port first: the server block may need it (and Kafkey's public URL does). */
  async reserve(): Promise<number> {
    this.port = await freePort();
    this.url = `http://127.0.0.1:${this.port}`;
    return this.port;
  }

  async start(serverBlock: string): Promise<this> {
    if (!this.port) await this.reserve();
    const temp = (name: string) => `${name}_temp_path ${path.join(this.dir, name)};`;
    const conf = `
daemon off;
master_process off;
worker_processes 1;
pid ${path.join(this.dir, "nginx.pid")};
error_log ${path.join(this.dir, "error.log")} warn;
events { worker_connections 256; }
http {
  access_log off;
  ${["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map(temp).join("\n  ")}
  server {
    listen 127.0.0.1:${this.port};
${serverBlock}
  }
}
`;
    const file = path.join(this.dir, "nginx.conf");
    fs.writeFileSync(file, conf);
    this.child = spawn(NGINX_PATH, ["-p", this.dir, "-c", file, "-e", path.join(this.dir, "error.log")], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.child.stdout!.on("data", (chunk) => (this.output += String(chunk)));
    this.child.stderr!.on("data", (chunk) => (this.output += String(chunk)));
    let exited = false;
    this.child.once("exit", () => (exited = true));
    let up = false;
    await until(
      () => up || exited,
      async () => {
        up = await fetch(`${this.url}/__nginx_up`).then(
          () => true,
          () => false,
        );
      },
    );
    if (!up) throw new Error(`nginx did not start: ${this.output}${this.errorLog()}`);
    return this;
  }

  /** nginx's error log, to explain a failure. */
  errorLog(): string {
    const file = path.join(this.dir, "error.log");
    return fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
  }

  async close(): Promise<void> {
    const child = this.child;
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
