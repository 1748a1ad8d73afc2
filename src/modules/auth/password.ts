import { randomBytes } from "node:crypto";
import { dictionary } from "@zxcvbn-ts/language-common";
import argon2 from "argon2";
import type { Config } from "../../config.js";
import { type FieldProblem } from "../../kernel/errors.js";

export const PASSWORD_MIN_LENGTH = 12;
export const PASSWORD_MAX_LENGTH = 128;

/** The ~49,000 most common passwords of public breach corpora (as zxcvbn ranks them), lower-cased. */
let commonPasswords: Set<string> | undefined;

function isCommon(password: string): boolean {
  commonPasswords ??= new Set(dictionary["passwords-common"].map((p) => p.toLowerCase()));
  return commonPasswords.has(password.toLowerCase());
}

/**
 * Checks a new password against the policy: 12 to 128 characters (never truncated), not the email,
 * not one of the most common passwords.
 * @returns the problems found, empty when the password is acceptable.
 */
export function checkPasswordPolicy(password: string, email: string, path = "password"): FieldProblem[] {
  const length = [...password].length;
  if (length < PASSWORD_MIN_LENGTH) {
    return [{ path, message: `must be at least ${PASSWORD_MIN_LENGTH} characters` }];
  }
  if (length > PASSWORD_MAX_LENGTH) {
    return [{ path, message: `must be at most ${PASSWORD_MAX_LENGTH} characters` }];
  }
  if (password.trim().toLowerCase() === email.trim().toLowerCase()) {
    return [{ path, message: "must not be the email address" }];
  }
  if (isCommon(password)) {
    return [{ path, message: "is one of the most common passwords; choose another" }];
  }
  return [];
}

/** argon2id hashing with the configured cost. */
export class Passwords {
  private readonly options: argon2.HashOptions & { raw?: false };
  /** A hash of a random password, verified against when there is no real hash to check. */
  private decoy: Promise<string> | undefined;

  constructor(cost: Config["argon2"]) {
    this.options = {
      type: argon2.argon2id,
      memoryCost: cost.memoryKib,
      timeCost: cost.timeCost,
      parallelism: cost.parallelism,
    };
  }

  hash(password: string): Promise<string> {
    return argon2.hash(password, this.options);
  }

  /**
   * Verifies `password` against `hash`. With no hash (unknown email, social-only account) it still
   * spends one verification, so response times do not tell which emails exist.
   */
  async verify(hash: string | null | undefined, password: string): Promise<boolean> {
    if (!hash) {
      this.decoy ??= this.hash(randomBytes(16).toString("hex"));
      await argon2.verify(await this.decoy, password).catch(() => false);
      return false;
    }
    return argon2.verify(hash, password).catch(() => false);
  }

  /** Whether `hash` was made with other parameters than the configured ones. */
  needsRehash(hash: string): boolean {
    return argon2.needsRehash(hash, this.options);
  }
}
