import { randomBytes } from "node:crypto";
import type { Config } from "../../config.js";
import { isUniqueViolation, type PrismaClient } from "../../platform/db/database.js";
import type { AuthService } from "./auth.service.js";
import { checkPasswordPolicy } from "./password.js";
import { SystemRole } from "../../kernel/permission-catalog.js";

export const GENERATED_ADMIN_EMAIL = "admin@kafkey.local";

export interface CreatedAdmin {
  email: string;
  /** Set when Kafkey made the password up: it is shown once and never stored in clear. */
  generatedPassword?: string;
}

/**
 * Makes sure the platform has an admin. With KAFKEY_ADMIN_EMAIL and KAFKEY_ADMIN_PASSWORD, that account
 * is created when it does not exist yet. Without them, and with no admin at all, an admin with a
 * generated password is created.
 * @returns the admin created now, if any.
 */
export async function ensureFirstAdmin(
  prisma: PrismaClient,
  auth: AuthService,
  admin: Config["admin"],
): Promise<CreatedAdmin | undefined> {
  let email = admin.email;
  let password = admin.password;
  if (email && password) {
    const problems = checkPasswordPolicy(password, email, "KAFKEY_ADMIN_PASSWORD");
    if (problems.length > 0) throw new Error(problems.map((p) => `${p.path} ${p.message}`).join("; "));
    if (await prisma.user.findUnique({ where: { email }, select: { id: true } })) return undefined;
  } else {
    const admins = await prisma.userRole.count({
      // A service account holding the role is no admin anyone can sign in as.
      where: { role: { name: SystemRole.ADMIN, organizationId: null }, user: { kind: "human" } },
    });
    if (admins > 0) return undefined;
    email = GENERATED_ADMIN_EMAIL;
    password = randomBytes(18).toString("base64url");
  }
  try {
    await auth.createAccount({
      email,
      password,
      displayName: "Administrator",
      roles: [SystemRole.ADMIN, SystemRole.USER],
      emailVerified: true,
      byOperator: true,
    });
  } catch (error) {
    // Another instance starting at the same moment created it first.
    if (isUniqueViolation(error)) return undefined;
    throw error;
  }
  return { email, generatedPassword: admin.password ? undefined : password };
}
