import type { Mail } from "../../platform/mail/mailer.js";
import { message } from "../../platform/mail/message.js";

/**
 * The mail with a sign-in code and a link that does the same.
 * @param pageUrl the frontend page the link opens (KAFKEY_EMAIL_SIGN_IN_URL); the token goes in its query.
 */
export function signInCodeMail(
  pageUrl: string,
  to: string,
  name: string,
  secrets: { code: string; token: string },
  minutes: number,
): Mail {
  const link = `${pageUrl}${pageUrl.includes("?") ? "&" : "?"}token=${encodeURIComponent(secrets.token)}`;
  const lines = [
    `Your sign-in code is ${secrets.code}.`,
    `Enter it, or follow the link below, within ${minutes} minutes. Either works once, and using one voids ` +
      "the other; asking for a new code voids this one.",
    "If your email address was not verified yet, signing in this way verifies it and removes what was set " +
      "on the account before: its password, linked sign-in accounts, passkeys and two-factor authentication.",
  ];
  return message(to, "Your sign-in code", name, lines, "Sign me in", link);
}
