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
 * What a transport that sends lines somewhere must apply: redaction, then JSON. It belongs on the
 * transport, not the logger, so that a line below the transport's level costs no redaction and no JSON.
 */
export const redactedLines = () => winston.format.combine(redaction(), winston.format.json());

/**
 * JSON lines on stdout: `{ level, time, message, requestId, userId, ... }`.
 * @param level `error` | `warn` | `info` | `debug` | `silent`
 * @param destination where lines go instead of stdout (tests read them back).
 */
export function createLogger(level: string, destination?: Writable): Logger {
  const format = redactedLines();
  return winston.createLogger({
    level: level === "silent" ? "error" : level,
    silent: level === "silent",
    // The request's fields are read here, while its context is current; the rest per transport.
    format: requestFields(),
    transports: [
      destination
        ? new winston.transports.Stream({ stream: destination, format })
        : new winston.transports.Console({ format }),
    ],
  });
}

/** Whether lines at `level` are written (the logger's own level; the event counter sees every line). */
export function writesLevel(log: Logger, level: "info" | "debug"): boolean {
  return !log.silent && (log.levels[log.level] ?? 0) >= (log.levels[level] ?? 0);
}
