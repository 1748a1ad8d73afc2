import { type Context } from "./context.js";
import { SlowConsumerError, type Stream } from "../platform/events/event-bus.js";
import { ForbiddenError, UnauthenticatedError } from "../kernel/errors.js";
import { type Principal } from "../kernel/principal.js";

/**
 * WebSocket close codes a client can act on. Besides these, graphql-ws' own: 4429 when the caller
 * already holds as many connections as it may, 4400 and others for protocol mistakes; and the upgrade
 * itself answers 403 to a page on an origin that may not call Kafkey, 429 over the per-IP limit.
 */
export const CloseCode = {
  /** The token is missing, invalid, expired or revoked, or the user is disabled. */
  UNAUTHORIZED: 4401,
  /** The caller may no longer receive this stream: signed out, permission removed. */
  FORBIDDEN: 4403,
  /** The client did not read fast enough: dropped instead of buffered. */
  POLICY_VIOLATION: 1008,
  /** The server could not go on (logged with the request id). */
  INTERNAL_ERROR: 1011,
} as const;

/**
 * Opens a subscription's stream for the caller, or refuses it with a GraphQL error (graphql-shield
 * does not guard the subscribe step: this does). Before each event is delivered, the caller is
 * loaded again: once the token has expired or been revoked, the user is disabled, or `allowed` no
 * longer holds, the connection closes with 4403 instead.
 * @param allowed whether the caller may receive the stream (and `requiredPermission` names it).
 */
export async function openLive<T>(
  ctx: Context,
  allowed: (principal: Principal) => boolean,
  requiredPermission: string | undefined,
  open: (principal: Principal) => Promise<Stream<T>>,
): Promise<AsyncIterable<T>> {
  const principal = await ctx.principal();
  if (!principal) throw new UnauthenticatedError();
  if (!allowed(principal)) throw new ForbiddenError(requiredPermission);
  const stream = await open(principal);
  return guarded(stream, ctx, allowed);
}

/**
 * The stream, checked before each event. A hand-written iterator, not a generator: `return()` (the
 * client completed, or left) ends the stream at once, even while it waits for an event or has not
 * been read yet, so no listener outlives its subscription.
 */
function guarded<T>(
  stream: Stream<T>,
  ctx: Context,
  allowed: (principal: Principal) => boolean,
): AsyncIterableIterator<T> {
  const end = async (code: number, reason: string): Promise<IteratorResult<T>> => {
    ctx.live?.close(code, reason);
    return stream.return();
  };
  const iterator: AsyncIterableIterator<T> = {
    async next() {
      let next: IteratorResult<T>;
      try {
        next = await stream.next();
      } catch (error) {
        if (error instanceof SlowConsumerError) return end(CloseCode.POLICY_VIOLATION, "Too slow to keep up: dropped");
        ctx.log.error("subscription stream failed", { error });
        return end(CloseCode.INTERNAL_ERROR, "Internal error");
      }
      if (next.done) return next;
      let now: Principal | null;
      try {
        now = await ctx.reload();
      } catch (error) {
        ctx.log.error("subscriber could not be checked again", { error });
        return end(CloseCode.INTERNAL_ERROR, "Internal error");
      }
      if (!now || !allowed(now)) {
        return end(CloseCode.FORBIDDEN, now ? "Permission removed" : (ctx.tokenProblem() ?? "Forbidden"));
      }
      return next;
    },
    return: () => stream.return(),
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}
