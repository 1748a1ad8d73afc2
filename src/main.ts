import { ConfigError, loadConfig } from "./config.js";
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

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const stopTracing = config.tracing.endpoint
    ? await startTracing({ endpoint: config.tracing.endpoint, serviceName: config.tracing.serviceName })
    : undefined;
  // Loaded only now: tracing must patch http, graphql and pg before the app loads them.
  const { createApp } = await import("./app.js");
  const app = await createApp(config);
  const url = await app.listen();
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
