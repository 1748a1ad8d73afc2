/**
 * Token introspection (RFC 7662, issue 19): a resource server authenticated with its service
 * account's API key learns whether a token works now, and sees a revocation at once, on any instance.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, PASSWORD, type SignedIn, startServer, type TestServer } from "./support/server.js";

let server: TestServer;
let other: TestServer;
/** The resource server's credential: an API key of a service account. */
let serviceKey: string;
/** An API key of a person, who is no resource server. */
let personalKey: string;
let admin: SignedIn;

const STEP_UP = `mutation($p: String) { stepUp(currentPassword: $p) }`;
const CREATE_KEY = `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret } }`;
const inDays = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString();

async function newKey(input: Record<string, unknown>): Promise<string> {
  await server.gql(STEP_UP, { p: ADMIN.password }, admin.accessToken);
  const created = await server.gql(
    CREATE_KEY,
    { input: { name: "introspection", expiresAt: inDays(7), ...input } },
    admin.accessToken,
  );
  expect(created.errors).toBeUndefined();
  return created.data!.createApiKey.secret;
}

beforeAll(async () => {
  server = await startServer({ env: { KAFKEY_ORGANIZATION_CREATION: "users" } });
  other = await startServer({ sharing: server });
  admin = await server.loginAdmin();
  const account = await server.gql(
    `mutation { createServiceAccount(input: { name: "resource server" }) { id } }`,
    {},
    admin.accessToken,
  );
  expect(account.errors).toBeUndefined();
  // A key needs one permission; an account without roles holds none, so it gets one to hold.
  const accountId = account.data!.createServiceAccount.id;
  const role = await server.gql(
    `mutation($input: CreateRoleInput!) { createRole(input: $input) { id } }`,
    { input: { name: "introspector", permissionIds: await server.permissionIds(["permissions.read"]) } },
    admin.accessToken,
  );
  await server.gql(
    `mutation($id: UUID!, $r: [UUID!]) { updateServiceAccount(id: $id, input: { roleIds: $r }) { id } }`,
    { id: accountId, r: [role.data!.createRole.id] },
    admin.accessToken,
  );
  serviceKey = await newKey({ permissions: ["permissions.read"], serviceAccountId: accountId });
  personalKey = await newKey({ permissions: ["users.read"] });
});
afterAll(async () => {
  await other?.close();
  await server?.close();
});

async function introspect(
  on: TestServer,
  token: string | undefined,
  authorization: string | undefined = `Bearer ${serviceKey}`,
): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const response = await fetch(`${on.url}/oauth/introspect`, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      ...(authorization ? { authorization } : {}),
    },
    body: new URLSearchParams(token === undefined ? {} : { token }).toString(),
  });
  return {
    status: response.status,
    body: (await response.json()) as Record<string, unknown>,
    headers: response.headers,
  };
}

