import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CREDENTIAL_MUTATIONS } from "../src/modules/reauth/credential-mutations.js";
import { ADMIN, codeOf, PASSWORD, type SignedIn, startServer, type TestServer } from "./support/server.js";
import { until } from "./support/until.js";

let server: TestServer;
/** A second instance of the same deployment, with a low per-key rate limit. */
let other: TestServer;
const RATE_LIMIT = 5;

beforeAll(async () => {
  server = await startServer({ env: { KAFKEY_ORGANIZATION_CREATION: "users" } });
  other = await startServer({ sharing: server, env: { KAFKEY_API_KEY_RATE_LIMIT_MAX: String(RATE_LIMIT) } });
});
afterAll(async () => {
  await other?.close();
  await server?.close();
});

const STEP_UP = `mutation($p: String) { stepUp(currentPassword: $p) }`;
const CREATE = `mutation($input: CreateApiKeyInput!) {
  createApiKey(input: $input) { secret apiKey { id name prefix permissions organizationId lastUsedAt expiresAt } }
}`;
const LIST = `{ apiKeys { id name prefix permissions organizationId createdAt lastUsedAt expiresAt } }`;
const REVOKE = `mutation($id: UUID!) { revokeApiKey(id: $id) }`;
const USER = `query($id: UUID!) { user(id: $id) { id email } }`;

const inDays = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString();

interface Key {
  id: string;
  secret: string;
}

/** Steps the session up, then creates a key for its user. */
async function createKey(
  owner: SignedIn,
  permissions: string[],
  extra: { expiresAt?: string; organizationId?: string } = {},
): Promise<Key> {
  const stepped = await server.gql(STEP_UP, { p: PASSWORD }, owner.accessToken);
  expect(stepped.errors).toBeUndefined();
  const created = await server.gql(
    CREATE,
    { input: { name: "ci", permissions, expiresAt: extra.expiresAt ?? inDays(30), ...extra } },
    owner.accessToken,
  );
  expect(created.errors).toBeUndefined();
  const { secret, apiKey } = created.data!.createApiKey;
  return { id: apiKey.id, secret };
}

/** A user holding users.read (and roles.read) through a role of their own. */
async function reader(): Promise<SignedIn & { roleId: string }> {
  const user = await server.signUp("reader");
  const roleId = await server.grant(user.id, ["users.read", "roles.read"]);
  return { ...user, roleId };
}

describe("createApiKey", () => {
  it("refuses without recent re-authentication", async () => {
    const user = await server.signUp("fresh");
    const refused = await server.gql(
      CREATE,
      { input: { name: "x", permissions: ["users.read"], expiresAt: inDays(1) } },
      user.accessToken,
    );
    expect(codeOf(refused)).toBe("REAUTHENTICATION_REQUIRED");
  });

  it("answers a kfk_ secret with a checksum once, and lists the key without it", async () => {
    const user = await reader();
    const key = await createKey(user, ["users.read"]);
    expect(key.secret).toMatch(/^kfk_[0-9A-Za-z]{50}$/);
    const listed = await server.gql(LIST, {}, user.accessToken);
    expect(listed.data!.apiKeys).toHaveLength(1);
    expect(listed.data!.apiKeys[0]).toMatchObject({
      id: key.id,
      prefix: key.secret.slice(0, 12),
      permissions: ["users.read"],
    });
    expect(JSON.stringify(listed)).not.toContain(key.secret.slice(12));
    const fields = await server.gql(`{ __type(name: "ApiKey") { fields { name } } }`);
    expect(fields.data!.__type.fields.map((f: { name: string }) => f.name)).not.toContain("secret");
  });

  it("refuses permissions the caller does not hold", async () => {
    const user = await reader();
    await server.gql(STEP_UP, { p: PASSWORD }, user.accessToken);
    const refused = await server.gql(
      CREATE,
      { input: { name: "x", permissions: ["users.delete"], expiresAt: inDays(1) } },
      user.accessToken,
    );
    expect(codeOf(refused)).toBe("BAD_USER_INPUT");
  });

  it("refuses an expiry in the past or beyond the longest lifetime", async () => {
    const user = await reader();
    await server.gql(STEP_UP, { p: PASSWORD }, user.accessToken);
    for (const expiresAt of [inDays(-1), inDays(400)]) {
      const refused = await server.gql(
        CREATE,
        { input: { name: "x", permissions: ["users.read"], expiresAt } },
        user.accessToken,
      );
      expect(codeOf(refused)).toBe("BAD_USER_INPUT");
    }
  });
});

