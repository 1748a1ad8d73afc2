/**
 * Organizations (tenants): creating them, members through mailed invitations, roles per organization,
 * acting in one (switchOrganization or x-organization-id), platform admins over all of them, and the
 * isolation between two organizations, over real HTTP with a real SMTP server.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ORGANIZATION_CONFLICTS } from "../src/modules/organizations/organization.errors.js";
import { ROLE_CONFLICTS } from "../src/modules/roles/role.errors.js";
import {
  codeOf,
  type GraphQLResponse,
  PASSWORD,
  type SignedIn,
  startServer,
  type TestServer,
} from "./support/server.js";
import { MailCatcher } from "./support/smtp.js";

const CREATE = `mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { id name slug status } }`;
const INVITE = `mutation($o: UUID, $input: InviteMemberInput!) {
  inviteMember(organizationId: $o, input: $input) { id email role { id name } expiresAt } }`;
const ACCEPT = `mutation($t: String!) { acceptInvitation(token: $t) { id name } }`;
const MEMBERS = `query($o: UUID, $f: MemberFilter) {
  members(organizationId: $o, filter: $f) { items { userId email roles { id name organizationId } } pageInfo { totalItems } } }`;
const ROLES = `query($o: UUID) { organizationRoles(organizationId: $o) { id name isSystem organizationId permissions { key } } }`;
const MY_PERMISSIONS = `{ myPermissions }`;
const CAN = `query($p: String!) { can(permission: $p) }`;
const SWITCH = `mutation($o: UUID) { switchOrganization(organizationId: $o) { accessToken organization { id slug } } }`;
const REFRESH = `mutation($t: String!) { refreshToken(token: $t) { accessToken } }`;
const ASSIGN = `mutation($o: UUID, $u: UUID!, $r: UUID!) {
  assignOrganizationRole(organizationId: $o, userId: $u, roleId: $r) { userId roles { name } } }`;
const UNASSIGN = `mutation($o: UUID, $u: UUID!, $r: UUID!) {
  unassignOrganizationRole(organizationId: $o, userId: $u, roleId: $r) { userId roles { name } } }`;
const REMOVE = `mutation($o: UUID, $u: UUID!) { removeMember(organizationId: $o, userId: $u) }`;
const AUDIT = `query($f: AuditEventFilter) { auditEvents(filter: $f, first: 100) { edges { node { action organizationId } } } }`;

let mail: MailCatcher;
let server: TestServer;
beforeAll(async () => {
  mail = new MailCatcher();
  server = await startServer({
    env: { SMTP_URL: await mail.start(), KAFKEY_APP_URL: "https://app.example.com" },
  });
});
afterAll(async () => {
  await server.close();
  await mail.stop();
});

/** `user` calling, acting in `organizationId` through the x-organization-id header. */
function as(user: SignedIn, query: string, variables: Record<string, unknown> = {}, organizationId?: string) {
  const headers: Record<string, string> = organizationId ? { "x-organization-id": organizationId } : {};
  return server.gql(query, variables, user.accessToken, headers);
}

/** A user who signed up and followed the link in their verification mail. */
async function verifiedUser(name: string): Promise<SignedIn> {
  const user = await server.signUp(name);
  const token = MailCatcher.token(await mail.latest(user.email, /confirm your email/i));
  expect((await server.gql(`mutation($t: String!) { verifyEmail(token: $t) }`, { t: token })).errors).toBeUndefined();
  return user;
}

async function createOrganization(owner: SignedIn, name: string): Promise<{ id: string; slug: string }> {
  const result = await as(owner, CREATE, { input: { name } });
  expect(result.errors).toBeUndefined();
  return result.data!.createOrganization;
}

async function roleNamed(user: SignedIn, organizationId: string, name: string): Promise<string> {
  const { data } = await as(user, ROLES, {}, organizationId);
  return data!.organizationRoles.find((r: { name: string }) => r.name === name).id;
}

/** Invites `email` into the organization as `inviter` and answers the token mailed to it. */
async function invite(inviter: SignedIn, organizationId: string, email: string, roleId?: string): Promise<string> {
  const result = await as(inviter, INVITE, { input: { email, roleId } }, organizationId);
  expect(result.errors).toBeUndefined();
  return MailCatcher.token(await mail.latest(email, /^Join /));
}

