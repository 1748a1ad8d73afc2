import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PASSWORD, startServer, type TestServer } from "./support/server.js";

describe("password storage at production cost", () => {
  let server: TestServer;
  beforeAll(async () => {
    // The rest of the suite lowers the argon2 cost; this file keeps the defaults.
    server = await startServer({
      database: "pglite",
      env: { KAFKEY_ARGON2_MEMORY_KIB: "", KAFKEY_ARGON2_TIME_COST: "" },
    });
  });
  afterAll(() => server.close());

  it("stores argon2id hashes with OWASP's parameters (m=19 MiB, t=2, p=1), never the password", async () => {
    const user = await server.signUp("costly");
    const row = await server.app.db.prisma.user.findUnique({ where: { id: user.id } });
    expect(row!.passwordHash).toMatch(/^\$argon2id\$v=19\$m=19456,p=1,t=2\$/);
    expect(row!.passwordHash).not.toContain(PASSWORD);
    expect((await server.login(user.email, PASSWORD)).id).toBe(user.id);
  });

  it("upgrades a hash made with weaker parameters at the next login", async () => {
    const user = await server.signUp("upgrade");
    const argon2 = await import("argon2");
    const weak = await argon2.hash(PASSWORD, { type: argon2.argon2id, memoryCost: 1024, timeCost: 1 });
    await server.app.db.prisma.user.update({ where: { id: user.id }, data: { passwordHash: weak } });
    await server.login(user.email, PASSWORD);
    const row = await server.app.db.prisma.user.findUnique({ where: { id: user.id } });
    expect(row!.passwordHash).toMatch(/^\$argon2id\$v=19\$m=19456,p=1,t=2\$/);
  });
});