describe("a request with an API key", () => {
  it("reads what the key's permissions allow, and nothing else its owner could", async () => {
    const user = await reader();
    const key = await createKey(user, ["users.read"]);
    const read = await server.gql(USER, { id: user.id }, key.secret);
    expect(read.errors).toBeUndefined();
    expect(read.data!.user.id).toBe(user.id);
    // The owner holds roles.read; the key does not.
    const roles = await server.gql(`{ roles { id } }`, {}, key.secret);
    expect(codeOf(roles)).toBe("FORBIDDEN");
    expect((await server.gql(`{ roles { id } }`, {}, user.accessToken)).errors).toBeUndefined();
  });

  it("loses a permission at the next request once its owner loses it", async () => {
    const user = await reader();
    const key = await createKey(user, ["users.read"]);
    expect((await server.gql(USER, { id: user.id }, key.secret)).errors).toBeUndefined();
    const admin = await server.loginAdmin();
    const removed = await server.gql(
      `mutation($u: UUID!, $r: UUID!) { removeRole(userId: $u, roleId: $r) { id } }`,
      { u: user.id, r: user.roleId },
      admin.accessToken,
    );
    expect(removed.errors).toBeUndefined();
    expect(codeOf(await server.gql(USER, { id: user.id }, key.secret))).toBe("FORBIDDEN");
    expect(codeOf(await other.gql(USER, { id: user.id }, key.secret))).toBe("FORBIDDEN");
  });

  it("refuses a key whose checksum is wrong, before any database read", async () => {
    const user = await reader();
    const key = await createKey(user, ["users.read"]);
    const last = key.secret.at(-1) === "A" ? "B" : "A";
    const broken = key.secret.slice(0, -1) + last;
    const before = server.statements.length;
    const refused = await server.gql(USER, { id: user.id }, broken);
    expect(codeOf(refused)).toBe("UNAUTHENTICATED");
    expect(server.statements.slice(before).filter((sql) => sql.includes("api_keys"))).toEqual([]);
    // A well-formed key nobody made is refused too.
    const noise = await server.gql(USER, { id: user.id }, "kfk_" + "0".repeat(50));
    expect(codeOf(noise)).toBe("UNAUTHENTICATED");
  });

  it("refuses a revoked key from the next request on, on every instance", async () => {
    const user = await reader();
    const key = await createKey(user, ["users.read"]);
    // Both instances have the key's answer cached.
    expect((await server.gql(USER, { id: user.id }, key.secret)).errors).toBeUndefined();
    expect((await other.gql(USER, { id: user.id }, key.secret)).errors).toBeUndefined();
    await server.gql(STEP_UP, { p: PASSWORD }, user.accessToken);
    const revoked = await server.gql(REVOKE, { id: key.id }, user.accessToken);
    expect(revoked.data).toEqual({ revokeApiKey: true });
    expect(codeOf(await server.gql(USER, { id: user.id }, key.secret))).toBe("UNAUTHENTICATED");
    expect(codeOf(await other.gql(USER, { id: user.id }, key.secret))).toBe("UNAUTHENTICATED");
    expect((await server.gql(LIST, {}, user.accessToken)).data!.apiKeys).toEqual([]);
    // Revoking again, or another user's key, finds nothing.
    expect(codeOf(await server.gql(REVOKE, { id: key.id }, user.accessToken))).toBe("NOT_FOUND");
  });

  it("refuses an expired key", async () => {
    const user = await reader();
    const key = await createKey(user, ["users.read"], { expiresAt: new Date(Date.now() + 1500).toISOString() });
    expect((await server.gql(USER, { id: user.id }, key.secret)).errors).toBeUndefined();
    await new Promise((resolve) => setTimeout(resolve, 1600));
    expect(codeOf(await server.gql(USER, { id: user.id }, key.secret))).toBe("UNAUTHENTICATED");
  });

  it("cannot sign out, change credentials or make keys: those need a session", async () => {
    const user = await reader();
    const key = await createKey(user, ["users.read"]);
    const calls = [
      `mutation { logout }`,
      `mutation { changePassword(currentPassword: "${PASSWORD}", newPassword: "another long password here") }`,
      `mutation { stepUp(currentPassword: "${PASSWORD}") }`,
      `mutation { createApiKey(input: { name: "x", permissions: ["users.read"], expiresAt: "${inDays(1)}" }) { secret } }`,
      `mutation { revokeApiKey(id: "${key.id}") }`,
      `mutation { updateMe(input: { displayName: "taken over" }) { id } }`,
      `mutation { createOrganization(input: { name: "Keyed" }) { id } }`,
      `{ sessions { id } }`,
    ];
    for (const call of calls) {
      const refused = await server.gql(call, {}, key.secret);
      expect(codeOf(refused), call).toBe("FORBIDDEN");
    }
    // The key still works, and the session too: nothing above ran.
    expect((await server.gql(USER, { id: user.id }, key.secret)).errors).toBeUndefined();
    expect((await server.gql(`{ me { id } }`, {}, user.accessToken)).errors).toBeUndefined();
  });

  it("notes its use in lastUsedAt", async () => {
    const user = await reader();
    const key = await createKey(user, ["users.read"]);
    const before = await server.gql(LIST, {}, user.accessToken);
    expect(before.data!.apiKeys[0].lastUsedAt).toBeNull();
    await server.gql(USER, { id: user.id }, key.secret);
    let used: string | null = null;
    await until(
      () => used !== null,
      async () => {
        used = (await server.gql(LIST, {}, user.accessToken)).data!.apiKeys[0].lastUsedAt;
      },
    );
    expect(new Date(used!).getTime()).toBeGreaterThan(Date.now() - 60_000);
  });

  it("is rate limited per key, over every instance", async () => {
    const user = await reader();
    const key = await createKey(user, ["users.read"]);
    const codes: (string | undefined)[] = [];
    for (let i = 0; i < RATE_LIMIT + 1; i++) codes.push(codeOf(await other.gql(USER, { id: user.id }, key.secret)));
    expect(codes.slice(0, RATE_LIMIT)).toEqual(Array(RATE_LIMIT).fill(undefined));
    expect(codes[RATE_LIMIT]).toBe("RATE_LIMITED");
    // Another key of the same owner has a count of its own.
    const second = await createKey(user, ["users.read"]);
    expect((await other.gql(USER, { id: user.id }, second.secret)).errors).toBeUndefined();
  });
});

