import rateLimit, { type FastifyRateLimitStore } from "@fastify/rate-limit";
import type { FastifyInstance } from "fastify";
import type { KeyValueStore } from "../kv/kv.js";

/** @fastify/rate-limit's store interface over our shared store, so all instances count together. */
function storeOver(kv: KeyValueStore) {
  return class KeyValueRateLimitStore implements FastifyRateLimitStore {
    private readonly prefix: string;

    /** The plugin constructs it with its options; a route's child gets a prefix of its own. */
    constructor(prefixOrOptions?: string | object) {
      this.prefix = typeof prefixOrOptions === "string" ? prefixOrOptions : "ratelimit:http:";
    }

    incr(
      key: string,
      callback: (error: Error | null, result?: { current: number; ttl: number }) => void,
      timeWindow: number,
    ) {
      kv.increment(this.prefix + key, timeWindow).then(
        ({ count, ttlMs }) => callback(null, { current: count, ttl: ttlMs }),
        (error: Error) => callback(error),
      );
    }

    child(routeOptions: { path: string }) {
      return new KeyValueRateLimitStore(`${this.prefix}${routeOptions.path}:`);
    }
  };
}

/** A per-IP limit on every request but CORS preflights; over it, 429 RATE_LIMITED with `retryAfter`. */
export async function registerHttpRateLimit(
  app: FastifyInstance,
  kv: KeyValueStore,
  options: { max: number; windowSeconds: number },
): Promise<void> {
  await app.register(rateLimit, {
    global: true,
    max: options.max,
    timeWindow: options.windowSeconds * 1000,
    store: storeOver(kv),
    // A browser's preflight is not a call of its own: counted, it would halve what a page may send.
    // (An allowed origin's is answered by CORS before this hook; a foreign one's finds no route.)
    allowList: (request) =>
      request.method === "OPTIONS" && request.headers["access-control-request-method"] !== undefined,
    // The store being down must not take the API down with it: without it, requests are not counted
    // (the store fails fast then). Sign-in has limits of its own that fail closed (graphql/rate-limit.ts).
    skipOnError: true,
    errorResponseBuilder: (_request, context) => ({
      statusCode: 429,
      message: `Too many requests; try again in ${Math.ceil(context.ttl / 1000)} seconds`,
      retryAfter: Math.ceil(context.ttl / 1000),
    }),
  });
}
