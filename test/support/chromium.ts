/**
 * A real browser for the tests (issue 17): Debian's Chromium driven by playwright-core, pages served on
 * ports of their own, page scripts bundled with esbuild, and every request that would leave the loopback
 * aborted and counted (nothing here may need the internet, and a test can prove that nothing tried).
 */
import fs from "node:fs";
import http from "node:http";
import net, { type AddressInfo } from "node:net";
import path from "node:path";
import { build } from "esbuild";
import { type Browser, type BrowserContext, type BrowserContextOptions, chromium } from "playwright-core";

/** The Chromium binary (`.ci/run` installs Debian's `chromium` when it is missing). */
export const CHROMIUM_PATH = process.env.KAFKEY_TEST_CHROMIUM ?? "/usr/bin/chromium";

/**
 * The flags that work headless on these machines; without the networking ones Chromium keeps trying
 * hosts it cannot reach (../shared/NOTES.md). What Chromium still tries on its own goes through the
 * context's proxy too, and counts as leaving the loopback.
 */
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  // A page with text fields makes Chromium itself ask Google's autofill service (seen here: the explorer).
  "--disable-features=AutofillServerCommunication",
];

const REQUIRE_SERVICES = process.env.KAFKEY_TEST_REQUIRE_SERVICES === "1";

/**
 * Why the browser tests cannot run here, or undefined when they can. Printed once by the caller, which
 * skips; with KAFKEY_TEST_REQUIRE_SERVICES=1 (CI) a missing Chromium fails the run instead.
 */
export function chromiumMissing(): string | undefined {
  if (fs.existsSync(CHROMIUM_PATH)) return undefined;
  const reason = `Chromium is not installed at ${CHROMIUM_PATH} (apt-get install chromium, or set KAFKEY_TEST_CHROMIUM)`;
  if (REQUIRE_SERVICES) throw new Error(`KAFKEY_TEST_REQUIRE_SERVICES=1 but ${reason}`);
  console.warn(`Skipping the browser tests: ${reason}.`);
  return reason;
}

/** Launches one headless Chromium; a test file launches one and closes it in afterAll. */
export function startBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true });
}

const blocked = new WeakMap<BrowserContext, string[]>();

/**
 * A proxy that forwards nothing: it records what each request asked for (`CONNECT host:443` for TLS
 * and secure WebSockets, an absolute URL for plain HTTP and WebSockets) and answers 403.
 */
async function startBlackhole(seen: string[]): Promise<net.Server> {
  const server = net.createServer((socket) => {
    socket.once("data", (chunk) => {
      const [method, target] = chunk.toString("latin1").split("\r\n")[0]!.split(" ");
      seen.push(method === "CONNECT" ? `connect://${target}` : (target ?? "?"));
      socket.end("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    });
    socket.on("error", () => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return server;
}

/**
 * A fresh context (its own cookies and storage) whose every request off the loopback, HTTP or
 * WebSocket, is refused and recorded for offLoopbackRequests(): the context's proxy is a black hole,
 * and only the loopback bypasses it. Not Playwright's request interception (`context.route`): while it
 * is on, Playwright answers every CORS preflight itself, allowing any origin, so a page on a foreign
 * origin would get its requests through and no CORS test would mean anything. Service workers are
 * blocked, so none can make requests the context does not see.
 */
export async function loopbackContext(browser: Browser, options: BrowserContextOptions = {}): Promise<BrowserContext> {
  const off: string[] = [];
  const proxy = await startBlackhole(off);
  const { port } = proxy.address() as AddressInfo;
  const context = await browser.newContext({
    serviceWorkers: "block",
    ...options,
    proxy: { server: `http://127.0.0.1:${port}`, bypass: "127.0.0.1,localhost,[::1]" },
  });
  blocked.set(context, off);
  // Under the test's own timeout, so that a wait that fails says what it waited for.
  context.setDefaultTimeout(10_000);
  context.on("close", () => {
    proxy.close();
  });
  return context;
}

/** The URLs a context tried to reach off the loopback (all of them refused), in order. */
export function offLoopbackRequests(context: BrowserContext): readonly string[] {
  const off = blocked.get(context);
  if (!off) throw new Error("not a context from loopbackContext()");
  return off;
}

/** A static page server on its own port: another origin than Kafkey's, on the same host name. */
export interface PageServer {
  /** `http://127.0.0.1:<port>`: what KAFKEY_CORS_ORIGINS names to allow these pages. */
  origin: string;
  url(pathname: string): string;
  close(): Promise<void>;
}

export interface PageServerOptions {
  /** A fixed port; a free one by default. */
  port?: number;
  /** Files served from memory (a bundle), by path: `{ "/apollo.js": code }`. */
  files?: Record<string, string>;
  /** `%NAME%` in served HTML becomes the value (Kafkey's URL, which the pages post to). */
  replace?: Record<string, string>;
}

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
};

/** Serves the files of `dir` (no subfolders, no `..`) and `options.files` on 127.0.0.1. */
export async function servePages(dir: string, options: PageServerOptions = {}): Promise<PageServer> {
  const server = http.createServer((request, response) => {
    const pathname = new URL(request.url ?? "/", "http://pages").pathname;
    const name = pathname === "/" ? "index.html" : pathname.slice(1);
    const type = TYPES[path.extname(name)] ?? "application/octet-stream";
    let body = options.files?.[pathname];
    if (body === undefined && /^[\w.-]+$/.test(name) && fs.existsSync(path.join(dir, name))) {
      body = fs.readFileSync(path.join(dir, name), "utf8");
    }
    if (body === undefined) {
      response.writeHead(404, { "content-type": "text/plain" }).end("not found");
      return;
    }
    if (name.endsWith(".html")) {
      for (const [key, value] of Object.entries(options.replace ?? {})) body = body.replaceAll(`%${key}%`, value);
    }
    response.writeHead(200, { "content-type": type, "cache-control": "no-store" }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, "127.0.0.1", resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    url: (pathname) => new URL(pathname, origin).toString(),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/** A page script and what it imports (Apollo Client, say) as one ES module for the browser. */
export async function bundle(entry: string): Promise<string> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    write: false,
    logLevel: "silent",
    define: { "process.env.NODE_ENV": JSON.stringify("production") },
  });
  return result.outputFiles[0]!.text;
}
