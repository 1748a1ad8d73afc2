import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";

/**
 * A development secret kept under the data dir: read when it exists, otherwise generated (`bytes`
 * random bytes, base64url) and written readable by the owner only. Production passes its secrets in
 * through the environment instead.
 */
export function loadOrCreateSecret(dataDir: string, name: string, bytes = 48): { secret: string; created: boolean } {
  const file = path.join(dataDir, name);
  if (fs.existsSync(file)) return { secret: fs.readFileSync(file, "utf8").trim(), created: false };
  fs.mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(bytes).toString("base64url");
  fs.writeFileSync(file, secret + "\n", { mode: 0o600, flag: "wx" });
  return { secret, created: true };
}
