import type { Counter, Histogram, Meter } from "@opentelemetry/api";
import { PrometheusExporter, PrometheusSerializer } from "@opentelemetry/exporter-prometheus";
import { MeterProvider } from "@opentelemetry/sdk-metrics";
import TransportStream from "winston-transport";

/** Seconds, from the fastest useful bucket (1 ms) to a slow request (10 s). */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** What a database pool reports, read each time metrics are scraped. */
export interface PoolStats {
  total: number;
  idle: number;
  waiting: number;
}

/**
 * The service's metrics through OpenTelemetry, exposed in Prometheus' text format by `render()`
 * (served at `/metrics`). One instance per process.
 */
export class Metrics {
  private readonly exporter = new PrometheusExporter({ preventServerStart: true });
  private readonly serializer = new PrometheusSerializer();
  private readonly provider = new MeterProvider({ readers: [this.exporter] });
  private readonly meter: Meter = this.provider.getMeter("kafkey");

  readonly httpDuration: Histogram = this.meter.createHistogram("http_request_duration_seconds", {
    description: "HTTP requests by method, route and status",
    unit: "s",
    advice: { explicitBucketBoundaries: LATENCY_BUCKETS },
  });

  readonly graphqlDuration: Histogram = this.meter.createHistogram("graphql_operation_duration_seconds", {
    description: "GraphQL operations by operation name and outcome (ok or error)",
    unit: "s",
    advice: { explicitBucketBoundaries: LATENCY_BUCKETS },
  });

  readonly graphqlErrors: Counter = this.meter.createCounter("graphql_errors", {
    description: "Errors returned to clients, by extensions.code",
  });

  /** Auth and security events: login, login_failed, refresh, account_locked, mfa_failed, ... */
  readonly events: Counter = this.meter.createCounter("kafkey_events", {
    description: "Auth and security events, by event name",
  });

  readonly permissionCache: Counter = this.meter.createCounter("kafkey_permission_cache_lookups", {
    description: "Permission cache lookups, by result (hit or miss)",
  });

  readonly auditDelivered: Counter = this.meter.createCounter("kafkey_audit_events_delivered", {
    description: "Audit events moved from the outbox to the sink, by sink",
  });

  readonly auditDeliveryFailures: Counter = this.meter.createCounter("kafkey_audit_delivery_failures", {
    description: "Audit events whose delivery failed (they wait in the outbox), by sink",
  });

  constructor() {
    const memory = this.meter.createObservableGauge("process_resident_memory_bytes", { unit: "By" });
    const heap = this.meter.createObservableGauge("nodejs_heap_used_bytes", { unit: "By" });
    const cpu = this.meter.createObservableCounter("process_cpu_seconds", { unit: "s" });
    const uptime = this.meter.createObservableGauge("process_uptime_seconds", { unit: "s" });
    this.meter.addBatchObservableCallback(
      (result) => {
        const usage = process.memoryUsage();
        const times = process.cpuUsage();
        result.observe(memory, usage.rss);
        result.observe(heap, usage.heapUsed);
        result.observe(cpu, (times.user + times.system) / 1e6);
        result.observe(uptime, process.uptime());
      },
      [memory, heap, cpu, uptime],
    );
  }

  /** Reports a database pool's connections (total, idle, waiting clients) on every scrape. */
  observePool(read: () => PoolStats): void {
    const gauge = this.meter.createObservableGauge("db_pool_connections", {
      description: "Database pool connections, by state",
    });
    gauge.addCallback((result) => {
      const stats = read();
      result.observe(stats.total - stats.idle, { state: "used" });
      result.observe(stats.idle, { state: "idle" });
      result.observe(stats.waiting, { state: "waiting" });
    });
  }

  /**
   * Reports whether the shared store (Redis) answers, 1 or 0, on every scrape. Its outages and
   * recoveries are also counted as `kafkey_events_total{event="kv.circuit_open"}` and `"kv.circuit_closed"`.
   */
  observeStore(available: () => boolean): void {
    const gauge = this.meter.createObservableGauge("kafkey_kv_available", {
      description: "Whether the shared store (Redis) answered its last call: 1 or 0",
    });
    gauge.addCallback((result) => result.observe(available() ? 1 : 0));
  }

  /** Reports the audit events waiting in the outbox, and the oldest one's age, on every scrape. */
  observeAuditBacklog(read: () => Promise<{ count: number; oldestSeconds: number }>): void {
    const count = this.meter.createObservableGauge("kafkey_audit_outbox_backlog", {
      description: "Audit events waiting in the outbox for the sink",
    });
    const age = this.meter.createObservableGauge("kafkey_audit_outbox_oldest_seconds", {
      description: "Age of the oldest audit event waiting in the outbox",
      unit: "s",
    });
    this.meter.addBatchObservableCallback(
      async (result) => {
        const backlog = await read().catch(() => undefined);
        if (!backlog) return;
        result.observe(count, backlog.count);
        result.observe(age, backlog.oldestSeconds);
      },
      [count, age],
    );
  }

  /** Every metric, in Prometheus' text exposition format. */
  async render(): Promise<string> {
    const { resourceMetrics } = await this.exporter.collect();
    return this.serializer.serialize(resourceMetrics);
  }

  shutdown(): Promise<void> {
    return this.provider.shutdown();
  }
}

/**
 * Counts every log line that names an `event` (auth.login, security.account_locked, ...), whatever
 * LOG_LEVEL shows: the events are logged once, and counted from there.
 */
export class EventCounter extends TransportStream {
  constructor(private readonly metrics: Metrics) {
    super({ level: "debug" });
  }

  override log(info: { event?: unknown }, done: () => void): void {
    if (typeof info.event === "string") this.metrics.events.add(1, { event: info.event });
    done();
  }
}
