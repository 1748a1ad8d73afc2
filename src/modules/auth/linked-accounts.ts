import { changesBetween } from "../../platform/audit/audit-event.js";
import type { AuditTrail } from "../../platform/audit/audit-trail.js";
import type { Prisma } from "../../platform/db/database.js";

/**
 * Removes every provider identity linked to `user`, in `tx`, each with its `user.social_unlinked`
 * event (the user sees them among their security events).
 * @param reason why, in each event: `password_reset`, `password_changed`, `logout_all`.
 * @returns the providers that were unlinked.
 */
export async function removeLinkedAccounts(
  tx: Prisma.TransactionClient,
  audit: AuditTrail,
  user: { id: string; email: string },
  reason: string,
): Promise<string[]> {
  const accounts = await tx.socialAccount.findMany({ where: { userId: user.id } });
  if (accounts.length === 0) return [];
  await tx.socialAccount.deleteMany({ where: { id: { in: accounts.map((a) => a.id) } } });
  for (const account of accounts) {
    await audit.record(
      {
        action: "user.social_unlinked",
        actor: { id: user.id, email: user.email },
        target: { type: "social_account", id: account.id },
        changes: [
          ...changesBetween(account, null, ["provider", "email", "emailVerified"]),
          { field: "reason", before: null, after: reason },
        ],
      },
      tx,
    );
  }
  return accounts.map((a) => a.provider);
}

/**
 * Removes every passkey of `user`, in `tx`, each with its `auth.passkey_removed` event: what proving
 * the mailbox of an unverified account takes away (a squatter may have registered one before the
 * owner proved the address).
 */
export async function removePasskeys(
  tx: Prisma.TransactionClient,
  audit: AuditTrail,
  user: { id: string; email: string },
): Promise<void> {
  const passkeys = await tx.passkey.findMany({ where: { userId: user.id }, select: { id: true } });
  if (passkeys.length === 0) return;
  await tx.passkey.deleteMany({ where: { userId: user.id } });
  for (const { id } of passkeys) {
    await audit.record(
      {
        action: "auth.passkey_removed",
        actor: { id: user.id, email: user.email },
        target: { type: "user", id: user.id },
        changes: [{ field: "passkey", before: id, after: null }],
      },
      tx,
    );
  }
}