describe("an API key bound to an organization", () => {
  it("acts in that organization only, with no platform permissions", async () => {
    const user = await reader();
    const mine = await server.gql(
      `mutation { createOrganization(input: { name: "Keyed Org" }) { id } }`,
      {},
      user.accessToken,
    );
    const organizationId: string = mine.data!.createOrganization.id;
    const elsewhere = await server.gql(
      `mutation { createOrganization(input: { name: "Other Org" }) { id } }`,
      {},
      user.accessToken,
    );
    const otherId: string = elsewhere.data!.createOrganization.id;
    const key = await createKey(user, ["org.read"], { organizationId });
    const org = `query($id: UUID!) { organization(id: $id) { id } }`;
    const read = await server.gql(org, { id: organizationId }, key.secret);
    expect(read.errors).toBeUndefined();
    expect((await server.gql(`{ activeOrganization { id } }`, {}, key.secret)).data).toEqual({
      activeOrganization: { id: organizationId },
    });
    // The owner reads the other organization; the key does not, named or not.
    expect(
      (await server.gql(org, { id: otherId }, user.accessToken, { "x-organization-id": otherId })).errors,
    ).toBeUndefined();
    expect(codeOf(await server.gql(org, { id: otherId }, key.secret))).toBe("FORBIDDEN");
    expect(codeOf(await server.gql(org, { id: otherId }, key.secret, { "x-organization-id": otherId }))).toBe(
      "FORBIDDEN",
    );
    // Named into another organization, it does not act in its own either.
    const named = await server.gql(org, { id: organizationId }, key.secret, { "x-organization-id": otherId });
    expect(codeOf(named)).toBe("FORBIDDEN");
  });

  it("holds no platform permission, even with * from a platform admin", async () => {
    const admin = await server.loginAdmin();
    const made = await server.gql(
      `mutation { createOrganization(input: { name: "Admin Org" }) { id } }`,
      {},
      admin.accessToken,
    );
    const organizationId: string = made.data!.createOrganization.id;
    await server.gql(STEP_UP, { p: ADMIN.password }, admin.accessToken);
    const created = await server.gql(
      CREATE,
      { input: { name: "everything", permissions: ["*"], expiresAt: inDays(1), organizationId } },
      admin.accessToken,
    );
    const secret: string = created.data!.createApiKey.secret;
    const org = `query($id: UUID!) { organization(id: $id) { id } }`;
    expect((await server.gql(org, { id: organizationId }, secret)).errors).toBeUndefined();
    expect(codeOf(await server.gql(USER, { id: admin.id }, secret))).toBe("FORBIDDEN");
    expect(codeOf(await server.gql(`{ roles { id } }`, {}, secret))).toBe("FORBIDDEN");
  });

  it("takes only permissions its owner holds in that organization", async () => {
    const user = await reader();
    const mine = await server.gql(
      `mutation { createOrganization(input: { name: "Bound Org" }) { id } }`,
      {},
      user.accessToken,
    );
    const organizationId: string = mine.data!.createOrganization.id;
    await server.gql(STEP_UP, { p: PASSWORD }, user.accessToken);
    // users.read is the owner's on the platform, not in the organization.
    const refused = await server.gql(
      CREATE,
      { input: { name: "x", permissions: ["users.read"], expiresAt: inDays(1), organizationId } },
      user.accessToken,
    );
    expect(codeOf(refused)).toBe("BAD_USER_INPUT");
    const stranger = await server.signUp("stranger");
    await server.gql(STEP_UP, { p: PASSWORD }, stranger.accessToken);
    const notMine = await server.gql(
      CREATE,
      { input: { name: "x", permissions: ["org.read"], expiresAt: inDays(1), organizationId } },
      stranger.accessToken,
    );
    expect(codeOf(notMine)).toBe("NOT_FOUND");
  });
});

