/**
 * The data-layer half of tenant isolation (src/platform/db/scoped.ts), on its own: whatever a
 * resolver asks an organization-scoped client, it never reads, changes or creates another
 * organization's rows, even with the other organization's ids in hand. Runs on real PostgreSQL (or
 * PGlite where PostgreSQL is not required and not reachable).
 */
import os from "node:os";
import { PGlite } from "@electric-sql/pglite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Database, openDatabase, openPglite } from "../src/platform/db/database.js";
import { migrate } from "../src/platform/db/migrator.js";
import { scopedClient } from "../src/platform/db/scoped.js";
import { createScratchDatabase, postgresAvailable, type ScratchDatabase } from "./support/databases.js";

let scratch: ScratchDatabase | undefined;
let db: Database;
const ids: Record<string, string> = {};

beforeAll(async () => {
  if (await postgresAvailable()) {
    scratch = await createScratchDatabase();
    db = await openDatabase({
      dataDir: os.tmpdir(),
      database: {
        url: scratch.url,
        poolSize: 2,
        idleTimeoutMs: 10_000,
        statementTimeoutMs: 15_000,
        connectTimeoutMs: 5_000,
      },
    });
  } else {
    db = await openPglite(new PGlite());
  }
  await migrate(db);
  const { prisma } = db;
  const user = await prisma.user.create({ data: { email: "member@example.com", displayName: "Member" } });
  const permission = await prisma.permission.findUniqueOrThrow({ where: { key: "org.read" } });
  for (const name of ["a", "b"]) {
    const organization = await prisma.organization.create({ data: { name, slug: name } });
    const role = await prisma.role.create({
      data: {
        organizationId: organization.id,
        name: "member",
        permissions: { create: { permissionId: permission.id } },
      },
    });
    await prisma.organizationMember.create({
      data: { organizationId: organization.id, userId: user.id, roles: { create: { roleId: role.id } } },
    });
    const invitation = await prisma.organizationInvitation.create({
      data: {
        organizationId: organization.id,
        email: "invited@example.com",
        roleId: role.id,
        tokenHash: `hash-${name}`,
        expiresAt: new Date(Date.now() + 3600_000),
      },
    });
    Object.assign(ids, { [name]: organization.id, [`${name}Role`]: role.id, [`${name}Invitation`]: invitation.id });
  }
  ids.user = user.id;
  ids.permission = permission.id;
});
afterAll(async () => {
  await db?.close();
  await scratch?.drop();
});

