import type { Writable } from "node:stream";
import winston from "winston";
import { redact } from "./redact.js";
import { currentRequestContext } from "./request-context.js";

export type Logger = winston.Logger;

/** Adds the time, and the request id, user id and operation name of the request being served, to every line. */
const requestFields = winston.format((info) => {
  info.time = new Date().toISOString();
  const context = currentRequestContext();
  if (context) {
    info.requestId ??= context.requestId;
    if (context.userId) info.userId ??= context.userId;
    if (context.operationName) info.operationName ??= context.operationName;
  }
  return info;
});

/** Removes passwords, tokens, secrets, authorization headers and cookies from every line. */
const redaction = winston.format((info) => {
  const clean = redact({ ...info }) as Record<string, unknown>;
  for (const key of Object.keys(info)) info[key] = clean[key];
  return info;
});

/**
 * JSON lines on stdout: `{ level, time, message, requestId, userId, ... }`.
 * @param level `error` | `warn` | `info` | `debug` | `silent`
 * @param destination where lines go instead of stdout (tests read them back).
 */
export function createLogger(level: string, destination?: Writable): Logger {
  return winston.createLogger({
    level: level === "silent" ? "error" : level,
    silent: level === "silent",
    format: winston.format.combine(requestFields(), redaction(), winston.format.json()),
    transports: [
      destination ? new winston.transports.Stream({ stream: destination }) : new winston.transports.Console(),
    ],
  });
}
