/** An error page may load nothing, run nothing and be framed by nobody. */
export const ERROR_PAGE_CSP = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** The attribute that carries the error's code on the page (tests and scripts read it). */
export const ERROR_CODE_ATTRIBUTE = "data-error-code";

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** Text made safe to put into HTML, in an element or a quoted attribute. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/**
 * Whether a client asked for JSON rather than a page: its `Accept` names a JSON type and not HTML.
 * A browser's navigation names `text/html`; `*\/*` or no header at all (a link followed by a tool)
 * gets the page too, since the routes that use this are visited by browsers.
 */
export function prefersJson(accept: string | undefined): boolean {
  if (!accept) return false;
  const types = accept.split(",").map((part) => part.split(";")[0]!.trim().toLowerCase());
  return !types.includes("text/html") && types.some((t) => t === "application/json" || t.endsWith("+json"));
}

export interface ErrorPage {
  /** What failed, as the page's heading ("Sign-in failed"). */
  title: string;
  status: number;
  /** The stable code (`extensions.code` in the JSON form). */
  code: string;
  /** A deliberate, client-safe message: never a secret, a stack or an upstream's answer. */
  message: string;
  requestId: string;
}

/** A short HTML page stating an error's code, message and request id, everything escaped. */
export function errorPageHtml({ title, status, code, message, requestId }: ErrorPage): string {
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <meta name="robots" content="noindex" />
    <title>${escapeHtml(code)} · Kafkey</title>
  </head>
  <body>
    <h1>${escapeHtml(title)}</h1>
    <p>Error <code id="error-code" ${ERROR_CODE_ATTRIBUTE}="${escapeHtml(code)}">${escapeHtml(code)}</code> (HTTP ${status})</p>
    <p id="error-message">${escapeHtml(message)}</p>
    <p>Request id: <code id="request-id">${escapeHtml(requestId)}</code></p>
  </body>
</html>
`;
}
