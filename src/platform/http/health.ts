import type { FastifyInstance } from "fastify";

export interface HealthCheck {
  name: string;
  /** Resolves when the dependency answers; rejects otherwise. */
  probe(): Promise<void>;
}

/**
 * `GET /health/live`: the process answers. `GET /health/ready`: every dependency answers, each with
 * its status and latency; 503 when one does not.
 */
export function registerHealthRoutes(app: FastifyInstance, checks: HealthCheck[]): void {
  // Probes of load balancers and orchestrators are not rate limited.
  const options = { config: { rateLimit: false } };
  app.get("/health/live", options, async () => ({ status: "ok" }));
  app.get("/health/ready", options, async (_request, reply) => {
    const results = await Promise.all(
      checks.map(async (check) => {
        const started = performance.now();
        const status = await check.probe().then(
          () => "ok" as const,
          () => "down" as const,
        );
        return [check.name, { status, latencyMs: Math.round((performance.now() - started) * 10) / 10 }] as const;
      }),
    );
    const ready = results.every(([, result]) => result.status === "ok");
    return reply.status(ready ? 200 : 503).send({ status: ready ? "ok" : "down", checks: Object.fromEntries(results) });
  });
}
