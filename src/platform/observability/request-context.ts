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
