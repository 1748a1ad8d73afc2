import { randomInt } from "node:crypto";
import { crc32 } from "node:zlib";
import { hashToken } from "../../platform/secret-tokens.js";
import { API_KEY_PREFIX } from "../../kernel/principal.js";

const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/** 44 base62 characters: 261 random bits, more than the 256 of a random token. */
const RANDOM_LENGTH = 44;
/** CRC32 in base62: 62^6 > 2^32. */
const CHECKSUM_LENGTH = 6;
/** How many characters of the random part the listing shows (48 bits: enough to tell keys apart). */
const DISPLAY_LENGTH = 8;
const SHAPE = new RegExp(`^${API_KEY_PREFIX}[0-9A-Za-z]{${RANDOM_LENGTH + CHECKSUM_LENGTH}}$`);

function base62(value: number, length: number): string {
  let out = "";
  for (let rest = value; out.length < length; rest = Math.floor(rest / 62)) out = ALPHABET[rest % 62] + out;
  return out;
}

const checksumOf = (body: string) => base62(crc32(body), CHECKSUM_LENGTH);

/** A new API key's secret and what is stored of it. */
export interface MintedApiKey {
  /** `kfk_` + 44 random base62 characters + a 6-character CRC32 of what precedes it. Shown once. */
  secret: string;
  /** sha256 of the secret: the only form it is stored in. */
  hash: string;
  /** `kfk_` and the random part's first characters: shown in listings, never enough to use. */
  prefix: string;
}

/**
 * Mints an API key. The format follows GitHub's tokens: a fixed prefix a scanner can match, and a
 * checksum that tells a real key from a string that merely looks like one without asking Kafkey, and
 * lets Kafkey refuse a mistyped or made-up key before any database read.
 */
export function mintApiKey(): MintedApiKey {
  let random = "";
  // randomInt draws without modulo bias.
  while (random.length < RANDOM_LENGTH) random += ALPHABET[randomInt(62)];
  const body = API_KEY_PREFIX + random;
  const secret = body + checksumOf(body);
  return { secret, hash: hashToken(secret), prefix: secret.slice(0, API_KEY_PREFIX.length + DISPLAY_LENGTH) };
}

/**
 * The hash to look a presented API key up by; undefined when its shape or checksum is wrong, so that
 * noise costs no database read.
 */
export function apiKeyHash(secret: string): string | undefined {
  if (!SHAPE.test(secret)) return undefined;
  const body = secret.slice(0, -CHECKSUM_LENGTH);
  return checksumOf(body) === secret.slice(-CHECKSUM_LENGTH) ? hashToken(secret) : undefined;
}
