import { GraphQLError } from "graphql";

/**
 * Every `extensions.code` a client can see. Tests and frontends branch on these, never on messages.
 */
export const ErrorCode = {
  BAD_USER_INPUT: "BAD_USER_INPUT",
  BAD_REQUEST: "BAD_REQUEST",
  UNAUTHENTICATED: "UNAUTHENTICATED",
  FORBIDDEN: "FORBIDDEN",
  NOT_FOUND: "NOT_FOUND",
  CONFLICT: "CONFLICT",
  ACCOUNT_DISABLED: "ACCOUNT_DISABLED",
  EMAIL_NOT_VERIFIED: "EMAIL_NOT_VERIFIED",
  REAUTHENTICATION_REQUIRED: "REAUTHENTICATION_REQUIRED",
  PAYLOAD_TOO_LARGE: "PAYLOAD_TOO_LARGE",
  RATE_LIMITED: "RATE_LIMITED",
  SERVICE_UNAVAILABLE: "SERVICE_UNAVAILABLE",
  INTERNAL_SERVER_ERROR: "INTERNAL_SERVER_ERROR",
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** The codes Apollo and graphql-js give their own errors, passed to the client as they are. */
export const FRAMEWORK_CODES = new Set([
  "GRAPHQL_PARSE_FAILED",
  "GRAPHQL_VALIDATION_FAILED",
  "BAD_USER_INPUT",
  "PERSISTED_QUERY_NOT_FOUND",
  "PERSISTED_QUERY_NOT_SUPPORTED",
  "OPERATION_RESOLUTION_FAILURE",
  "BAD_REQUEST",
]);

/** One offending input: `path` names the argument or input field, e.g. `input.password`. */
export interface FieldProblem {
  path: string;
  message: string;
}

/** The caller is not signed in, or its token is not valid. HTTP 401. */
export class UnauthenticatedError extends GraphQLError {
  constructor(message = "Authentication required") {
    super(message, { extensions: { code: ErrorCode.UNAUTHENTICATED, http: { status: 401 } } });
  }
}

/**
 * The caller is known but may not do this. HTTP 403.
 * @param requiredPermission the permission that would allow it, so a frontend can explain the refusal.
 */
export class ForbiddenError extends GraphQLError {
  constructor(requiredPermission?: string, message?: string) {
    super(message ?? (requiredPermission ? `Missing permission ${requiredPermission}` : "Not allowed"), {
      extensions: { code: ErrorCode.FORBIDDEN, requiredPermission, http: { status: 403 } },
    });
  }
}

/**
 * @param status the HTTP status, for a refusal before the operation runs (a resolver's error leaves
 * the response's status alone).
 */
export class BadUserInputError extends GraphQLError {
  constructor(
    fields: FieldProblem[],
    message = fields.map((f) => `${f.path}: ${f.message}`).join("; "),
    status?: number,
  ) {
    super(message, {
      extensions: { code: ErrorCode.BAD_USER_INPUT, fields, ...(status ? { http: { status } } : {}) },
    });
  }
}

export class NotFoundError extends GraphQLError {
  constructor(entity: string) {
    super(`${entity} not found`, { extensions: { code: ErrorCode.NOT_FOUND } });
  }
}

/**
 * The request clashes with what is stored.
 * @param reason a stable UPPER_SNAKE refinement, e.g. `LAST_ADMIN`, `SYSTEM_ROLE`, `UNIQUE`.
 */
export class ConflictError extends GraphQLError {
  constructor(message: string, reason: string, extra: Record<string, unknown> = {}) {
    super(message, { extensions: { code: ErrorCode.CONFLICT, reason, ...extra } });
  }
}

export class AccountDisabledError extends GraphQLError {
  constructor() {
    super("This account is disabled", { extensions: { code: ErrorCode.ACCOUNT_DISABLED, http: { status: 403 } } });
  }
}

/** Too many attempts: try again in `retryAfter` seconds. HTTP 429. */
export class RateLimitedError extends GraphQLError {
  constructor(retryAfter: number) {
    super(`Too many attempts; try again in ${retryAfter} seconds`, {
      extensions: { code: ErrorCode.RATE_LIMITED, retryAfter, http: { status: 429 } },
    });
  }
}

/** The password was right, but this deployment requires a verified email first. HTTP 403. */
export class EmailNotVerifiedError extends GraphQLError {
  constructor() {
    super("Verify your email address before signing in", {
      extensions: { code: ErrorCode.EMAIL_NOT_VERIFIED, http: { status: 403 } },
    });
  }
}

/**
 * Adding or removing a credential needs recent re-authentication: the password (or a second-factor
 * code) in the call, or a step-up of this session within the last five minutes. HTTP 403: the caller is
 * known (401 would make clients drop their tokens), they have to prove it again.
 * @param methods how this account can re-authenticate (`password`, `totp`, `email`).
 */
export class ReauthenticationRequiredError extends GraphQLError {
  constructor(methods: string[]) {
    super("Confirm it is you: re-authenticate (stepUp) and try again", {
      extensions: { code: ErrorCode.REAUTHENTICATION_REQUIRED, methods, http: { status: 403 } },
    });
  }
}

/** A dependency Kafkey cannot decide without (the database, or the shared store where it must fail closed) is down. HTTP 503. */
export class ServiceUnavailableError extends GraphQLError {
  constructor(message = "The service is temporarily unavailable; try again shortly") {
    super(message, { extensions: { code: ErrorCode.SERVICE_UNAVAILABLE, http: { status: 503 } } });
  }
}
