import type { Mail } from "./mailer.js";

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * A plain mail with one link: the same text in plain text and HTML, every value escaped.
 * @param greeting whom the mail greets (their name).
 */
export function message(
  to: string,
  subject: string,
  greeting: string,
  lines: string[],
  action: string,
  link: string,
): Mail {
  const text = [`Hello ${greeting},`, "", ...lines, "", link, "", "If this was not you, ignore this message.", ""].join(
    "\n",
  );
  const html = `<!doctype html><html><body style="font-family:sans-serif">
<p>Hello ${escapeHtml(greeting)},</p>
${lines.map((line) => `<p>${escapeHtml(line)}</p>`).join("\n")}
<p><a href="${escapeHtml(link)}">${escapeHtml(action)}</a></p>
<p style="color:#666">If this was not you, ignore this message.</p>
</body></html>`;
  return { to, subject, text, html };
}
