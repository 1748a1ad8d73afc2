import type { GraphQLFormattedError } from "graphql";
import { GraphQLError } from "graphql";
import { unwrapResolverError } from "@apollo/server/errors";
import { ArgumentValidationError } from "type-graphql";
import type { ValidationError } from "class-validator";
import type { Logger } from "../platform/observability/logger.js";
import { currentRequestContext, RequestAbandonedError } from "../platform/observability/request-context.js";
import { OutOfScopeError } from "../platform/db/scoped.js";
import { StoreUnavailableError } from "../platform/kv/kv.js";
import { ErrorCode, type FieldProblem, SHARED_CONFLICTS } from "../kernel/errors.js";

/** The codes a deliberate error may carry to the client: Kafkey's and Apollo's own (ErrorCode has both). */
const KNOWN_CODES = new Set<string>(Object.values(ErrorCode));

function fieldProblems(errors: ValidationError[], prefix = ""): FieldProblem[] {
  return errors.flatMap((e) => {
    const path = prefix + e.property;
    const own = Object.values(e.constraints ?? {}).map((message) => ({
      path,
      // class-validator starts its default messages with the property name; the path already says it.
      message: message.startsWith(`${e.property} `) ? message.slice(e.property.length + 1) : message,
    }));
    return [...own, ...fieldProblems(e.children ?? [], `${path}.`)];
  });
}

interface PrismaKnownError {
  name: "PrismaClientKnownRequestError";
  code: string;
  meta?: {
    modelName?: string;
    target?: string[];
    driverAdapterError?: { cause?: { constraint?: { fields?: string[] } } };
  };
}

function isPrismaKnownError(error: unknown): error is PrismaKnownError {
  return (error as { name?: string } | undefined)?.name === "PrismaClientKnownRequestError";
}

/**
 * The columns of a violated unique constraint. The pg adapter names only the index; ours follow
 * Prisma's `<table>_<columns>_key` naming, so the columns can be read back from it.
 */
function uniqueColumns(
  cause: { table?: string; constraint?: { fields?: string[]; index?: string } } | undefined,
): string[] {
  if (cause?.constraint?.fields) return cause.constraint.fields;
  const index = cause?.constraint?.index;
  if (!index || !cause?.table || !index.startsWith(`${cause.table}_`) || !index.endsWith("_key")) return [];
  return [index.slice(cause.table.length + 1, -"_key".length)];
}

/** Turns the errors Kafkey expects from Prisma into coded client errors; undefined for the rest. */
function fromPrisma(error: PrismaKnownError): { message: string; extensions: Record<string, unknown> } | undefined {
  const model = error.meta?.modelName ?? "Record";
  switch (error.code) {
    case "P2002": {
      const fields = error.meta?.target ?? uniqueColumns(error.meta?.driverAdapterError?.cause);
      return {
        message: `A ${model.toLowerCase()} with this ${fields.join(", ") || "value"} already exists`,
        extensions: { code: ErrorCode.CONFLICT, reason: SHARED_CONFLICTS.UNIQUE, fields },
      };
    }
    case "P2025":
      return { message: `${model} not found`, extensions: { code: ErrorCode.NOT_FOUND } };
    case "P2003":
      return {
        message: "A referenced record no longer exists",
        extensions: { code: ErrorCode.CONFLICT, reason: SHARED_CONFLICTS.REFERENCE },
      };
    default:
      return undefined;
  }
}

/** graphql-js's hints ("Did you mean "x"?", "Did you mean the enum value "ACTIVE"?"): they map the schema. */
const SUGGESTION = /\s*Did you mean [^?]*\?/g;

/** Apollo's `formatError`: the error as graphql-js formats it, and the error itself. */
export type ErrorFormatter = (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;

export interface FormatErrorOptions {
  /** Strip graphql-js's suggestions from messages (production: introspection is off there too). @default false */
  hideSuggestions?: boolean;
}

/**
 * Apollo's formatError: deliberate errors pass with the request id added; everything else is logged
 * in full and reaches the client only as INTERNAL_SERVER_ERROR with the request id. Built once in
 * app.ts and handed as it is to Apollo (HTTP) and to websocket.ts, so both sides mask alike.
 */
export function formatErrorWith(log: Logger, options: FormatErrorOptions = {}): ErrorFormatter {
  const format = formatErrorOf(log);
  if (!options.hideSuggestions) return format;
  return (formatted, error) => {
    const result = format(formatted, error);
    return result.message.includes("Did you mean")
      ? { ...result, message: result.message.replace(SUGGESTION, "") }
      : result;
  };
}

function formatErrorOf(log: Logger): ErrorFormatter {
  return (formatted, error) => {
    const requestId = currentRequestContext()?.requestId;
    const original = unwrapResolverError(error);
    const { locations, path } = formatted;

    if (original instanceof ArgumentValidationError) {
      const fields = fieldProblems(original.extensions.validationErrors as ValidationError[]);
      const message = fields.map((f) => `${f.path}: ${f.message}`).join("; ") || "Invalid input";
      return { message, locations, path, extensions: { code: ErrorCode.BAD_USER_INPUT, fields, requestId } };
    }
    if (original instanceof OutOfScopeError) {
      // A bug that the scope caught: the caller sees what is true from inside its organization.
      log.error("query outside the organization's scope", { error: original, path });
      return { message: "Not found", locations, path, extensions: { code: ErrorCode.NOT_FOUND, requestId } };
    }
    const unavailable = (message: string): GraphQLFormattedError => ({
      message,
      locations,
      path,
      extensions: { code: ErrorCode.SERVICE_UNAVAILABLE, requestId },
    });
    if (original instanceof RequestAbandonedError) {
      log.warn("request stopped", { event: "request.abandoned", reason: original.message, path });
      return unavailable("The request took too long and was stopped; nothing more was done");
    }
    if (original instanceof StoreUnavailableError) {
      log.warn("shared store unavailable", { event: "kv.unavailable", error: original.message, path });
      return unavailable("The service is temporarily unavailable; try again shortly");
    }
    const mapped = isPrismaKnownError(original) ? fromPrisma(original) : undefined;
    if (mapped) return { message: mapped.message, locations, path, extensions: { ...mapped.extensions, requestId } };

    const code = formatted.extensions?.code;
    // Deliberate: a GraphQLError all the way down. Apollo also wraps a plain Error thrown by a plugin or
    // the context in a GraphQLError coded INTERNAL_SERVER_ERROR, with the raw message: that one is masked.
    let innermost: unknown = error;
    while (innermost instanceof GraphQLError && innermost.originalError) innermost = innermost.originalError;
    const deliberate = innermost instanceof GraphQLError;
    if (deliberate && typeof code === "string" && KNOWN_CODES.has(code)) {
      return { ...formatted, extensions: { ...formatted.extensions, requestId } };
    }
    log.error("unexpected error", { error: original, path });
    return {
      message: "Unexpected error",
      locations,
      path,
      extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR, requestId },
    };
  };
}
