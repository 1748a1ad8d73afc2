/**
 * Service accounts (issue 19): non-human principals of the platform or of one organization, holding
 * roles like users, acting only through their API keys, and left out of sign-in, the users list and
 * the last-admin rule.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { USER_CONFLICTS } from "../src/modules/users/user.errors.js";
import { ADMIN, codeOf, PASSWORD, type SignedIn, startServer, type TestServer } from "./support/server.js";

let server: TestServer;
/** A second instance of the same deployment: a change on one is seen by the other. */
let other: TestServer;

beforeAll(async () => {
  server = await startServer({ env: { KAFKEY_ORGANIZATION_CREATION: "users" } });
  other = await startServer({ sharing: server });
});
afterAll(async () => {
  await other?.close();
  await server?.close();
});

const FIELDS = `id name organizationId status roles { name }`;
const CREATE = `mutation($input: CreateServiceAccountInput!, $o: UUID) {
  createServiceAccount(input: $input, organizationId: $o) { ${FIELDS} } }`;
const UPDATE = `mutation($id: UUID!, $input: UpdateServiceAccountInput!) {
  updateServiceAccount(id: $id, input: $input) { ${FIELDS} } }`;
const DELETE = `mutation($id: UUID!) { deleteServiceAccount(id: $id) }`;
const LIST = `query($o: UUID) { serviceAccounts(organizationId: $o) { ${FIELDS} } }`;
const STEP_UP = `mutation($p: String) { stepUp(currentPassword: $p) }`;
const CREATE_KEY = `mutation($input: CreateApiKeyInput!) {
  createApiKey(input: $input) { secret apiKey { id organizationId permissions } } }`;
const KEYS = `query($s: UUID) { apiKeys(serviceAccountId: $s) { id } }`;
const REVOKE_KEY = `mutation($id: UUID!) { revokeApiKey(id: $id) }`;
const USERS = `{ users(pageSize: 100) { items { id } } }`;
const USER = `query($id: UUID!) { user(id: $id) { id } }`;
const inDays = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString();

interface Account {
  id: string;
  name: string;
  organizationId: string | null;
  status: string;
  roles: { name: string }[];
}

async function createAccount(
  caller: SignedIn,
  input: { name: string; roleIds?: string[] },
  organizationId?: string,
): Promise<Account> {
  const created = await server.gql(CREATE, { input, o: organizationId }, caller.accessToken);
  expect(created.errors).toBeUndefined();
  return created.data!.createServiceAccount;
}

/** A key for service account `accountId`, made by `caller` after a step-up. */
async function keyFor(caller: SignedIn, accountId: string, permissions: string[]) {
  const password = caller.email === ADMIN.email ? ADMIN.password : PASSWORD;
  expect((await server.gql(STEP_UP, { p: password }, caller.accessToken)).errors).toBeUndefined();
  const created = await server.gql(
    CREATE_KEY,
    { input: { name: "backend", permissions, expiresAt: inDays(30), serviceAccountId: accountId } },
    caller.accessToken,
  );
  return created;
}

async function secretFor(caller: SignedIn, accountId: string, permissions: string[]): Promise<string> {
  const created = await keyFor(caller, accountId, permissions);
  expect(created.errors).toBeUndefined();
  return created.data!.createApiKey.secret;
}