async function join(inviter: SignedIn, organizationId: string, user: SignedIn, roleName = "member") {
  const token = await invite(inviter, organizationId, user.email, await roleNamed(inviter, organizationId, roleName));
  expect((await as(user, ACCEPT, { t: token })).errors).toBeUndefined();
}

function expectRefused(result: GraphQLResponse, where: string) {
  expect([where, codeOf(result)]).toEqual([where, expect.stringMatching(/^(FORBIDDEN|NOT_FOUND)$/)]);
  const data = result.data ? Object.values(result.data).filter((value) => value !== null) : [];
  expect([where, data]).toEqual([where, []]);
}

describe("creating an organization", () => {
  it("needs a verified email by default; the creator becomes its owner with the three system roles", async () => {
    const unverified = await server.signUp("unverified");
    const refused = await as(unverified, CREATE, { input: { name: "Nope" } });
    expect(codeOf(refused)).toBe("FORBIDDEN");

    const owner = await verifiedUser("founder");
    const organization = await createOrganization(owner, "Acme Corp.");
    expect(organization.slug).toMatch(/^acme-corp/);
    const mine = await as(owner, `{ organizations { id } }`);
    expect(mine.data!.organizations).toEqual([{ id: organization.id }]);

    const roles = (await as(owner, ROLES, {}, organization.id)).data!.organizationRoles;
    expect(roles.map((r: { name: string }) => r.name)).toEqual(["admin", "member", "owner"]);
    expect(
      roles.every(
        (r: { isSystem: boolean; organizationId: string }) => r.isSystem && r.organizationId === organization.id,
      ),
    ).toBe(true);
    const owners = (
      await as(owner, MEMBERS, { f: { roleId: await roleNamed(owner, organization.id, "owner") } }, organization.id)
    ).data!;
    expect(owners.members.items.map((m: { userId: string }) => m.userId)).toEqual([owner.id]);

    const taken = await as(owner, CREATE, { input: { name: "Other", slug: organization.slug } });
    expect(codeOf(taken)).toBe("CONFLICT");
    expect(taken.errors![0]!.extensions!.reason).toBe(ORGANIZATION_CONFLICTS.SLUG_TAKEN);
    const badSlug = await as(owner, CREATE, { input: { name: "Other", slug: "-Bad Slug" } });
    expect(codeOf(badSlug)).toBe("BAD_USER_INPUT");
  });
});

