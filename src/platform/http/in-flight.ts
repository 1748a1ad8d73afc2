import type { FastifyInstance, FastifyReply, FastifyRequest, RouteHandlerMethod } from "fastify";
import { settleWithin } from "../settle-within.js";

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
    // Callback hooks: no promise per request on the hot path.
    app.addHook("onRequest", (request, _reply, done) => {
      this.running.add(request);
      this.count++;
      done();
    });
    const leave = (request: FastifyRequest) => this.leave(request);
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
    app.addHook("onResponse", (request, _reply, done) => {
      leave(request);
      done();
    });
  }

  /** Resolves once no request is running, or after `timeoutMs` whatever is left. */
  async settled(timeoutMs: number): Promise<void> {
    if (this.count > 0) await settleWithin(new Promise<void>((resolve) => this.idle.push(resolve)), timeoutMs);
  }

  private leave(request: FastifyRequest): void {
    if (!this.running.delete(request)) return;
    this.count--;
    if (this.count > 0) return;
    for (const resolve of this.idle.splice(0)) resolve();
  }
}
