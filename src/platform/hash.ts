import { createHash } from "node:crypto";

/**
 * The sha256 digest of `data`: for tokens kept as their hash, key parts, checksums, PKCE challenges.
 * @param encoding `hex` (64 characters) or `base64url` (43). @default "hex"
 */
export function sha256(data: string | Uint8Array, encoding: "hex" | "base64url" = "hex"): string {
  return createHash("sha256").update(data).digest(encoding);
}