describe("invitations, through a real SMTP server", () => {
  it("mail a single-use link that an existing account with that address accepts", async () => {
    const owner = await verifiedUser("inviter");
    const organization = await createOrganization(owner, "Invites Inc");
    const invitee = await server.signUp("invitee");
    const token = await invite(owner, organization.id, invitee.email);
    const message = await mail.latest(invitee.email, /^Join Invites Inc/);
    expect(message.text).toContain("https://app.example.com/accept-invitation?token=");
    expect(message.text).toContain(`${owner.email} invited you to join Invites Inc as member`);

    const preview = await server.gql(`query($t: String!) { invitation(token: $t) { organizationName email } }`, {
      t: token,
    });
    expect(preview.data!.invitation).toEqual({ organizationName: "Invites Inc", email: invitee.email });

    const stranger = await server.signUp("stranger");
    expect(codeOf(await as(stranger, ACCEPT, { t: token }))).toBe("FORBIDDEN");

    const accepted = await as(invitee, ACCEPT, { t: token });
    expect(accepted.data!.acceptInvitation).toEqual({ id: organization.id, name: "Invites Inc" });
    expect(codeOf(await as(invitee, ACCEPT, { t: token }))).toBe("BAD_USER_INPUT");
    const me = await as(invitee, `{ me { emailVerifiedAt } organizations { id } }`);
    expect(me.data!.organizations).toEqual([{ id: organization.id }]);
    expect(me.data!.me.emailVerifiedAt).not.toBeNull();

    const members = await as(owner, MEMBERS, {}, organization.id);
    const joined = members.data!.members.items.find((m: { userId: string }) => m.userId === invitee.id);
    expect(joined.roles.map((r: { name: string }) => r.name)).toEqual(["member"]);
    const again = await as(owner, INVITE, { input: { email: invitee.email } }, organization.id);
    expect(again.errors![0]!.extensions!.reason).toBe(ORGANIZATION_CONFLICTS.ALREADY_MEMBER);
  });

  it("work during sign-up, and a revoked one stops working", async () => {
    const owner = await verifiedUser("recruiter");
    const organization = await createOrganization(owner, "Signup Ltd");
    const email = `newcomer-${Date.now()}@example.com`;
    const adminRole = await roleNamed(owner, organization.id, "admin");
    const token = await invite(owner, organization.id, email, adminRole);

    const wrongAddress = await server.gql(`mutation($i: SignUpInput!) { signUp(input: $i) { accessToken } }`, {
      i: { email: `other-${email}`, password: PASSWORD, displayName: "Other", invitationToken: token },
    });
    expect(codeOf(wrongAddress)).toBe("BAD_USER_INPUT");

    const signedUp = await server.gql(
      `mutation($i: SignUpInput!) { signUp(input: $i) { accessToken user { id emailVerifiedAt } } }`,
      { i: { email, password: PASSWORD, displayName: "Newcomer", invitationToken: token } },
    );
    expect(signedUp.errors).toBeUndefined();
    expect(signedUp.data!.signUp.user.emailVerifiedAt).not.toBeNull();
    const newcomer = {
      id: signedUp.data!.signUp.user.id,
      email,
      accessToken: signedUp.data!.signUp.accessToken,
      refreshToken: "",
    };
    const can = await as(newcomer, CAN, { p: "org.members.invite" }, organization.id);
    expect(can.data!.can).toBe(true);

    const revokedEmail = `revoked-${Date.now()}@example.com`;
    const revokedToken = await invite(owner, organization.id, revokedEmail);
    const pending = await as(owner, `{ invitations { id email } }`, {}, organization.id);
    const id = pending.data!.invitations.find((i: { email: string }) => i.email === revokedEmail).id;
    const revoked = await as(owner, `mutation($id: UUID!) { revokeInvitation(id: $id) }`, { id }, organization.id);
    expect(revoked.data!.revokeInvitation).toBe(true);
    const late = await server.gql(`query($t: String!) { invitation(token: $t) { email } }`, { t: revokedToken });
    expect(codeOf(late)).toBe("BAD_USER_INPUT");
  });
});

