/** Keys whose values never reach a log line, wherever they appear. */
const SECRET_KEY = /pass(word|wd|phrase)?|secret|token|authorization|cookie|api[-_]?key|recovery|otp|credential/i;

/** Secrets recognisable by their shape, inside any string (an error message quoting a query, say). */
const SECRET_VALUES: RegExp[] = [
  /\$argon2(id|i|d)\$[^\s"'`,)]+/g, // password hashes
  /eyJ[\w-]{5,}\.[\w-]{5,}\.[\w-]*/g, // JWTs
  /(bearer\s+)[\w.~+/=-]+/gi, // authorization header values
  /([?&](token|code)=)[^&\s"']+/gi, // tokens in links
];

export const REDACTED = "[redacted]";

/** Whether values under `key` are secrets (passwords, tokens, TOTP secrets, cookies, ...). */
export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key);
}
const MAX_DEPTH = 8;

function redactString(text: string): string {
  return SECRET_VALUES.reduce(
    (out, pattern) =>
      out.replace(
        pattern,
        (match, prefix: unknown) =>
          (typeof prefix === "string" && /^(bearer|[?&])/i.test(prefix) ? prefix : "") + REDACTED,
      ),
    text,
  );
}

/**
 * A copy of `value` with secrets removed: values under secret-sounding keys, and secret-shaped
 * substrings anywhere. Errors become plain objects (name, message, stack, own fields).
 */
export function redact(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (typeof value === "string") return redactString(value);
  if (value === null || typeof value !== "object") return value;
  if (seen.has(value) || depth > MAX_DEPTH) return "[…]";
  seen.add(value);
  if (value instanceof Date) return value;
  if (Array.isArray(value)) return value.map((item) => redact(item, depth + 1, seen));
  const source: Record<string, unknown> =
    value instanceof Error ? { ...value, name: value.name, message: value.message, stack: value.stack } : { ...value };
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(source)) {
    out[key] = isSecretKey(key) && item !== undefined && item !== null ? REDACTED : redact(item, depth + 1, seen);
  }
  return out;
}
