import { createPrivateKey, type KeyObject } from "node:crypto";
import jwt from "jsonwebtoken";
import { SecretBox } from "../../src/platform/secret-box.js";
import { TEST_ENCRYPTION_KEY, type TestServer } from "./server.js";

/** Signs like the server does (ES256, its current key's kid): forgeries that only differ where a test says. */
export type ServerSigner = ((claims: object, options?: jwt.SignOptions) => string) & { kid: string };

/**
 * The server's current signing key, read from its database and opened with the test encryption key,
 * so a test can make tokens the server would accept and change one thing at a time.
 */
export async function serverSigner(server: TestServer): Promise<ServerSigner> {
  const now = new Date();
  const row = await server.app.db.prisma.signingKey.findFirst({
    where: { revokedAt: null, activatesAt: { lte: now }, OR: [{ retiresAt: null }, { retiresAt: { gt: now } }] },
    orderBy: { activatesAt: "desc" },
  });
  if (!row) throw new Error("the server has no signing key");
  const key: KeyObject = createPrivateKey(new SecretBox(TEST_ENCRYPTION_KEY).open(row.privateKey));
  const sign = (claims: object, options: jwt.SignOptions = {}) =>
    jwt.sign(claims, key, {
      algorithm: "ES256",
      header: { alg: "ES256", typ: "at+jwt", kid: row.id },
      ...options,
    });
  return Object.assign(sign, { kid: row.id });
}