describe("one user in two organizations, with different roles", () => {
  let alice: SignedIn;
  let bob: SignedIn;
  let a: { id: string };
  let b: { id: string };
  beforeAll(async () => {
    alice = await verifiedUser("alice");
    bob = await verifiedUser("bob");
    a = await createOrganization(alice, "Alpha");
    b = await createOrganization(bob, "Beta");
    await join(bob, b.id, alice, "member");
  });

  it("can do what the active organization's roles allow, and nothing more", async () => {
    const inA = await as(alice, MY_PERMISSIONS, {}, a.id);
    expect(inA.data!.myPermissions).toEqual(expect.arrayContaining(["org.delete", "org.members.invite", "audit.read"]));
    const inB = await as(alice, MY_PERMISSIONS, {}, b.id);
    expect(inB.data!.myPermissions).toEqual(expect.arrayContaining(["org.read", "org.members.read"]));
    expect(inB.data!.myPermissions).not.toContain("org.members.invite");
    const nowhere = await as(alice, MY_PERMISSIONS);
    expect(nowhere.data!.myPermissions.filter((p: string) => p.startsWith("org."))).toEqual([]);

    expect((await as(alice, CAN, { p: "org.members.invite" }, a.id)).data!.can).toBe(true);
    expect((await as(alice, CAN, { p: "org.members.invite" }, b.id)).data!.can).toBe(false);
    const inviteInB = await as(alice, INVITE, { input: { email: "x@example.com" } }, b.id);
    expect(codeOf(inviteInB)).toBe("FORBIDDEN");
    expect(inviteInB.errors![0]!.extensions!.requiredPermission).toBe("org.members.invite");

    const membersOfB = await as(alice, MEMBERS, {}, b.id);
    expect(membersOfB.data!.members.items.map((m: { userId: string }) => m.userId).sort()).toEqual(
      [alice.id, bob.id].sort(),
    );
    const membersOfA = await as(alice, MEMBERS, {}, a.id);
    expect(membersOfA.data!.members.items.map((m: { userId: string }) => m.userId)).toEqual([alice.id]);
  });

  it("switchOrganization issues a token acting in it, which refreshed tokens keep", async () => {
    const session = await server.login(alice.email, PASSWORD);
    const switched = await server.gql(SWITCH, { o: b.id }, session.accessToken);
    expect(switched.data!.switchOrganization.organization.id).toBe(b.id);
    const token = switched.data!.switchOrganization.accessToken as string;
    const claims = JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString());
    expect(claims.org).toBe(b.id);
    expect((await server.gql(`{ activeOrganization { id } }`, {}, token)).data!.activeOrganization.id).toBe(b.id);
    expect((await server.gql(CAN, { p: "org.members.read" }, token)).data!.can).toBe(true);

    const refreshed = await server.gql(REFRESH, { t: session.refreshToken });
    const later = refreshed.data!.refreshToken.accessToken as string;
    expect((await server.gql(`{ activeOrganization { id } }`, {}, later)).data!.activeOrganization.id).toBe(b.id);

    const outsider = await verifiedUser("outsider");
    expect(codeOf(await as(outsider, SWITCH, { o: b.id }))).toBe("FORBIDDEN");
    const none = await server.gql(SWITCH, { o: null }, later);
    expect(none.data!.switchOrganization.organization).toBeNull();
  });

  it("an organization role carries the application's own permissions, never the platform's", async () => {
    const admin = await server.loginAdmin();
    const created = await server.gql(
      `mutation { createPermission(input: { key: "projects.read", description: "Read projects" }) { id } }`,
      {},
      admin.accessToken,
    );
    const projectsRead = created.data!.createPermission.id;
    const [usersRead] = await server.permissionIds(["users.read"]);

    const platformKey = await as(
      alice,
      `mutation($p: [UUID!]!) { createOrganizationRole(input: { name: "sneaky", permissionIds: $p }) { id } }`,
      { p: [usersRead] },
      a.id,
    );
    expect(codeOf(platformKey)).toBe("BAD_USER_INPUT");
    // The owner holds every organization permission, but projects.read is not among them.
    const unheld = await as(
      alice,
      `mutation($p: [UUID!]!) { createOrganizationRole(input: { name: "viewer", permissionIds: $p }) { id } }`,
      { p: [projectsRead] },
      a.id,
    );
    expect(codeOf(unheld)).toBe("FORBIDDEN");

    // A platform admin puts the application's permission into a role of B and grants it to Alice.
    const viewer = await as(
      admin,
      `mutation($o: UUID, $p: [UUID!]!) { createOrganizationRole(organizationId: $o, input: { name: "viewer", permissionIds: $p }) { id } }`,
      { o: b.id, p: [projectsRead] },
    );
    const viewerId = viewer.data!.createOrganizationRole.id;
    const granted = await as(admin, ASSIGN, { o: b.id, u: alice.id, r: viewerId });
    expect(granted.data!.assignOrganizationRole.roles.map((r: { name: string }) => r.name)).toEqual([
      "member",
      "viewer",
    ]);
    expect((await as(alice, CAN, { p: "projects.read" }, b.id)).data!.can).toBe(true);
    expect((await as(alice, CAN, { p: "projects.read" }, a.id)).data!.can).toBe(false);
    expect((await as(alice, CAN, { p: "projects.read" })).data!.can).toBe(false);

    const ownerId = await roleNamed(bob, b.id, "owner");
    const ownerChange = await as(
      admin,
      `mutation($o: UUID, $r: UUID!, $p: [UUID!]!) { setOrganizationRolePermissions(organizationId: $o, roleId: $r, permissionIds: $p) { id } }`,
      { o: b.id, r: ownerId, p: [projectsRead] },
    );
    expect(ownerChange.errors![0]!.extensions!.reason).toBe(ROLE_CONFLICTS.SYSTEM_ROLE);
    const deleteOwner = await as(
      bob,
      `mutation($id: UUID!) { deleteOrganizationRole(id: $id) }`,
      { id: ownerId },
      b.id,
    );
    expect(deleteOwner.errors![0]!.extensions!.reason).toBe(ROLE_CONFLICTS.SYSTEM_ROLE);
    // Bob owns B but does not hold projects.read: he cannot delete a role carrying it.
    const deleteViewer = await as(
      bob,
      `mutation($id: UUID!) { deleteOrganizationRole(id: $id) }`,
      { id: viewerId },
      b.id,
    );
    expect(codeOf(deleteViewer)).toBe("FORBIDDEN");
    const deleted = await as(
      admin,
      `mutation($o: UUID, $id: UUID!) { deleteOrganizationRole(organizationId: $o, id: $id) }`,
      { o: b.id, id: viewerId },
    );
    expect(deleted.data!.deleteOrganizationRole).toBe(true);
    expect((await as(alice, CAN, { p: "projects.read" }, b.id)).data!.can).toBe(false);
  });
});

