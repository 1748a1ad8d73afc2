import type { ApolloServerPlugin } from "@apollo/server";
import type { Context } from "./context.js";

/**
 * The GraphQL operations being served. A shutdown waits for them before it closes the database: an
 * operation whose client has gone still runs to its end, and a write it was making must not fail
 * half-way for want of a connection.
 */
export class InFlightOperations {
  private count = 0;
  private idle: (() => void)[] = [];

  /** Counts every operation from its start to its response (sent or not). */
  plugin(): ApolloServerPlugin<Context> {
    return {
      requestDidStart: async () => {
        this.count++;
        return { willSendResponse: async () => this.finished() };
      },
    };
  }

  /** Resolves once none is running, or after `timeoutMs` whatever is left. */
  async settled(timeoutMs: number): Promise<void> {
    if (this.count === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      new Promise<void>((resolve) => this.idle.push(resolve)),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))),
    ]);
    clearTimeout(timer);
  }

  private finished(): void {
    this.count--;
    if (this.count > 0) return;
    for (const resolve of this.idle.splice(0)) resolve();
  }
}
