import type { FastifyInstance } from "fastify";

export interface HealthCheck {
  name: string;
  /**
   * Whether the service cannot serve without it. @default true
   * One that is not required (the audit sink: events wait in the outbox) makes the service
   * `degraded`, not down.
   */
  required?: boolean;
  /**
   * Resolves when the dependency answers, with anything worth showing; rejects otherwise. Details
   * that must be shown either way resolve with `status: "down"` among them.
   */
  probe(): Promise<void | ({ status?: "ok" | "down" } & Record<string, unknown>)>;
}

type Status = "ok" | "degraded" | "down";

/** A dependency that has not answered by then counts as down: probes must answer faster than this. */
const PROBE_TIMEOUT_MS = 2000;

function withinTimeout<T>(probe: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("no answer in time")), PROBE_TIMEOUT_MS);
  });
  return Promise.race([probe, timeout]).finally(() => clearTimeout(timer));
}

/** Whether the request comes from this machine (through a trusted proxy: the client it names). */
function fromLoopback(ip: string): boolean {
  return ip === "::1" || /^(::ffff:)?127\./.test(ip);
}

/**
 * `GET /health/live`: the process answers. `GET /health/ready`: its status, 503 when a required
 * dependency is down (or does not answer within 2 s); asked from this machine, also every dependency
 * with its status and latency. Which dependency is down is nobody else's business.
 */
export function registerHealthRoutes(app: FastifyInstance, checks: HealthCheck[]): void {
  // Probes of load balancers and orchestrators are not rate limited.
  const options = { config: { rateLimit: false } };
  app.get("/health/live", options, async () => ({ status: "ok" }));
  app.get("/health/ready", options, async (request, reply) => {
    const results = await Promise.all(
      checks.map(async (check) => {
        const started = performance.now();
        const outcome: { status: "ok" | "down" } = await withinTimeout(check.probe()).then(
          (details) => ({ status: "ok", ...details }),
          () => ({ status: "down" }),
        );
        const latencyMs = Math.round((performance.now() - started) * 10) / 10;
        return { check, result: { ...outcome, latencyMs } };
      }),
    );
    const down = results.filter(({ result }) => result.status === "down");
    const status: Status = down.some(({ check }) => check.required !== false)
      ? "down"
      : down.length > 0
        ? "degraded"
        : "ok";
    reply.status(status === "down" ? 503 : 200);
    if (!fromLoopback(request.ip)) return reply.send({ status });
    return reply.send({ status, checks: Object.fromEntries(results.map(({ check, result }) => [check.name, result])) });
  });
}