describe("a platform service account", () => {
  it("holds roles, acts through its key as itself, and is no user", async () => {
    const admin = await server.loginAdmin();
    const roleId = await server.roleId("admin");
    const account = await createAccount(admin, { name: "billing backend", roleIds: [roleId] });
    expect(account).toMatchObject({ name: "billing backend", organizationId: null, status: "ACTIVE" });
    expect(account.roles.map((r) => r.name)).toEqual(["admin"]);

    const listed = await server.gql(LIST, {}, admin.accessToken);
    expect(listed.data!.serviceAccounts.map((a: Account) => a.id)).toContain(account.id);
    // Not among the users, nor one of them by id.
    const users = await server.gql(USERS, {}, admin.accessToken);
    expect(users.data!.users.items.map((u: { id: string }) => u.id)).not.toContain(account.id);
    expect(codeOf(await server.gql(USER, { id: account.id }, admin.accessToken))).toBe("NOT_FOUND");

    // Its key acts as the account: what it changes, the audit trail says the account did.
    const secret = await secretFor(admin, account.id, ["roles.create", "permissions.read"]);
    const made = await server.gql(
      `mutation($input: CreateRoleInput!) { createRole(input: $input) { id } }`,
      { input: { name: `made-by-${account.id.slice(0, 8)}`, permissionIds: [] } },
      secret,
    );
    expect(made.errors).toBeUndefined();
    await server.app.auditDispatcher.drain();
    const events = await server.gql(
      `query($id: UUID) { auditEvents(filter: { targetId: $id }) { edges { node { action actor { userId } } } } }`,
      { id: made.data!.createRole.id },
      admin.accessToken,
    );
    expect(events.data!.auditEvents.edges[0].node).toEqual({ action: "role.created", actor: { userId: account.id } });
    // A key holds no more than it was made with, although the account holds `*`.
    expect(codeOf(await server.gql(USERS, {}, secret))).toBe("FORBIDDEN");
  });

  it("cannot sign in, and an admin role it holds keeps no person able to administer", async () => {
    const admin = await server.loginAdmin();
    const account = await createAccount(admin, { name: "holder of admin", roleIds: [await server.roleId("admin")] });
    const login = await server.gql(
      `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }`,
      { e: `${account.id}@service-accounts.invalid`, p: PASSWORD },
    );
    expect(codeOf(login)).toBe("UNAUTHENTICATED");
    // The only person holding admin stays one: the account does not count.
    const deleted = await server.gql(
      `mutation($id: UUID!) { deleteUser(id: $id) }`,
      { id: admin.id },
      admin.accessToken,
    );
    expect(deleted.errors![0]!.extensions!.reason).toBe(USER_CONFLICTS.LAST_ADMIN);
  });

  it("needs service_accounts.read to list and service_accounts.manage to change", async () => {
    const nobody = await server.signUp("nobody");
    expect(codeOf(await server.gql(LIST, {}, nobody.accessToken))).toBe("FORBIDDEN");
    expect(codeOf(await server.gql(CREATE, { input: { name: "x" } }, nobody.accessToken))).toBe("FORBIDDEN");
    const reader = await server.signUp("sa-reader");
    await server.grant(reader.id, ["service_accounts.read"]);
    expect((await server.gql(LIST, {}, reader.accessToken)).errors).toBeUndefined();
    expect(codeOf(await server.gql(CREATE, { input: { name: "x" } }, reader.accessToken))).toBe("FORBIDDEN");
  });

  it("is managed by nobody less powerful than it: no role, no key beyond what the manager holds", async () => {
    const admin = await server.loginAdmin();
    const manager = await server.signUp("sa-manager");
    await server.grant(manager.id, ["service_accounts.manage", "service_accounts.read"]);
    // Granting a role needs every permission it carries.
    const refused = await server.gql(
      CREATE,
      { input: { name: "too strong", roleIds: [await server.roleId("admin")] } },
      manager.accessToken,
    );
    expect(codeOf(refused)).toBe("FORBIDDEN");
    // An account made stronger by an admin is out of the manager's reach: no key, no change, no deletion.
    const strong = await createAccount(admin, { name: "strong", roleIds: [await server.roleId("admin")] });
    expect(codeOf(await keyFor(manager, strong.id, ["service_accounts.read"]))).toBe("FORBIDDEN");
    expect(
      codeOf(await server.gql(UPDATE, { id: strong.id, input: { status: "DISABLED" } }, manager.accessToken)),
    ).toBe("FORBIDDEN");
    expect(codeOf(await server.gql(DELETE, { id: strong.id }, manager.accessToken))).toBe("FORBIDDEN");
    // The user-management mutations do not reach it either.
    const asUser = await server.gql(
      `mutation($id: UUID!) { updateUser(id: $id, input: { status: DISABLED }) { id } }`,
      { id: strong.id },
      admin.accessToken,
    );
    expect(codeOf(asUser)).toBe("NOT_FOUND");
  });

  it("stops its keys on every instance when disabled or deleted, and its manager can revoke them", async () => {
    const admin = await server.loginAdmin();
    const readerRole = await server.gql(
      `mutation($input: CreateRoleInput!) { createRole(input: $input) { id } }`,
      { input: { name: "sa-users-reader", permissionIds: await server.permissionIds(["users.read"]) } },
      admin.accessToken,
    );
    const roleId = readerRole.data!.createRole.id;
    const account = await createAccount(admin, { name: "reporting", roleIds: [roleId] });
    const secret = await secretFor(admin, account.id, ["users.read"]);
    expect((await other.gql(USER, { id: admin.id }, secret)).errors).toBeUndefined();

    const disabled = await server.gql(UPDATE, { id: account.id, input: { status: "DISABLED" } }, admin.accessToken);
    expect(disabled.data!.updateServiceAccount.status).toBe("DISABLED");
    expect(codeOf(await other.gql(USER, { id: admin.id }, secret))).toBe("UNAUTHENTICATED");
    await server.gql(UPDATE, { id: account.id, input: { status: "ACTIVE" } }, admin.accessToken);
    expect((await other.gql(USER, { id: admin.id }, secret)).errors).toBeUndefined();

    // Its roles can be replaced: without users.read, its key reads no user.
    const emptied = await server.gql(UPDATE, { id: account.id, input: { roleIds: [] } }, admin.accessToken);
    expect(emptied.data!.updateServiceAccount.roles).toEqual([]);
    expect(codeOf(await other.gql(USER, { id: admin.id }, secret))).toBe("FORBIDDEN");
    await server.gql(UPDATE, { id: account.id, input: { roleIds: [roleId] } }, admin.accessToken);

    // The manager lists and revokes the account's keys.
    const second = await secretFor(admin, account.id, ["users.read"]);
    const keys = await server.gql(KEYS, { s: account.id }, admin.accessToken);
    expect(keys.data!.apiKeys).toHaveLength(2);
    const nobody = await server.signUp("not-the-manager");
    await server.gql(STEP_UP, { p: PASSWORD }, nobody.accessToken);
    await server.gql(STEP_UP, { p: ADMIN.password }, admin.accessToken);
    const foreign = await server.gql(REVOKE_KEY, { id: keys.data!.apiKeys[0].id }, nobody.accessToken);
    expect(codeOf(foreign)).toBe("NOT_FOUND");
    expect((await server.gql(REVOKE_KEY, { id: keys.data!.apiKeys[0].id }, admin.accessToken)).errors).toBeUndefined();
    expect(codeOf(await other.gql(USER, { id: admin.id }, second))).toBe("UNAUTHENTICATED");

    expect((await server.gql(DELETE, { id: account.id }, admin.accessToken)).data!.deleteServiceAccount).toBe(true);
    expect(codeOf(await other.gql(USER, { id: admin.id }, secret))).toBe("UNAUTHENTICATED");
    expect(codeOf(await server.gql(DELETE, { id: account.id }, admin.accessToken))).toBe("NOT_FOUND");
  });
});

