import { AsyncLocalStorage } from "node:async_hooks";

/**
 * What every log line and audit event of a request carries. `userId` is filled in once the caller is
 * known.
 */
export interface RequestContext {
  requestId: string;
  userId?: string;
  /** The client's address (the proxy's view of it when KAFKEY_TRUST_PROXY is on). */
  ip?: string;
  userAgent?: string;
  /** The GraphQL operation's name, once it is known. */
  operationName?: string;
  /** Epoch ms past which the request sends no more database statements. */
  deadline?: number;
  /** Set when the client went before its answer was written. */
  abandoned?: boolean;
}

/** The request ran past its deadline, or its client has gone: what it had not done yet is not done. */
export class RequestAbandonedError extends Error {
  override readonly name = "RequestAbandonedError";
}

/**
 * Throws RequestAbandonedError when the request being served ran past its deadline or lost its client;
 * outside a request (background work), never.
 */
export function refuseAbandonedRequest(): void {
  const context = storage.getStore();
  if (context === undefined) return;
  if (context.abandoned) throw new RequestAbandonedError("the client went before its answer");
  if (context.deadline !== undefined && Date.now() > context.deadline) {
    throw new RequestAbandonedError("the request ran past its deadline");
  }
}

const storage = new AsyncLocalStorage<RequestContext>();

/** Runs `fn` with `context` visible to everything it calls, however deep and however async. */
export function runWithRequestContext<T>(context: RequestContext, fn: () => T): T {
  return storage.run(context, fn);
}

/** The context of the request being served, if any. */
export function currentRequestContext(): RequestContext | undefined {
  return storage.getStore();
}
