import type { FastifyInstance, FastifyReply, FastifyRequest, RouteHandlerMethod } from "fastify";

/**
 * The HTTP requests being served, from their arrival to the end of their handler. A shutdown waits for
 * them before it closes the database: a request whose client has gone still runs to its end, and a
 * write it was making must not fail half-way for want of a connection.
 */
export class InFlightRequests {
  private readonly running = new WeakSet<FastifyRequest>();
  private count = 0;
  private idle: (() => void)[] = [];

  /** Counts every request of `app`; call before any route is added. */
  register(app: FastifyInstance): void {
    app.addHook("onRequest", async (request) => {
      this.running.add(request);
      this.count++;
    });
    // Each route's handler, however it ends; a request answered before its handler (a refusal by a
    // hook, a 404) when its response is sent.
    app.addHook("onRoute", (route) => {
      const handler = route.handler as (this: FastifyInstance, request: FastifyRequest, reply: FastifyReply) => unknown;
      const tracked = async function (this: FastifyInstance, request: FastifyRequest, reply: FastifyReply) {
        try {
          return await handler.call(this, request, reply);
        } finally {
          leave(request);
        }
      };
      route.handler = tracked as RouteHandlerMethod;
    });
    const leave = (request: FastifyRequest) => this.leave(request);
    app.addHook("onResponse", async (request) => leave(request));
  }

  /** Resolves once no request is running, or after `timeoutMs` whatever is left. */
  async settled(timeoutMs: number): Promise<void> {
    if (this.count === 0 || timeoutMs <= 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      new Promise<void>((resolve) => this.idle.push(resolve)),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))),
    ]);
    clearTimeout(timer);
  }

  private leave(request: FastifyRequest): void {
    if (!this.running.delete(request)) return;
    this.count--;
    if (this.count > 0) return;
    for (const resolve of this.idle.splice(0)) resolve();
  }
}
