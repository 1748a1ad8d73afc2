import { createCipheriv, createDecipheriv, createSecretKey, hkdfSync, type KeyObject, randomBytes } from "node:crypto";

const VERSION = "v1";

/**
 * Encrypts secrets kept at rest (TOTP secrets) with AES-256-GCM: a fresh 96-bit IV per value and an
 * authentication tag, so a changed ciphertext fails to decrypt instead of yielding garbage.
 * Stored as `v1:<iv>:<tag>:<ciphertext>`, base64url each.
 */
export class SecretBox {
  private readonly key: Buffer;

  /** @param key 32 bytes, base64 or base64url encoded. */
  constructor(key: string) {
    this.key = Buffer.from(key, "base64url");
    if (this.key.length !== 32) throw new Error("the encryption key must be 32 bytes, base64 encoded");
  }

  seal(plaintext: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.key, iv);
    const data = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
    return [VERSION, iv, cipher.getAuthTag(), data]
      .map((p) => (typeof p === "string" ? p : p.toString("base64url")))
      .join(":");
  }

  /**
   * A key for another purpose, derived from this one (HKDF-SHA256 with `purpose` as its info): every
   * instance sharing the encryption key derives the same key, which reveals neither this key nor any
   * other purpose's.
   */
  subkey(purpose: string): KeyObject {
    return createSecretKey(Buffer.from(hkdfSync("sha256", this.key, Buffer.alloc(0), `kafkey ${purpose}`, 32)));
  }

  open(sealed: string): string {
    const [version, iv, tag, data] = sealed.split(":");
    if (version !== VERSION || !iv || !tag || data === undefined) throw new Error("not a sealed value");
    const decipher = createDecipheriv("aes-256-gcm", this.key, Buffer.from(iv, "base64url"), {
      // Without it, a shortened (forgeable) tag would be accepted.
      authTagLength: 16,
    });
    decipher.setAuthTag(Buffer.from(tag, "base64url"));
    return Buffer.concat([decipher.update(Buffer.from(data, "base64url")), decipher.final()]).toString("utf8");
  }
}
