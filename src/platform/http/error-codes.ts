/**
 * The codes of HTTP-level refusals: raised before GraphQL runs or outside it (a route of its own), and
 * answered in the same `errors[].extensions.code` shape GraphQL uses, with the request id. Part of
 * kernel's `ErrorCode` (platform/ does not import kernel/, so they are declared here). Each entry's
 * `@status` and `@extensions` go into docs/api.md's list of codes (scripts/docs.ts).
 */
export const HttpErrorCode = {
  /**
   * Malformed JSON; an OAuth start without an allowed `redirect_uri`, with a `state` over 200 characters
   * or with a used or expired `link`.
   * @status 400
   */
  BAD_REQUEST: "BAD_REQUEST",
  /**
   * An unknown route or method; a provider that is not configured (`/auth/oauth/:provider/…`).
   * @status 404
   */
  NOT_FOUND: "NOT_FOUND",
  /**
   * A method a route refuses itself (a method no route takes is `NOT_FOUND`).
   * @status 405
   */
  METHOD_NOT_ALLOWED: "METHOD_NOT_ALLOWED",
  /**
   * A body over `KAFKEY_BODY_LIMIT_BYTES` (100 KiB by default).
   * @status 413
   */
  PAYLOAD_TOO_LARGE: "PAYLOAD_TOO_LARGE",
  /**
   * A content type Kafkey does not read, such as `application/xml`.
   * @status 415
   */
  UNSUPPORTED_MEDIA_TYPE: "UNSUPPORTED_MEDIA_TYPE",
  /**
   * Too many requests from one IP address (`KAFKEY_HTTP_RATE_LIMIT_*`).
   * @status 429
   * @extensions `retryAfter`: seconds to wait (also the `retry-after` header).
   */
  RATE_LIMITED: "RATE_LIMITED",
  /**
   * Anything unexpected. The message is "Unexpected error"; the details are in the server's log under
   * the `requestId`.
   * @status 500
   */
  INTERNAL_SERVER_ERROR: "INTERNAL_SERVER_ERROR",
} as const;
export type HttpErrorCode = (typeof HttpErrorCode)[keyof typeof HttpErrorCode];

/** The code of an HTTP-level refusal with this status. */
export function httpErrorCodeFor(status: number): HttpErrorCode {
  if (status === 413) return HttpErrorCode.PAYLOAD_TOO_LARGE;
  if (status === 404) return HttpErrorCode.NOT_FOUND;
  if (status === 405) return HttpErrorCode.METHOD_NOT_ALLOWED;
  if (status === 415) return HttpErrorCode.UNSUPPORTED_MEDIA_TYPE;
  if (status === 429) return HttpErrorCode.RATE_LIMITED;
  if (status >= 500) return HttpErrorCode.INTERNAL_SERVER_ERROR;
  return HttpErrorCode.BAD_REQUEST;
}
