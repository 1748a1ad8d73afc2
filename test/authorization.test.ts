/**
 * Who may call what. The operations that need one permission are not listed here: each declares it on
 * its field (@Needs, @NeedsInOrganization), and this matrix is read from the schema's extensions, so a
 * new such field is tested with no line added here. Its calls are made up from the field's arguments:
 * ids name the targets below where the argument says which (`userId`, a role's `id`), else nothing.
 */
import "reflect-metadata";
import {
  type GraphQLField,
  type GraphQLInputType,
  getNamedType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isObjectType,
} from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RESOLVERS } from "../src/api.js";
import { declaredPermissions, type FieldPermission } from "../src/graphql/decorators.js";
import { buildGraphQLSchema } from "../src/graphql/schema.js";
import { codeOf, type GraphQLResponse, startServer, type SignedIn, type TestServer } from "./support/server.js";
import { MailCatcher } from "./support/smtp.js";

let mail: MailCatcher;
let server: TestServer;
let plain: SignedIn;
let ids: { user: string; role: string; permission: string; permissionKey: string };

/** A user, a role and a permission that the operations under test may change or delete. */
async function freshTargets(): Promise<typeof ids> {
  const admin = await server.loginAdmin();
  const suffix = crypto.randomUUID().slice(0, 8);
  const user = await server.signUp("other");
  const { data } = await server.gql(
    `mutation($role: String!, $key: String!) {
      createRole(input: { name: $role }) { id }
      createPermission(input: { key: $key }) { id }
    }`,
    { role: `target-${suffix}`, key: `target${suffix}.read` },
    admin.accessToken,
  );
  return {
    user: user.id,
    role: data!.createRole.id,
    permission: data!.createPermission.id,
    permissionKey: `target${suffix}.read`,
  };
}

beforeAll(async () => {
  mail = new MailCatcher();
  server = await startServer({
    env: { SMTP_URL: await mail.start(), KAFKEY_APP_URL: "https://app.example.com" },
  });
  plain = await server.signUp("plain");
  ids = await freshTargets();
});
afterAll(async () => {
  await server.close();
  await mail.stop();
});

interface Operation {
  name: string;
  query: string;
  variables: () => Record<string, unknown>;
  /** What it needs: null for any signed-in user. */
  permission: string | null;
  /** A platform role the specification ties it to as well. */
  role?: string;
  /** Where the permission counts (declared operations only). */
  in?: FieldPermission["in"];
}

/** The operations with a composed rule (in a `*.rules.ts`), written out. */
const composed: Operation[] = [
  { name: "me", query: `{ me { id } }`, variables: () => ({}), permission: null },
  { name: "myPermissions", query: `{ myPermissions }`, variables: () => ({}), permission: null },
  { name: "can", query: `{ can(permission: "users.read") }`, variables: () => ({}), permission: null },
  {
    name: "updateMe",
    query: `mutation { updateMe(input: { displayName: "X" }) { id } }`,
    variables: () => ({}),
    permission: null,
  },
  {
    name: "users",
    query: `{ users { items { id } } }`,
    variables: () => ({}),
    permission: "users.read",
    role: "admin",
  },
];

/** The target an id argument names: by its own name (`userId`), or an `id` by its field's (`deleteRole`). */
function targetOf(fieldName: string, argName: string): string {
  const kind = argName === "id" ? fieldName : argName;
  if (/role/i.test(kind)) return ids.role;
  if (/permission/i.test(kind)) return ids.permission;
  if (/user/i.test(kind)) return ids.user;
  // Nothing of the kind exists: past the rule, the resolver answers NOT_FOUND.
  return crypto.randomUUID();
}

