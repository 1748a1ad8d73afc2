import { randomBytes } from "node:crypto";
import { sha256 } from "./hash.js";

/** A new opaque secret: 256 random bits, base64url. */
export function randomToken(): string {
  return randomBytes(32).toString("base64url");
}

/** What is stored in place of a secret token: its sha256, hex. */
export function hashToken(token: string): string {
  return sha256(token);
}

/** Opaque tokens are 43 characters; anything much longer is not one of ours (and is not hashed). */
export const MAX_TOKEN_LENGTH = 128;