describe("an organization's service account", () => {
  const ORG = `mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { id } }`;
  const ROLES = `query($o: UUID) { organizationRoles(organizationId: $o) { id name } }`;
  const MEMBERS = `query($o: UUID) { members(organizationId: $o) { items { userId } } }`;

  async function organizationOf(owner: SignedIn): Promise<{ id: string; memberRole: string }> {
    const created = await server.gql(ORG, { input: { name: `org ${owner.id.slice(0, 6)}` } }, owner.accessToken);
    expect(created.errors).toBeUndefined();
    const id = created.data!.createOrganization.id;
    const roles = await server.gql(ROLES, { o: id }, owner.accessToken, { "x-organization-id": id });
    return { id, memberRole: roles.data!.organizationRoles.find((r: { name: string }) => r.name === "member").id };
  }

  it("is managed by the organization's owner, acts only there, and is no member in the list", async () => {
    const owner = await server.signUp("org-owner");
    const org = await organizationOf(owner);
    const inOrg = { "x-organization-id": org.id };
    const created = await server.gql(
      CREATE,
      { input: { name: "org robot", roleIds: [org.memberRole] }, o: org.id },
      owner.accessToken,
      inOrg,
    );
    expect(created.errors).toBeUndefined();
    const account: Account = created.data!.createServiceAccount;
    expect(account).toMatchObject({ organizationId: org.id, roles: [{ name: "member" }] });

    const listed = await server.gql(LIST, { o: org.id }, owner.accessToken, inOrg);
    expect(listed.data!.serviceAccounts.map((a: Account) => a.id)).toEqual([account.id]);
    const members = await server.gql(MEMBERS, { o: org.id }, owner.accessToken, inOrg);
    expect(members.data!.members.items.map((m: { userId: string }) => m.userId)).toEqual([owner.id]);
    // Not among the platform's.
    const admin = await server.loginAdmin();
    const platform = await server.gql(LIST, {}, admin.accessToken);
    expect(platform.data!.serviceAccounts.map((a: Account) => a.id)).not.toContain(account.id);

    // Its key is bound to the organization and reads its members there.
    expect((await server.gql(STEP_UP, { p: PASSWORD }, owner.accessToken)).errors).toBeUndefined();
    const key = await server.gql(
      CREATE_KEY,
      {
        input: { name: "robot", permissions: ["org.members.read"], expiresAt: inDays(7), serviceAccountId: account.id },
      },
      owner.accessToken,
      inOrg,
    );
    expect(key.errors).toBeUndefined();
    expect(key.data!.createApiKey.apiKey.organizationId).toBe(org.id);
    const read = await server.gql(MEMBERS, { o: org.id }, key.data!.createApiKey.secret);
    expect(read.errors).toBeUndefined();

    // The member mutations do not reach it: it is changed as a service account, not as a member.
    const asMember = await server.gql(
      `mutation($o: UUID, $u: UUID!, $r: UUID!) { assignOrganizationRole(organizationId: $o, userId: $u, roleId: $r) { userId } }`,
      { o: org.id, u: account.id, r: org.memberRole },
      owner.accessToken,
      inOrg,
    );
    expect(codeOf(asMember)).toBe("NOT_FOUND");
    const removed = await server.gql(
      `mutation($o: UUID, $u: UUID!) { removeMember(organizationId: $o, userId: $u) }`,
      { o: org.id, u: account.id },
      owner.accessToken,
      inOrg,
    );
    expect(codeOf(removed)).toBe("NOT_FOUND");
    expect((await server.gql(MEMBERS, { o: org.id }, key.data!.createApiKey.secret)).errors).toBeUndefined();

    // Another organization's owner does not see it.
    const stranger = await server.signUp("other-owner");
    const theirs = await organizationOf(stranger);
    const peek = await server.gql(UPDATE, { id: account.id, input: { name: "mine" } }, stranger.accessToken, {
      "x-organization-id": theirs.id,
    });
    expect(codeOf(peek)).toBe("NOT_FOUND");
    expect(codeOf(await server.gql(LIST, { o: org.id }, stranger.accessToken))).toBe("NOT_FOUND");
  });
});
