import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";

const SAFE_REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

/**
 * A request's id in logs, traces, audit events and `extensions.requestId`: always Kafkey's own, so
 * that no client can make its requests pass for another's (or collide with them) in the logs.
 */
export function requestIdFor(): string {
  return randomUUID();
}

/** The caller's `x-request-id` when it is safe to log and echo (it is echoed and logged beside Kafkey's). */
export function clientRequestIdOf(request: { headers: IncomingMessage["headers"] }): string | undefined {
  const given = request.headers["x-request-id"];
  return typeof given === "string" && SAFE_REQUEST_ID.test(given) ? given : undefined;
}

/** Where a request comes from: its address, and its user agent cut to a sane length. */
export function clientOf(request: { ip: string; headers: IncomingMessage["headers"] }): {
  ip: string;
  userAgent: string | undefined;
} {
  return { ip: request.ip, userAgent: request.headers["user-agent"]?.slice(0, 512) };
}
