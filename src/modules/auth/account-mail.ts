import type { Mail } from "../../platform/mail/mailer.js";

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function message(to: string, subject: string, greeting: string, lines: string[], action: string, link: string): Mail {
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

/** The mail asking a new user to confirm their address. */
export function verificationMail(appUrl: string, to: string, name: string, token: string, hours: number): Mail {
  const link = `${appUrl}/verify-email?token=${encodeURIComponent(token)}`;
  const lines = [`Please confirm that ${to} is your email address. The link works once, within ${hours} hours.`];
  return message(to, "Confirm your email address", name, lines, "Confirm my email address", link);
}

/** The mail with a link to choose a new password. */
export function passwordResetMail(appUrl: string, to: string, name: string, token: string, minutes: number): Mail {
  const link = `${appUrl}/reset-password?token=${encodeURIComponent(token)}`;
  const lines = [
    "Someone asked to reset the password of your account.",
    `The link works once, within ${minutes} minutes; using it signs you out everywhere.`,
  ];
  return message(to, "Reset your password", name, lines, "Choose a new password", link);
}