describe("an organization-scoped client", () => {
  it("reads only its organization's rows, whatever the query asks for", async () => {
    const a = scopedClient(db.prisma, ids.a!);
    expect(await a.organization.findUnique({ where: { id: ids.b! } })).toBeNull();
    expect((await a.organization.findMany()).map((o) => o.id)).toEqual([ids.a]);
    expect(await a.role.findUnique({ where: { id: ids.bRole! } })).toBeNull();
    expect(await a.role.findFirst({ where: { OR: [{ id: ids.bRole! }, { organizationId: ids.b! }] } })).toBeNull();
    expect(await a.organizationInvitation.findUnique({ where: { tokenHash: "hash-b" } })).toBeNull();
    expect(await a.organizationMember.count()).toBe(1);
    expect(await a.organizationMemberRole.count({ where: { roleId: ids.bRole! } })).toBe(0);
    expect(await a.rolePermission.count({ where: { roleId: ids.bRole! } })).toBe(0);
    const nested = await a.organizationMember.findMany({ include: { roles: { include: { role: true } } } });
    expect(nested.flatMap((m) => m.roles.map((r) => r.role.organizationId))).toEqual([ids.a]);
    await a.$transaction(async (tx) => {
      expect(await tx.role.findMany({ where: { organizationId: ids.b! } })).toEqual([]);
    });
  });

  it("changes and deletes nothing of another organization", async () => {
    const a = scopedClient(db.prisma, ids.a!);
    await expect(a.role.update({ where: { id: ids.bRole! }, data: { description: "x" } })).rejects.toMatchObject({
      code: "P2025",
    });
    expect((await a.role.updateMany({ where: { id: ids.bRole! }, data: { description: "x" } })).count).toBe(0);
    expect((await a.organizationInvitation.deleteMany({ where: { id: ids.bInvitation! } })).count).toBe(0);
    expect((await a.organizationMember.deleteMany({ where: { organizationId: ids.b! } })).count).toBe(0);
    expect((await a.rolePermission.deleteMany({ where: { roleId: ids.bRole! } })).count).toBe(0);
    await expect(a.organization.delete({ where: { id: ids.b! } })).rejects.toMatchObject({ code: "P2025" });
    expect(await db.prisma.role.findUniqueOrThrow({ where: { id: ids.bRole! } })).toMatchObject({ description: "" });
    expect(await db.prisma.organizationMember.count({ where: { organizationId: ids.b! } })).toBe(1);
    expect(await db.prisma.rolePermission.count({ where: { roleId: ids.bRole! } })).toBe(1);
  });

  it("creates rows in its organization only, and moves none out of it", async () => {
    const a = scopedClient(db.prisma, ids.a!);
    const created = await a.role.create({ data: { name: "viewer" } });
    expect(created.organizationId).toBe(ids.a);
    await expect(a.role.create({ data: { name: "spy", organizationId: ids.b! } })).rejects.toThrow(/not allowed/);
    await expect(a.role.update({ where: { id: created.id }, data: { organizationId: ids.b! } })).rejects.toThrow(
      /not allowed/,
    );
    await expect(
      a.rolePermission.createMany({ data: [{ roleId: ids.bRole!, permissionId: ids.permission! }] }),
    ).rejects.toThrow(/not allowed/);
    await expect(a.organization.create({ data: { name: "c", slug: "c" } })).rejects.toThrow(/not allowed/);
    await expect(
      a.organization.upsert({ where: { id: ids.b! }, create: { name: "c", slug: "c" }, update: {} }),
    ).rejects.toThrow(/not allowed/);
  });

  it("refuses relation writes, which would move a row: connect, disconnect, re-parenting permissions", async () => {
    const a = scopedClient(db.prisma, ids.a!);
    const relationWrites = [
      () => a.role.update({ where: { id: ids.aRole! }, data: { organization: { connect: { id: ids.b! } } } }),
      () => a.role.update({ where: { id: ids.aRole! }, data: { organization: { disconnect: true } } }),
      () =>
        a.role.update({
          where: { id: ids.aRole! },
          data: {
            permissions: { connect: { roleId_permissionId: { roleId: ids.bRole!, permissionId: ids.permission! } } },
          },
        }),
      () =>
        a.rolePermission.upsert({
          where: { roleId_permissionId: { roleId: ids.bRole!, permissionId: ids.permission! } },
          create: { roleId: ids.bRole!, permissionId: ids.permission! },
          update: {},
        }),
      () => a.rolePermission.updateMany({ data: { roleId: ids.bRole! } }),
      () => a.organizationMemberRole.updateMany({ data: { roleId: ids.bRole! } }),
    ];
    // Refused by the scope, or by the database's composite foreign keys.
    for (const write of relationWrites) await expect(write()).rejects.toThrow();
    expect(await db.prisma.rolePermission.count({ where: { roleId: ids.bRole! } })).toBe(1);
    expect((await db.prisma.role.findUniqueOrThrow({ where: { id: ids.aRole! } })).organizationId).toBe(ids.a);

    // Permissions are written nested under a role the scope matched: another organization's is not there.
    await expect(
      a.role.update({ where: { id: ids.bRole! }, data: { permissions: { deleteMany: {} } } }),
    ).rejects.toMatchObject({ code: "P2025" });
    expect(await db.prisma.rolePermission.count({ where: { roleId: ids.bRole! } })).toBe(1);
  });

  it("refuses the models that are not an organization's: users are read through the platform client", async () => {
    const a = scopedClient(db.prisma, ids.a!);
    await expect(a.user.findMany()).rejects.toThrow(/not allowed/);
    await expect(a.session.findMany()).rejects.toThrow(/not allowed/);
    await expect(a.auditOutbox.findMany()).rejects.toThrow(/not allowed/);
  });

  it("scoped to the platform, sees the platform's roles and no organization's", async () => {
    const platform = scopedClient(db.prisma, null);
    expect((await platform.role.findMany({ orderBy: { name: "asc" } })).map((r) => r.name)).toEqual(["admin", "user"]);
    expect(await platform.role.findUnique({ where: { id: ids.aRole! } })).toBeNull();
    await expect(platform.organization.findMany()).rejects.toThrow(/not allowed/);
  });
});
