import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";

const SAFE_REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

/** The caller's `x-request-id` when it is safe to log and echo, otherwise a new UUID. */
export function requestIdFor(request: IncomingMessage): string {
  const given = request.headers["x-request-id"];
  return typeof given === "string" && SAFE_REQUEST_ID.test(given) ? given : randomUUID();
}

/** Where a request comes from: its address, and its user agent cut to a sane length. */
export function clientOf(request: { ip: string; headers: IncomingMessage["headers"] }): {
  ip: string;
  userAgent: string | undefined;
} {
  return { ip: request.ip, userAgent: request.headers["user-agent"]?.slice(0, 512) };
}