/** A value of `type` for argument `argName` of `fieldName`: required input fields only. */
function sample(type: GraphQLInputType, fieldName: string, argName: string): unknown {
  if (isNonNullType(type)) return sample(type.ofType, fieldName, argName);
  if (isListType(type)) return [sample(type.ofType, fieldName, argName)];
  if (isInputObjectType(type)) {
    const required = Object.values(type.getFields()).filter(
      (f) => isNonNullType(f.type) && f.defaultValue === undefined,
    );
    return Object.fromEntries(required.map((f) => [f.name, sample(f.type, fieldName, f.name)]));
  }
  if (isEnumType(type)) return type.getValues()[0]!.name;
  switch (type.name) {
    case "UUID":
      return targetOf(fieldName, argName);
    case "String":
      return `matrix-${crypto.randomUUID().slice(0, 8)}`;
    case "Int":
    case "Float":
      return 1;
    case "Boolean":
      return false;
    default:
      throw new Error(`no sample value for ${type.name} (${fieldName}.${argName}): add one here`);
  }
}

/** A call of a root field with its required arguments, selecting only `__typename` of an object. */
function callOf(root: "Query" | "Mutation", field: GraphQLField<unknown, unknown>) {
  const args = field.args.filter((a) => isNonNullType(a.type) && a.defaultValue === undefined);
  const declared = args.map((a) => `$${a.name}: ${String(a.type)}`).join(", ");
  const passed = args.map((a) => `${a.name}: $${a.name}`).join(", ");
  const selection = isObjectType(getNamedType(field.type)) ? " { __typename }" : "";
  return {
    query: `${root === "Query" ? "query" : "mutation"}${declared ? `(${declared})` : ""} { ${field.name}${passed ? `(${passed})` : ""}${selection} }`,
    variables: () => Object.fromEntries(args.map((a) => [a.name, sample(a.type, field.name, a.name)])),
  };
}

const schema = await buildGraphQLSchema(RESOLVERS);
const declaredFields = declaredPermissions(schema);
const declared: Operation[] = declaredFields
  .filter(({ type }) => type === "Query" || type === "Mutation")
  .map(({ type, field, permission }) => ({
    name: field.name,
    ...callOf(type as "Query" | "Mutation", field),
    permission: permission.key,
    in: permission.in,
  }));
const operations = [...composed, ...declared];

/** The refusals among a response's errors (past the rule, a made-up target may well be NOT_FOUND). */
const refusals = (result: GraphQLResponse) =>
  (result.errors ?? [])
    .map((e) => e.extensions?.code)
    .filter((code) => code === "FORBIDDEN" || code === "UNAUTHENTICATED");

describe("the declared permissions", () => {
  it("are all on root fields, which this matrix knows how to call", () => {
    const elsewhere = declaredFields.filter(({ type }) => type !== "Query" && type !== "Mutation");
    expect(elsewhere.map(({ type, field }) => `${type}.${field.name}`)).toEqual([]);
  });

  it("cover what this matrix covered when it was written by hand, and more", () => {
    expect(declared.length).toBeGreaterThanOrEqual(33);
  });
});

