import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, type SignedIn, type TestServer } from "./support/server.js";

let server: TestServer;
let admin: SignedIn;

beforeAll(async () => {
  server = await startServer();
  admin = await server.loginAdmin();
  const roleId = await server.grant(admin.id, ["users.read", "roles.read"]);
  // 120 users, each with the user role and a second role carrying permissions.
  const userRole = await server.roleId("user");
  const users = await server.app.db.prisma.user.createManyAndReturn({
    data: Array.from({ length: 120 }, (_, i) => ({ email: `bulk-${i}@example.com`, displayName: `Bulk ${i}` })),
    select: { id: true },
  });
  await server.app.db.prisma.userRole.createMany({
    data: users.flatMap(({ id }) => [
      { userId: id, roleId: userRole },
      { userId: id, roleId },
    ]),
  });
});
afterAll(() => server.close());

const USERS_WITH_ROLES = `query($size: Int!) {
  users(pageSize: $size) { items { id email roles { name permissions { key } } } }
}`;

async function statementsFor(size: number): Promise<number> {
  await server.gql(USERS_WITH_ROLES, { size }, admin.accessToken); // warm the permission cache
  const before = server.statements.length;
  const result = await server.gql(USERS_WITH_ROLES, { size }, admin.accessToken);
  expect(result.errors).toBeUndefined();
  expect(result.data!.users.items).toHaveLength(size);
  expect(result.data!.users.items.every((u: { roles: unknown[] }) => u.roles.length >= 1)).toBe(true);
  return server.statements.length - before;
}

describe("users with roles and permissions", () => {
  it("costs the same number of SQL statements for 100 users as for 5", async () => {
    const few = await statementsFor(5);
    const many = await statementsFor(100);
    expect(many).toBe(few);
    expect(many).toBeLessThanOrEqual(8);
  });
});