describe("isolation between organizations", () => {
  let alice: SignedIn;
  let bob: SignedIn;
  let a: { id: string };
  let b: { id: string };
  const ids: Record<string, string> = {};
  beforeAll(async () => {
    alice = await verifiedUser("tenant-a");
    bob = await verifiedUser("tenant-b");
    a = await createOrganization(alice, "Tenant A");
    b = await createOrganization(bob, "Tenant B");
    // Alice is in B too: membership of B must not count while she acts in A.
    await join(bob, b.id, alice, "member");
    const carol = await verifiedUser("carol");
    await join(bob, b.id, carol, "admin");
    ids.carol = carol.id;
    ids.bOwnerRole = await roleNamed(bob, b.id, "owner");
    ids.bAdminRole = await roleNamed(bob, b.id, "admin");
    const pending = await as(bob, INVITE, { input: { email: `pending-${Date.now()}@example.com` } }, b.id);
    ids.bInvitation = pending.data!.inviteMember.id;
  });

  it("a member of A holding every A permission gets FORBIDDEN or NOT_FOUND for everything of B", async () => {
    const [orgRead] = await server.permissionIds(["org.read"]);
    // Named by organizationId: B is not the organization she acts in.
    const byOrganization: [string, string, Record<string, unknown>][] = [
      ["organization", `query($o: UUID!) { organization(id: $o) { id name } }`, { o: b.id }],
      ["members", MEMBERS, { o: b.id }],
      ["invitations", `query($o: UUID) { invitations(organizationId: $o) { id } }`, { o: b.id }],
      ["organizationRoles", ROLES, { o: b.id }],
      [
        "updateOrganization",
        `mutation($o: UUID) { updateOrganization(organizationId: $o, input: { name: "Pwned" }) { id } }`,
        { o: b.id },
      ],
      ["deleteOrganization", `mutation($o: UUID) { deleteOrganization(organizationId: $o) }`, { o: b.id }],
      ["inviteMember", INVITE, { o: b.id, input: { email: "spy@example.com" } }],
      [
        "revokeInvitation",
        `mutation($o: UUID, $id: UUID!) { revokeInvitation(organizationId: $o, id: $id) }`,
        { o: b.id, id: ids.bInvitation },
      ],
      ["removeMember", REMOVE, { o: b.id, u: ids.carol }],
      ["assignOrganizationRole", ASSIGN, { o: b.id, u: alice.id, r: ids.bOwnerRole }],
      ["unassignOrganizationRole", UNASSIGN, { o: b.id, u: ids.carol, r: ids.bAdminRole }],
      [
        "createOrganizationRole",
        `mutation($o: UUID) { createOrganizationRole(organizationId: $o, input: { name: "x" }) { id } }`,
        { o: b.id },
      ],
      [
        "updateOrganizationRole",
        `mutation($o: UUID, $id: UUID!) { updateOrganizationRole(organizationId: $o, id: $id, input: { description: "x" }) { id } }`,
        { o: b.id, id: ids.bAdminRole },
      ],
      [
        "deleteOrganizationRole",
        `mutation($o: UUID, $id: UUID!) { deleteOrganizationRole(organizationId: $o, id: $id) }`,
        { o: b.id, id: ids.bAdminRole },
      ],
      [
        "setOrganizationRolePermissions",
        `mutation($o: UUID, $id: UUID!, $p: [UUID!]!) { setOrganizationRolePermissions(organizationId: $o, roleId: $id, permissionIds: $p) { id } }`,
        { o: b.id, id: ids.bAdminRole, p: [orgRead] },
      ],
    ];
    // B's ids, in the organization she acts in (A): the rows are not there.
    const byId: [string, string, Record<string, unknown>][] = [
      ["removeMember", REMOVE, { u: ids.carol }],
      ["assignOrganizationRole (B's role)", ASSIGN, { u: alice.id, r: ids.bOwnerRole }],
      ["unassignOrganizationRole (B's member)", UNASSIGN, { u: ids.carol, r: ids.bAdminRole }],
      ["inviteMember (B's role)", INVITE, { input: { email: "spy@example.com", roleId: ids.bOwnerRole } }],
      ["revokeInvitation", `mutation($id: UUID!) { revokeInvitation(id: $id) }`, { id: ids.bInvitation }],
      [
        "updateOrganizationRole",
        `mutation($id: UUID!) { updateOrganizationRole(id: $id, input: { description: "x" }) { id } }`,
        { id: ids.bAdminRole },
      ],
      ["deleteOrganizationRole", `mutation($id: UUID!) { deleteOrganizationRole(id: $id) }`, { id: ids.bAdminRole }],
      [
        "setOrganizationRolePermissions",
        `mutation($id: UUID!, $p: [UUID!]!) { setOrganizationRolePermissions(roleId: $id, permissionIds: $p) { id } }`,
        { id: ids.bAdminRole, p: [orgRead] },
      ],
    ];
    for (const [name, query, variables] of [...byOrganization, ...byId]) {
      expectRefused(await as(alice, query, variables, a.id), name);
    }
    // Without acting anywhere, membership of B does not count either.
    expectRefused(await as(alice, MEMBERS, { o: b.id }), "members, no active organization");

    // Nothing changed in B.
    const membersOfB = await as(bob, MEMBERS, {}, b.id);
    expect(membersOfB.data!.members.pageInfo.totalItems).toBe(3);
    const rolesOfB = (await as(bob, ROLES, {}, b.id)).data!.organizationRoles;
    expect(rolesOfB.map((r: { name: string }) => r.name)).toEqual(["admin", "member", "owner"]);
    expect((await as(bob, `{ invitations { id } }`, {}, b.id)).data!.invitations).toHaveLength(1);
  });

  it("list filters and nested fields stay inside the active organization", async () => {
    const filtered = await as(alice, MEMBERS, { f: { roleId: ids.bAdminRole } }, a.id);
    expect(filtered.data!.members.items).toEqual([]);
    const nested = await as(alice, MEMBERS, {}, a.id);
    for (const member of nested.data!.members.items) {
      for (const role of member.roles) expect(role.organizationId).toBe(a.id);
    }
    await server.app.auditDispatcher.drain();
    const events = (await as(alice, AUDIT, { f: { organizationId: b.id } }, a.id)).data!.auditEvents.edges;
    expect(events.length).toBeGreaterThan(0);
    expect(events.every((e: { node: { organizationId: string } }) => e.node.organizationId === a.id)).toBe(true);

    const notMember = await verifiedUser("nobody");
    const forged = await as(notMember, MEMBERS, {}, b.id);
    expect(codeOf(forged)).toBe("FORBIDDEN");
    expect(forged.errors![0]!.message).toMatch(/not a member/);
    // A malformed header is the client's mistake, not a refusal (issue 15).
    expect(codeOf(await as(notMember, MEMBERS, {}, "not-a-uuid"))).toBe("BAD_USER_INPUT");
    expect(codeOf(await as(alice, `{ allOrganizations { items { id } } }`))).toBe("FORBIDDEN");
  });

  it("removing a member takes effect on their next request, header or switched token, and ends their invitations", async () => {
    const dave = await verifiedUser("dave");
    await join(bob, b.id, dave, "admin");
    const davesInvitation = await invite(dave, b.id, `dave-invited-${Date.now()}@example.com`);
    const switched = (await server.gql(SWITCH, { o: b.id }, dave.accessToken)).data!.switchOrganization.accessToken;
    expect((await server.gql(MEMBERS, {}, switched)).errors).toBeUndefined();
    expect((await as(dave, MEMBERS, {}, b.id)).errors).toBeUndefined();

    expect((await as(bob, REMOVE, { u: dave.id }, b.id)).data!.removeMember).toBe(true);
    expect(codeOf(await server.gql(MEMBERS, {}, switched))).toBe("FORBIDDEN");
    expect(codeOf(await as(dave, MEMBERS, {}, b.id))).toBe("FORBIDDEN");
    expect((await as(dave, `{ organizations { id } }`)).data!.organizations).toEqual([]);
    // What a removed admin invited does not outlive them.
    const late = await server.gql(`query($t: String!) { invitation(token: $t) { email } }`, { t: davesInvitation });
    expect(codeOf(late)).toBe("BAD_USER_INPUT");
  });

  it("an organization keeps an owner, and only an owner deletes it", async () => {
    const lastOwner = await as(bob, `mutation($o: UUID!) { leaveOrganization(organizationId: $o) }`, { o: b.id });
    expect(lastOwner.errors![0]!.extensions!.reason).toBe(ORGANIZATION_CONFLICTS.LAST_OWNER);
    const unassign = await as(bob, UNASSIGN, { u: bob.id, r: ids.bOwnerRole }, b.id);
    expect(unassign.errors![0]!.extensions!.reason).toBe(ORGANIZATION_CONFLICTS.LAST_OWNER);
    // Carol is an admin of B: she may remove members, but not an owner, and not delete B.
    const carol = await server.login(
      (await as(bob, MEMBERS, {}, b.id)).data!.members.items.find((m: { userId: string }) => m.userId === ids.carol)
        .email,
      PASSWORD,
    );
    expect(codeOf(await as(carol, REMOVE, { u: bob.id }, b.id))).toBe("FORBIDDEN");
    expect(codeOf(await as(carol, `mutation { deleteOrganization }`, {}, b.id))).toBe("FORBIDDEN");
  });
});