describe("every protected operation", () => {
  it.each(operations)("$name without a token answers UNAUTHENTICATED (HTTP 200)", async ({ query, variables }) => {
    const result = await server.gql(query, variables());
    expect(codeOf(result)).toBe("UNAUTHENTICATED");
    expect(result.status).toBe(200);
    expect(result.data ?? null).toBeNull();
  });

  it("the denied mutations changed nothing", async () => {
    const admin = await server.loginAdmin();
    const state = async () =>
      (
        await server.gql(
          `query($id: UUID!) {
            user(id: $id) { displayName status roles { name } }
            roles { name description permissions { key } }
            permissions { key description }
          }`,
          { id: ids.user },
          admin.accessToken,
        )
      ).data;
    const before = await state();
    for (const { query, variables } of operations.filter((o) => o.permission)) {
      expect(codeOf(await server.gql(query, variables(), plain.accessToken))).toBe("FORBIDDEN");
    }
    expect(await state()).toEqual(before);
    expect(before!.user.displayName).toBe("other");
  });

  it.each(operations.filter((o) => o.permission))(
    "$name with a token lacking the permission answers FORBIDDEN naming it (HTTP 200)",
    async ({ query, variables, permission }) => {
      const result = await server.gql(query, variables(), plain.accessToken);
      expect(codeOf(result)).toBe("FORBIDDEN");
      expect(result.errors![0]!.extensions!.requiredPermission).toBe(permission);
      expect(result.status).toBe(200);
    },
  );

  it.each(operations.filter((o) => o.role))(
    "$name with the permission but without its role answers FORBIDDEN (HTTP 200)",
    async ({ query, variables, permission }) => {
      const holder = await server.signUp("role-less");
      await server.grant(holder.id, [permission!]);
      const result = await server.gql(query, variables(), holder.accessToken);
      expect(codeOf(result)).toBe("FORBIDDEN");
      expect(result.status).toBe(200);
    },
  );

  it.each(declared.filter((o) => o.in === "platform"))(
    "$name passes its rule once the caller holds exactly $permission",
    async ({ query, variables, permission }) => {
      ids = await freshTargets();
      const holder = await server.signUp("holder");
      // Changing a permission, or a role's, also needs the permission changed: the holder gets the target's.
      await server.grant(holder.id, [permission!, ids.permissionKey]);
      const result = await server.gql(query, variables(), holder.accessToken);
      expect(refusals(result)).toEqual([]);
    },
  );

  it.each(declared.filter((o) => o.in === "organization"))(
    "$name passes its rule once the caller holds exactly $permission in the organization it acts in",
    async ({ name, query, variables, permission }) => {
      // An organization of its own (the call may delete it), where the holder's one role carries the key.
      const admin = await server.loginAdmin();
      const created = await server.gql(
        `mutation($name: String!) { createOrganization(input: { name: $name }) { id } }`,
        { name: `Matrix ${name}` },
        admin.accessToken,
      );
      const organizationId = created.data!.createOrganization.id;
      const [keyId] = await server.permissionIds([permission!]);
      const role = await server.gql(
        `mutation($o: UUID, $input: CreateRoleInput!) { createOrganizationRole(organizationId: $o, input: $input) { id } }`,
        { o: organizationId, input: { name: `only-${name}`, permissionIds: [keyId] } },
        admin.accessToken,
      );
      const holder = await server.signUp("org-holder");
      const invited = await server.gql(
        `mutation($o: UUID, $input: InviteMemberInput!) { inviteMember(organizationId: $o, input: $input) { id } }`,
        { o: organizationId, input: { email: holder.email, roleId: role.data!.createOrganizationRole.id } },
        admin.accessToken,
      );
      expect(invited.errors).toBeUndefined();
      const token = MailCatcher.token(await mail.latest(holder.email, /^Join /));
      const accepted = await server.gql(
        `mutation($t: String!) { acceptInvitation(token: $t) { id } }`,
        { t: token },
        holder.accessToken,
      );
      expect(accepted.errors).toBeUndefined();

      const result = await server.gql(query, variables(), holder.accessToken, { "x-organization-id": organizationId });
      expect(refusals(result)).toEqual([]);
    },
  );
});

describe("fields of another user", () => {
  it("a user always sees their own email and roles", async () => {
    const { data } = await server.gql(`{ me { email roles { name } } }`, {}, plain.accessToken);
    expect(data!.me).toEqual({ email: plain.email, roles: [{ name: "user" }] });
  });

  it("sign-up shows the new user's own email and roles although the request had no token", async () => {
    const result = await server.gql(
      `mutation { signUp(input: { email: "fresh@example.com", password: "a perfectly long password", displayName: "F" }) { user { email roles { name } } } }`,
    );
    expect(result.data!.signUp.user).toEqual({ email: "fresh@example.com", roles: [{ name: "user" }] });
  });
});
