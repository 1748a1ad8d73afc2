import type { Context } from "../../graphql/context.js";
import { ForbiddenError, UnauthenticatedError } from "../../graphql/errors.js";
import { SlowConsumerError, type Stream } from "../../platform/events/event-bus.js";
import type { Principal } from "../permissions/index.js";

/** WebSocket close codes a client can act on. */
export const CloseCode = {
  /** The token is missing, invalid, expired or revoked, or the user is disabled. */
  UNAUTHORIZED: 4401,
  /** The caller may no longer receive this stream: signed out, permission removed. */
  FORBIDDEN: 4403,
  /** The client did not read fast enough: dropped instead of buffered. */
  POLICY_VIOLATION: 1008,
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

async function* guarded<T>(stream: Stream<T>, ctx: Context, allowed: (principal: Principal) => boolean) {
  try {
    for (;;) {
      let next: IteratorResult<T>;
      try {
        next = await stream.next();
      } catch (error) {
        if (!(error instanceof SlowConsumerError)) throw error;
        ctx.live?.close(CloseCode.POLICY_VIOLATION, "Too slow to keep up: dropped");
        return;
      }
      if (next.done) return;
      const now = await ctx.reload();
      if (!now || !allowed(now)) {
        ctx.live?.close(CloseCode.FORBIDDEN, now ? "Permission removed" : (ctx.tokenProblem() ?? "Forbidden"));
        return;
      }
      yield next.value;
    }
  } finally {
    await stream.return();
  }
}