describe("platform admins", () => {
  it("list and manage every organization without being members; a suspended one is closed to its members", async () => {
    const owner = await verifiedUser("suspended-owner");
    const organization = await createOrganization(owner, "Suspendable");
    const admin = await server.loginAdmin();
    const all = await as(admin, `{ allOrganizations(pageSize: 100) { items { id } pageInfo { totalItems } } }`);
    expect(all.data!.allOrganizations.items.map((o: { id: string }) => o.id)).toContain(organization.id);
    const members = await as(admin, MEMBERS, { o: organization.id });
    expect(members.data!.members.items.map((m: { userId: string }) => m.userId)).toEqual([owner.id]);

    const ownerTries = await as(
      owner,
      `mutation { updateOrganization(input: { status: SUSPENDED }) { id } }`,
      {},
      organization.id,
    );
    expect(ownerTries.errors![0]!.extensions!.requiredPermission).toBe("orgs.manage");
    // However the id is spelled, it is one organization: the suspension holds for an upper-case one too.
    const upper = organization.id.toUpperCase();
    expect((await as(owner, MEMBERS, {}, upper)).errors).toBeUndefined();
    expect((await as(owner, MEMBERS, { o: upper }, organization.id)).errors).toBeUndefined();
    const suspended = await as(
      admin,
      `mutation($o: UUID) { updateOrganization(organizationId: $o, input: { status: SUSPENDED }) { status } }`,
      { o: organization.id },
    );
    expect(suspended.data!.updateOrganization.status).toBe("SUSPENDED");
    const closed = await as(owner, MEMBERS, {}, organization.id);
    expect(codeOf(closed)).toBe("FORBIDDEN");
    expect(closed.errors![0]!.message).toMatch(/suspended/);
    expect(codeOf(await as(owner, MEMBERS, {}, upper))).toBe("FORBIDDEN");

    await server.app.auditDispatcher.drain();
    const events = await as(admin, AUDIT, { f: { organizationId: organization.id } });
    const actions = events.data!.auditEvents.edges.map((e: { node: { action: string } }) => e.node.action);
    expect(actions).toEqual(expect.arrayContaining(["organization.created", "organization.updated"]));

    expect(
      (await as(admin, `mutation($o: UUID) { deleteOrganization(organizationId: $o) }`, { o: organization.id })).data!
        .deleteOrganization,
    ).toBe(true);
    expect((await as(owner, `{ organizations { id } }`)).data!.organizations).toEqual([]);
  });
});
