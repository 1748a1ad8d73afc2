import { GraphQLError } from "graphql";
import { HttpErrorCode } from "../platform/http/error-codes.js";

/**
 * Every `extensions.code` a client can see: GraphQL's (below) and the HTTP-level ones
 * (platform/http/error-codes.ts). Tests and frontends branch on these, never on messages. Each entry's
 * description, `@status` (the HTTP status it comes with) and `@extensions` (the fields it adds) are
 * docs/api.md's list of codes (scripts/docs.ts). An operation that ran (its answer has `data`, even
 * `null`) answers 200 whatever its errors (graphql/http-status.ts): the statuses in the error classes'
 * `extensions.http` below count only for a refusal before it runs.
 */
export const ErrorCode = {
  ...HttpErrorCode,
  /**
   * No token where one is needed, or a bad one (the message says why: `token expired`, `token revoked`,
   * …); a wrong password or a locked account; a used or expired refresh token.
   * @status 200
   */
  UNAUTHENTICATED: "UNAUTHENTICATED",
  /**
   * Signed in, but without the permission; or granting or revoking a permission one does not hold.
   * @status 200
   * @extensions `requiredPermission`: the permission that would allow it.
   */
  FORBIDDEN: "FORBIDDEN",
  /**
   * `login` to a disabled account.
   * @status 200
   */
  ACCOUNT_DISABLED: "ACCOUNT_DISABLED",
  /**
   * `login` with the right password to an account whose email is not verified, when
   * `KAFKEY_REQUIRE_VERIFIED_EMAIL=true`.
   * @status 200
   */
  EMAIL_NOT_VERIFIED: "EMAIL_NOT_VERIFIED",
  /**
   * Adding or removing a credential (`linkAccount`, `confirmLinkAccount`, `unlinkAccount`, `enableTotp`,
   * `confirmTotp`, `logoutAll(removeLinkedAccounts: true)`) without `currentPassword`/`mfaCode` in the
   * call or a `stepUp` of this session in the last 5 minutes.
   * @status 200
   * @extensions `methods`: how the account can re-authenticate (`password`, `totp`, `email`).
   */
  REAUTHENTICATION_REQUIRED: "REAUTHENTICATION_REQUIRED",
  /**
   * Too many calls of a public mutation (`signUp`, `login`, `verifyMfa`, `refreshToken`, the mail ones)
   * from one IP address or for one account; a caller's query budget spent; over WebSocket, more
   * subscriptions on one connection than `KAFKEY_WS_MAX_SUBSCRIPTIONS`.
   * @status 200 + `Retry-After` (429 for a spent query budget: nothing ran)
   * @extensions `retryAfter`: seconds to wait (the `Retry-After` header holds the longest).
   */
  RATE_LIMITED: "RATE_LIMITED",
  /**
   * An argument breaks a rule: an email that is not one, a password under 12 characters or among the
   * most common ones, `pageSize` over 100, a used or expired mail token, a cursor Kafkey did not make, …
   * Also a variable of the wrong type or a page size over 100, refused before any resolver runs.
   * @status 200 (or 400 before it runs, by `Accept`: below)
   * @extensions `fields`: `[{ path, message }]`, one per problem.
   */
  BAD_USER_INPUT: "BAD_USER_INPUT",
  /**
   * No user, role, permission or other record with that id (or none the caller may see).
   * @status 200
   */
  NOT_FOUND: "NOT_FOUND",
  /**
   * The change clashes with what is stored.
   * @status 200
   * @extensions `reason` (below); `fields` for `UNIQUE`.
   */
  CONFLICT: "CONFLICT",
  /**
   * The database, or the shared store where a decision must fail closed (sign-in counters, one-time
   * codes), is down; or the request ran past `KAFKEY_REQUEST_TIMEOUT_MS` and was stopped, nothing more
   * done. Try again shortly.
   * @status 200
   */
  SERVICE_UNAVAILABLE: "SERVICE_UNAVAILABLE",
  /**
   * Anything unexpected. The message is always "Unexpected error"; the details are in the server's log
   * under the `requestId`.
   * @status 200 or 500
   */
  INTERNAL_SERVER_ERROR: "INTERNAL_SERVER_ERROR",
  /**
   * Apollo's: the document is not valid GraphQL, or it is too long (`KAFKEY_GRAPHQL_MAX_TOKENS`).
   * @status 400 or 200, by `Accept` (below)
   */
  GRAPHQL_PARSE_FAILED: "GRAPHQL_PARSE_FAILED",
  /**
   * Apollo's: the document asks for what the schema does not have, or is too deep, too costly, or has
   * too many aliases or directives (`KAFKEY_GRAPHQL_MAX_*`); introspection in production.
   * @status 400 or 200, by `Accept` (below)
   */
  GRAPHQL_VALIDATION_FAILED: "GRAPHQL_VALIDATION_FAILED",
  /**
   * Apollo's: a batch (a JSON array of operations); a request that could be a cross-site forgery
   * (Apollo's CSRF prevention: a `GET`, or a `text/plain` or form body, without
   * `apollo-require-preflight` or `x-apollo-operation-name`); a mutation over `GET` (405). Over
   * WebSocket: a query or mutation (they go over HTTP), or an operation that cannot be read.
   * @status 400 (405 for a mutation over GET)
   */
  BAD_REQUEST: "BAD_REQUEST",
  /**
   * Apollo's: the document names several operations and `operationName` none of them.
   * @status 400 or 200, by `Accept` (below)
   */
  OPERATION_RESOLUTION_FAILURE: "OPERATION_RESOLUTION_FAILURE",
  /**
   * Apollo's automatic persisted queries: the hash is not known yet; send the query with it.
   * @status 200
   */
  PERSISTED_QUERY_NOT_FOUND: "PERSISTED_QUERY_NOT_FOUND",
  /**
   * Apollo's automatic persisted queries are not available.
   * @status 200
   */
  PERSISTED_QUERY_NOT_SUPPORTED: "PERSISTED_QUERY_NOT_SUPPORTED",
  /**
   * Outside GraphQL: an OAuth callback (`/auth/oauth/:provider/callback`) that is replayed, expired, or
   * opened in another browser than the one that started it.
   * @status 400
   */
  INVALID_STATE: "INVALID_STATE",
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * CONFLICT reasons no module owns: Prisma's known errors, turned into client errors in
 * graphql/format-error.ts.
 */
export const SHARED_CONFLICTS = {
  /** The email, role name or permission key is taken; `fields` names the column (`["email"]`). */
  UNIQUE: "UNIQUE",
  /** A record the change refers to was deleted meanwhile. */
  REFERENCE: "REFERENCE",
} as const;

/** One offending input: `path` names the argument or input field, e.g. `input.password`. */
export interface FieldProblem {
  path: string;
  message: string;
}

/** The caller is not signed in, or its token is not valid. HTTP 401 before an operation runs, else 200. */
export class UnauthenticatedError extends GraphQLError {
  constructor(message = "Authentication required") {
    super(message, { extensions: { code: ErrorCode.UNAUTHENTICATED, http: { status: 401 } } });
  }
}

/**
 * The caller is known but may not do this. HTTP 403 before an operation runs, else 200.
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
 * @param reason a stable UPPER_SNAKE refinement, from its module's registry (`ROLE_CONFLICTS.SYSTEM_ROLE`
 * in `modules/roles/role.errors.ts`) or SHARED_CONFLICTS.
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

/** Too many attempts: try again in `retryAfter` seconds. HTTP 429 before an operation runs, else 200; `Retry-After` either way. */
export class RateLimitedError extends GraphQLError {
  constructor(retryAfter: number) {
    super(`Too many attempts; try again in ${retryAfter} seconds`, {
      extensions: { code: ErrorCode.RATE_LIMITED, retryAfter, http: { status: 429 } },
    });
  }
}

/** The password was right, but this deployment requires a verified email first. */
export class EmailNotVerifiedError extends GraphQLError {
  constructor() {
    super("Verify your email address before signing in", {
      extensions: { code: ErrorCode.EMAIL_NOT_VERIFIED, http: { status: 403 } },
    });
  }
}

/**
 * Adding or removing a credential needs recent re-authentication: the password (or a second-factor
 * code) in the call, or a step-up of this session within the last five minutes. Coded apart from
 * UNAUTHENTICATED: the caller is known (clients drop their tokens on that one), they have to prove it again.
 * @param methods how this account can re-authenticate (`password`, `totp`, `email`).
 */
export class ReauthenticationRequiredError extends GraphQLError {
  constructor(methods: string[]) {
    super("Confirm it is you: re-authenticate (stepUp) and try again", {
      extensions: { code: ErrorCode.REAUTHENTICATION_REQUIRED, methods, http: { status: 403 } },
    });
  }
}

/** A dependency Kafkey cannot decide without (the database, or the shared store where it must fail closed) is down. HTTP 503 before an operation runs, else 200. */
export class ServiceUnavailableError extends GraphQLError {
  constructor(message = "The service is temporarily unavailable; try again shortly") {
    super(message, { extensions: { code: ErrorCode.SERVICE_UNAVAILABLE, http: { status: 503 } } });
  }
}