describe("the session-only fields", () => {
  it("take in every credential mutation a session makes", async () => {
    const { sessionOnlyFields } = await import("../src/modules/api-keys/index.js");
    const { buildGraphQLSchema } = await import("../src/graphql/schema.js");
    const { RESOLVERS } = await import("../src/api.js");
    const fields = sessionOnlyFields(await buildGraphQLSchema(RESOLVERS));
    const credential = Object.keys(CREDENTIAL_MUTATIONS);
    expect(credential.filter((name) => !fields.Mutation.includes(name))).toEqual([]);
  });
});

describe("an API key's secret", () => {
  it("never reaches the logs or the audit trail, and its creation and revocation are audited", async () => {
    const user = await reader();
    const key = await createKey(user, ["users.read"]);
    await server.gql(USER, { id: user.id }, key.secret);
    await server.gql(USER, { id: user.id }, key.secret.slice(0, -1) + "x");
    await server.gql(STEP_UP, { p: PASSWORD }, user.accessToken);
    await server.gql(REVOKE, { id: key.id }, user.accessToken);
    await server.gql(USER, { id: user.id }, key.secret);
    await server.app.auditDispatcher.drain();
    const admin = await server.loginAdmin();
    const events = await server.gql(
      `query($id: UUID) { auditEvents(filter: { targetId: $id }) { edges { node { action actor { userId } } } } }`,
      { id: key.id },
      admin.accessToken,
    );
    expect(events.errors).toBeUndefined();
    const actions = events.data!.auditEvents.edges.map((e: { node: { action: string } }) => e.node.action).sort();
    expect(actions).toEqual(["api_key.created", "api_key.revoked"]);
    const logs = server.logs.join("\n") + other.logs.join("\n") + JSON.stringify(events);
    expect(logs).not.toContain(key.secret.slice(12));
  });
});
