import type { Mail } from "../../platform/mail/mailer.js";
import { message } from "../../platform/mail/message.js";

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
    `The link works once, within ${minutes} minutes; using it signs you out everywhere and unlinks every ` +
      "linked sign-in account (Google, GitHub): link again the ones that are yours. If your email address " +
      "was not verified yet, it also turns two-factor authentication off.",
  ];
  return message(to, "Reset your password", name, lines, "Choose a new password", link);
}

/** The mail with a one-time code that confirms it is the account's owner (no password, no second factor). */
export function reauthenticationMail(appUrl: string, to: string, name: string, code: string, minutes: number): Mail {
  const link = `${appUrl}/reauthenticate?token=${encodeURIComponent(code)}`;
  const lines = [
    "Someone signed in to your account asked to confirm it is you, to change how you sign in.",
    `The code works once, within ${minutes} minutes, in the session that asked for it.`,
  ];
  return message(to, "Confirm it is you", name, lines, "Confirm it is me", link);
}

/** How mails name the providers (`github` is stored). */
const PROVIDER_TITLES: Record<string, string> = { github: "GitHub", google: "Google" };

/**
 * The mail telling a user that a way to sign in was linked to their account, or unlinked from it.
 * @param change.provider the provider as stored (`github`).
 */
export function linkedAccountMail(
  appUrl: string,
  to: string,
  name: string,
  change: { provider: string; linked: boolean },
): Mail {
  const provider = PROVIDER_TITLES[change.provider] ?? change.provider;
  const what = change.linked
    ? `Your ${provider} account was linked to your account: it can now sign you in.`
    : `Your ${provider} account was unlinked from your account: it no longer signs you in.`;
  const lines = [what, "If this was not you, reset your password: that removes every linked account."];
  return message(
    to,
    change.linked ? "A sign-in method was linked" : "A sign-in method was unlinked",
    name,
    lines,
    "Review your account",
    `${appUrl}/account/security`,
  );
}
