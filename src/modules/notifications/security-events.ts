import type { AuditEvent } from "../../platform/audit/audit-event.js";

interface SecurityAction {
  title: string;
  /** Also kept in the user's inbox (a plain sign-out is only streamed live). */
  notify: boolean;
}

/** The audit actions that concern a user's own account, and how the user is told of them. */
const SECURITY_ACTIONS: Record<string, SecurityAction> = {
  "auth.login": { title: "New sign-in", notify: true },
  "auth.social_login": { title: "New sign-in through a linked account", notify: true },
  "auth.passkey_login": { title: "New sign-in with a passkey", notify: true },
  "auth.code_login": { title: "New sign-in with a mailed code", notify: true },
  "auth.link_login": { title: "New sign-in with a mailed link", notify: true },
  "auth.password_removed": { title: "Password removed", notify: true },
  "auth.passkey_used": { title: "A passkey was used as the second factor", notify: false },
  "auth.passkey_registered": { title: "A passkey was added", notify: true },
  "auth.passkey_removed": { title: "A passkey was removed", notify: true },
  "user.passkey_removed": { title: "A passkey was removed", notify: true },
  "security.passkey_cloned": { title: "A copy of one of your passkeys was refused", notify: true },
  "auth.password_changed": { title: "Password changed", notify: true },
  "auth.password_reset": { title: "Password reset", notify: true },
  "auth.mfa_enabled": { title: "Two-factor authentication turned on", notify: true },
  "auth.mfa_disabled": { title: "Two-factor authentication turned off", notify: true },
  "auth.recovery_codes_regenerated": { title: "New recovery codes made", notify: true },
  "auth.recovery_code_used": { title: "A recovery code was used", notify: true },
  "auth.logout": { title: "Signed out", notify: false },
  "auth.logout_all": { title: "Signed out everywhere", notify: true },
  "session.revoked": { title: "A session was ended", notify: true },
  "user.sessions_revoked": { title: "An administrator ended your sessions", notify: true },
  "security.refresh_reuse": { title: "A session was ended: its refresh token was used twice", notify: true },
  "security.account_locked": { title: "Sign-ins locked after failed attempts", notify: true },
  "user.role_assigned": { title: "You were given a role", notify: true },
  "user.role_removed": { title: "A role was taken from you", notify: true },
  "organization.role_assigned": { title: "You were given a role in an organization", notify: true },
  "organization.role_unassigned": { title: "A role in an organization was taken from you", notify: true },
  "organization.member_removed": { title: "You were removed from an organization", notify: true },
  "user.social_linked": { title: "A sign-in method was linked", notify: true },
  "user.social_unlinked": { title: "A sign-in method was unlinked", notify: true },
};

/**
 * The user whose account an event concerns: the target user, or the actor of what was done to one of
 * their sessions or linked accounts. Undefined for actions that are not about one's own account.
 */
export function concernedUser(event: AuditEvent): string | undefined {
  if (!SECURITY_ACTIONS[event.action]) return undefined;
  const target = event.target;
  if (target?.type === "user") return target.id ?? undefined;
  return event.actor.id ?? undefined;
}

/**
 * Whether the user did it themself, or nobody signed in did (a lockout, a stolen token's reuse): only
 * then is the request's IP and device theirs to see, not an administrator's.
 */
export function actedAlone(event: AuditEvent, userId: string): boolean {
  return event.actor.id === null || event.actor.id === userId;
}

export interface SecurityNotice {
  userId: string;
  title: string;
  body: string;
  /** Whether it goes into the user's inbox. */
  notify: boolean;
}

/** What to tell the user an event concerns, if any: a title and a line with where it came from. */
export function securityNotice(event: AuditEvent): SecurityNotice | undefined {
  const userId = concernedUser(event);
  const action = SECURITY_ACTIONS[event.action];
  if (!userId || !action) return undefined;
  const from = actedAlone(event, userId)
    ? [event.actor.ip && `from ${event.actor.ip}`, event.actor.userAgent && `(${event.actor.userAgent})`]
        .filter(Boolean)
        .join(" ")
    : "";
  // The inbox is the user's whatever they may read: someone else who acted is named as nobody's email.
  const by = event.actor.id && event.actor.id !== userId ? "by an administrator" : "";
  const body = [`${action.title} ${by}`.trim(), from].filter(Boolean).join(", ");
  return { userId, title: action.title, body: `${body} at ${event.at.toISOString()}.`, notify: action.notify };
}
