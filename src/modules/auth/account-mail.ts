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
    `The link works once, within ${minutes} minutes; using it signs you out everywhere.`,
  ];
  return message(to, "Reset your password", name, lines, "Choose a new password", link);
}
