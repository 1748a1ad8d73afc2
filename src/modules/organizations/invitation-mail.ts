import type { Mail } from "../../platform/mail/mailer.js";
import { message } from "../../platform/mail/message.js";

/** The mail inviting `to` into an organization, with the link to accept. */
export function invitationMail(
  appUrl: string,
  to: string,
  inviter: string,
  organization: string,
  role: string,
  token: string,
  days: number,
): Mail {
  const link = `${appUrl}/accept-invitation?token=${encodeURIComponent(token)}`;
  const lines = [
    `${inviter} invited you to join ${organization} as ${role}.`,
    `The link works once, within ${days} days. Sign in with ${to}, or create an account with it.`,
  ];
  return message(to, `Join ${organization}`, to, lines, `Join ${organization}`, link);
}
