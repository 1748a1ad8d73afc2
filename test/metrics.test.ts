import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PASSWORD, startServer, type TestServer } from "./support/server.js";

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.close());

async function scrape() {
  const response = await fetch(`${server.url}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toMatch(/^text\/plain/);
  const text = await response.text();
  return Object.assign(parsePrometheusTextFormat(text), { text });
}

/**
 * A histogram's observation count for a label set. The parser keeps only the buckets of histograms
 * that list _count before _bucket (as OpenTelemetry does), so this reads the _count line itself.
 */
function histogramCount(text: string, name: string, labels: Record<string, string>): number {
  const line = text
    .split("\n")
    .find((l) => l.startsWith(`${name}_count{`) && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)));
  return Number(line?.split(" ").pop() ?? 0);
}

function sample(families: Awaited<ReturnType<typeof scrape>>, name: string, labels: Record<string, string>) {
  const family = families.find((f) => f.name === name);
  const found = family?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
  return Number(found?.value ?? found?.count ?? 0);
}

describe("/metrics", () => {
  it("exposes Prometheus text whose counters move with a login", async () => {
    const user = await server.signUp("measured");
    const before = await scrape();
    await server.login(user.email, PASSWORD);
    await server.gql(`mutation { login(email: "${user.email}", password: "not the password") { accessToken } }`);
    await server.gql(`mutation($t: String!) { refreshToken(token: $t) { accessToken } }`, { t: user.refreshToken });
    const after = await scrape();

    expect(
      sample(after, "kafkey_events_total", { event: "auth.login" }) -
        sample(before, "kafkey_events_total", { event: "auth.login" }),
    ).toBe(1);
    expect(
      sample(after, "kafkey_events_total", { event: "auth.login_failed" }) -
        sample(before, "kafkey_events_total", { event: "auth.login_failed" }),
    ).toBe(1);
    expect(
      sample(after, "kafkey_events_total", { event: "auth.refresh" }) -
        sample(before, "kafkey_events_total", { event: "auth.refresh" }),
    ).toBe(1);
    expect(sample(after, "graphql_errors_total", { code: "UNAUTHENTICATED" })).toBeGreaterThan(
      sample(before, "graphql_errors_total", { code: "UNAUTHENTICATED" }),
    );
  });

  it("has request and operation latency histograms, cache, pool and process metrics", async () => {
    const me = await server.signUp("histogram");
    await server.gql(`query Me { me { id } }`, {}, me.accessToken);
    await server.gql(`query Me { me { id } }`, {}, me.accessToken);
    const families = await scrape();
    const names = families.map((f) => f.name);
    for (const name of [
      "http_request_duration_seconds",
      "graphql_operation_duration_seconds",
      "kafkey_permission_cache_lookups_total",
      "db_pool_connections",
      "process_resident_memory_bytes",
      "process_cpu_seconds_total",
    ]) {
      expect(names).toContain(name);
    }
    expect(families.find((f) => f.name === "graphql_operation_duration_seconds")!.type).toBe("HISTOGRAM");
    expect(
      histogramCount(families.text, "graphql_operation_duration_seconds", { operation: "Me", outcome: "ok" }),
    ).toBe(2);
    const requests = { route: "/graphql", method: "POST", status: "200" };
    expect(histogramCount(families.text, "http_request_duration_seconds", requests)).toBeGreaterThan(2);
    expect(sample(families, "kafkey_permission_cache_lookups_total", { result: "hit" })).toBeGreaterThan(0);
  });

  it("can be turned off", async () => {
    const quiet = await startServer({ database: "pglite", env: { KAFKEY_METRICS_ENABLED: "false" } });
    try {
      expect((await fetch(`${quiet.url}/metrics`)).status).toBe(404);
    } finally {
      await quiet.close();
    }
  });
});
