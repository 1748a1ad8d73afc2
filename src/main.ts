import cluster, { type Worker } from "node:cluster";
import { type Config, ConfigError, loadConfig } from "./config.js";
import type { HealthCheck } from "./platform/http/health.js";
import type { Logger } from "./platform/observability/logger.js";
import { startTracing } from "./platform/observability/tracing.js";

function printGeneratedAdmin(email: string, password: string, url: string): void {
  // Straight to the console, never through the logger: this is the only place the password appears.
  process.stdout.write(
    [
      "",
      "  ┌─ Kafkey created the first admin ───────────────────────────────",
      `  │ email:    ${email}`,
      `  │ password: ${password}`,
      "  │ It is shown this once. Sign in and change it, or set",
      "  │ KAFKEY_ADMIN_EMAIL and KAFKEY_ADMIN_PASSWORD before the first start.",
      `  │ GraphQL:  ${url}/graphql`,
      "  └────────────────────────────────────────────────────────────────",
      "",
      "",
    ].join("\n"),
  );
}

const ALL_WORKERS_LISTENING = "kafkey:all-workers-listening";

/**
 * A worker is ready only once every worker listens: a load balancer that keeps its connections open
 * would otherwise pin them all to the first worker up.
 */
function workersListening(): HealthCheck {
  let all = false;
  process.on("message", (message) => {
    if (message === ALL_WORKERS_LISTENING) all = true;
  });
  return {
    name: "workers",
    probe: async () => {
      if (!all) throw new Error("workers are starting");
      return { worker: cluster.worker?.id };
    },
  };
}

/**
 * Cluster mode (`KAFKEY_WORKERS` > 1): this process only looks after the workers, which share the port.
 * The first one starts alone (it migrates and creates the first admin), then the others; a worker that
 * dies is replaced; SIGTERM/SIGINT stop them all gracefully.
 */
function supervise(config: Config): void {
  let stopping = false;
  let othersStarted = false;
  let allListening = false;
  const listening = new Set<number>();
  const tell = (worker: Worker | undefined) => {
    if (worker?.isConnected()) worker.send(ALL_WORKERS_LISTENING);
  };
  const fork = (): void => {
    const worker = cluster.fork();
    worker.once("listening", () => {
      listening.add(worker.id);
      // The first one up has migrated: the others may start now.
      if (!othersStarted) {
        othersStarted = true;
        for (let i = 1; i < config.workers; i++) fork();
      }
      if (allListening) {
        tell(worker); // a replacement joins workers that are all up already
      } else if (listening.size === config.workers) {
        allListening = true;
        for (const each of Object.values(cluster.workers ?? {})) tell(each);
      }
    });
    worker.once("exit", (code) => {
      listening.delete(worker.id);
      if (stopping) return;
      console.error(`worker ${worker.process.pid} exited with ${code}; starting another`);
      fork();
    });
  };
  fork();
  const stop = () => {
    if (stopping) return;
    stopping = true;
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill("SIGTERM");
    const exitWhenDone = () => {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
    };
    cluster.on("exit", exitWhenDone);
    exitWhenDone();
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

/**
 * Once Kafkey serves, an error nobody handled (an 'error' event without a listener, a rejection
 * nobody awaited) is logged as a JSON line and counted (`kafkey_events_total{event="process.unexpected_error"}`),
 * and the process goes on serving: one broken connection must not take every request of the instance
 * with it. Before that (start-up), such an error still ends the process with a non-zero status, as a
 * misconfiguration should.
 */
function guardProcess(log: Logger): void {
  const report = (origin: string) => (error: unknown) =>
    log.error("unexpected error outside any request", { event: "process.unexpected_error", origin, error });
  process.on("uncaughtException", report("uncaughtException"));
  process.on("unhandledRejection", report("unhandledRejection"));
}

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  if (config.workers > 1 && cluster.isPrimary) return supervise(config);
  const stopTracing = config.tracing.endpoint
    ? await startTracing({ endpoint: config.tracing.endpoint, serviceName: config.tracing.serviceName })
    : undefined;
  // Loaded only now: tracing must patch http, graphql and pg before the app loads them.
  const { createApp } = await import("./app.js");
  // Only under our own supervisor (another cluster manager sends no such message).
  const supervised = cluster.isWorker && config.workers > 1;
  const app = await createApp(config, { readiness: supervised ? [workersListening()] : [] });
  const url = await app.listen();
  guardProcess(app.log);
  app.log.info("Kafkey is listening", { url, database: app.db.kind, env: config.env });
  if (app.createdAdmin?.generatedPassword)
    printGeneratedAdmin(app.createdAdmin.email, app.createdAdmin.generatedPassword, url);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.log.info("shutting down", { signal });
    await app.close();
    await stopTracing?.();
    process.exit(0);
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
}

main().catch((error: unknown) => {
  const message = error instanceof ConfigError ? `Configuration error: ${error.message}` : error;
  console.error(message);
  process.exit(1);
});