describe("POST /oauth/introspect", () => {
  it("describes an active access token, and answers inactive from the next request after logout", async () => {
    const user = await server.signUp("introspected");
    const active = await introspect(other, user.accessToken);
    expect(active.status).toBe(200);
    expect(active.headers.get("cache-control")).toBe("no-store");
    expect(active.body).toMatchObject({ active: true, token_type: "Bearer", sub: user.id, username: user.email });
    expect(active.body.client_id).toBe("kafkey");
    expect(typeof active.body.exp).toBe("number");
    expect(active.body.exp as number).toBeGreaterThan(active.body.iat as number);

    const logout = await server.gql(`mutation { logout }`, {}, user.accessToken);
    expect(logout.errors).toBeUndefined();
    // The token's signature still verifies, and will until it expires: introspection sees the logout.
    expect((await introspect(other, user.accessToken)).body).toEqual({ active: false });
  });

  it("answers inactive, with no reason, for a token that is not one", async () => {
    for (const token of ["not-a-token", `${serviceKey.slice(0, -1)}x`, "eyJhbGciOiJIUzI1NiJ9.e30.x"]) {
      const answer = await introspect(server, token);
      expect(answer.status).toBe(200);
      expect(answer.body).toEqual({ active: false });
    }
  });

  it("describes an API key: its owner and its permissions as scope", async () => {
    const answer = await introspect(server, personalKey);
    expect(answer.body).toMatchObject({ active: true, token_type: "api_key", scope: "users.read" });
  });

  it("accepts the key as the password of HTTP Basic, as OAuth clients send it", async () => {
    const user = await server.signUp("basic");
    const basic = `Basic ${Buffer.from(`resource-server:${encodeURIComponent(serviceKey)}`).toString("base64")}`;
    expect((await introspect(server, user.accessToken, basic)).body.active).toBe(true);
  });

  it("refuses a caller that is no service account (401 invalid_client), and a request without token (400)", async () => {
    const user = await server.signUp("nosy");
    for (const authorization of ["", `Bearer ${user.accessToken}`, `Bearer ${personalKey}`]) {
      const refused = await introspect(server, user.accessToken, authorization);
      expect(refused.status).toBe(401);
      expect(refused.body.error).toBe("invalid_client");
      expect(refused.headers.get("www-authenticate")).toContain("Basic");
    }
    const missing = await introspect(server, undefined);
    expect(missing.status).toBe(400);
    expect(missing.body.error).toBe("invalid_request");
  });

  it("answers a key's scope as what it may do now, and inactive once its owner holds none of it", async () => {
    const owner = await server.signUp("key-owner");
    const roleId = await server.grant(owner.id, ["users.read", "roles.read"]);
    await server.gql(STEP_UP, { p: PASSWORD }, owner.accessToken);
    const created = await server.gql(
      CREATE_KEY,
      { input: { name: "script", permissions: ["users.read"], expiresAt: inDays(7) } },
      owner.accessToken,
    );
    const key = created.data!.createApiKey.secret;
    expect((await introspect(server, key)).body).toMatchObject({ active: true, scope: "users.read" });
    await server.gql(
      `mutation($u: UUID!, $r: UUID!) { removeRole(userId: $u, roleId: $r) { id } }`,
      { u: owner.id, r: roleId },
      admin.accessToken,
    );
    expect((await introspect(server, key)).body).toEqual({ active: false });
  });

  it("refuses an organization's service account and malformed Basic credentials (401)", async () => {
    const owner = await server.signUp("tenant-owner");
    const org = await server.gql(
      `mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { id } }`,
      { input: { name: `tenant ${owner.id.slice(0, 6)}` } },
      owner.accessToken,
    );
    const organizationId = org.data!.createOrganization.id;
    const inOrg = { "x-organization-id": organizationId };
    const roles = await server.gql(`{ organizationRoles { id name } }`, {}, owner.accessToken, inOrg);
    const memberRole = roles.data!.organizationRoles.find((r: { name: string }) => r.name === "member").id;
    const account = await server.gql(
      `mutation($o: UUID, $r: [UUID!]!) { createServiceAccount(organizationId: $o, input: { name: "tenant robot", roleIds: $r }) { id } }`,
      { o: organizationId, r: [memberRole] },
      owner.accessToken,
      inOrg,
    );
    await server.gql(STEP_UP, { p: PASSWORD }, owner.accessToken);
    const created = await server.gql(
      CREATE_KEY,
      {
        input: {
          name: "tenant",
          permissions: ["org.read"],
          expiresAt: inDays(7),
          serviceAccountId: account.data!.createServiceAccount.id,
        },
      },
      owner.accessToken,
      inOrg,
    );
    const tenantKey = created.data!.createApiKey.secret;
    expect((await introspect(server, admin.accessToken, `Bearer ${tenantKey}`)).status).toBe(401);
    const malformed = `Basic ${Buffer.from("client:%E0%A4%A").toString("base64")}`;
    expect((await introspect(server, admin.accessToken, malformed)).status).toBe(401);
  });

  it("is named in the discovery documents", async () => {
    const metadata = (await (await fetch(`${server.url}/.well-known/oauth-authorization-server`)).json()) as Record<
      string,
      unknown
    >;
    expect(metadata.introspection_endpoint).toBe(`${server.url}/oauth/introspect`);
  });
});
