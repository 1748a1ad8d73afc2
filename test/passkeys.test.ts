/**
 * Passkeys over GraphQL (issue 20), the parts that need no authenticator: the ceremonies' options, no
 * account enumeration, recent re-authentication, the last-way-to-sign-in rule, listing, renaming and
 * removing, and the admin's view. The ceremonies themselves run in a real Chromium
 * (test/browser-passkeys.test.ts). Passkeys that a test needs to exist are written into the database
 * as a registration would leave them: what is read back here never needs their key to sign.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { codeOf, PASSWORD, type SignedIn, startServer, type TestServer } from "./support/server.js";
import { totpCode } from "./support/totp.js";
import { until } from "./support/until.js";

let server: TestServer;
/** A server without KAFKEY_WEBAUTHN_RP_ID: passkeys off. */
let off: TestServer;
const ORIGIN = "http://localhost:3999";

beforeAll(async () => {
  [server, off] = await Promise.all([
    startServer({
      env: { KAFKEY_CORS_ORIGINS: ORIGIN, KAFKEY_WEBAUTHN_RP_ID: "localhost", KAFKEY_WEBAUTHN_RP_NAME: "Kafkey Test" },
    }),
    startServer({ store: "memory" }),
  ]);
});
afterAll(async () => {
  await server?.close();
  await off?.close();
});

const REGISTRATION_OPTIONS = `mutation($p: String) { passkeyRegistrationOptions(currentPassword: $p) }`;
const LOGIN_OPTIONS = `mutation($e: String) { passkeyLoginOptions(email: $e) }`;
const LIST = `{ passkeys { id name createdAt lastUsedAt deviceType backedUp transports } }`;
const RENAME = `mutation($id: UUID!, $n: String!) { renamePasskey(id: $id, name: $n) { id name } }`;
const REMOVE = `mutation($id: UUID!, $p: String) { removePasskey(id: $id, currentPassword: $p) }`;
const USER_PASSKEYS = `query($u: UUID!) { userPasskeys(userId: $u) { id name } }`;
const REMOVE_USER_PASSKEY = `mutation($u: UUID!, $id: UUID!) { removeUserPasskey(userId: $u, id: $id) }`;

/** A passkey row as a registration leaves it (its key material is never used to sign here). */
async function storedPasskey(userId: string, name = "Phone"): Promise<{ id: string; credentialId: string }> {
  const credentialId = randomBytes(32).toString("base64url");
  const row = await server.app.db.prisma.passkey.create({
    data: {
      userId,
      credentialId,
      publicKey: new Uint8Array(randomBytes(77)),
      counter: 0n,
      transports: ["internal", "hybrid"],
      deviceType: "multiDevice",
      backedUp: true,
      name,
    },
  });
  return { id: row.id, credentialId };
}

/** An account that signs in through a provider only: no password (as a social sign-up leaves it). */
async function withoutPassword(user: SignedIn): Promise<void> {
  await server.app.db.prisma.user.update({ where: { id: user.id }, data: { passwordHash: null } });
}

describe("passkeyRegistrationOptions", () => {
  it("answers creation options for the caller: discoverable preferred, verification required, no attestation", async () => {
    const user = await server.signUp("options");
    const existing = await storedPasskey(user.id);
    const result = await server.gql(REGISTRATION_OPTIONS, { p: PASSWORD }, user.accessToken);
    expect(result.errors).toBeUndefined();
    const options = result.data!.passkeyRegistrationOptions;
    expect(options).toMatchObject({
      rp: { id: "localhost", name: "Kafkey Test" },
      user: { name: user.email, displayName: "options" },
      attestation: "none",
      authenticatorSelection: { residentKey: "preferred", userVerification: "required" },
      excludeCredentials: [{ id: existing.credentialId, type: "public-key", transports: ["internal", "hybrid"] }],
    });
    expect(options.challenge).toMatch(/^[\w-]{43}$/);
    // The user handle is the account's id, not its email.
    expect(Buffer.from(options.user.id, "base64url").toString("hex")).toBe(user.id.replaceAll("-", ""));
  });

  it("needs recent re-authentication", async () => {
    const user = await server.signUp("no-reauth");
    const refused = await server.gql(REGISTRATION_OPTIONS, {}, user.accessToken);
    expect(codeOf(refused)).toBe("REAUTHENTICATION_REQUIRED");
    expect(refused.errors![0]!.extensions!.methods).toEqual(["password"]);
    const wrong = await server.gql(REGISTRATION_OPTIONS, { p: "not the password at all" }, user.accessToken);
    expect(codeOf(wrong)).toBe("BAD_USER_INPUT");
    const registration = await server.gql(
      `mutation($r: JSON!) { registerPasskey(response: $r) { id } }`,
      { r: { id: "x" } },
      user.accessToken,
    );
    expect(codeOf(registration)).toBe("REAUTHENTICATION_REQUIRED");
  });

  it("refuses a caller who is not signed in", async () => {
    expect(codeOf(await server.gql(REGISTRATION_OPTIONS, { p: PASSWORD }))).toBe("UNAUTHENTICATED");
  });

  it("refuses an answer that is no registration, or answers no challenge it made", async () => {
    const user = await server.signUp("bad-answer");
    await server.gql(`mutation($p: String) { stepUp(currentPassword: $p) }`, { p: PASSWORD }, user.accessToken);
    const clientDataJSON = Buffer.from(JSON.stringify({ type: "webauthn.create", challenge: "made-up" })).toString(
      "base64url",
    );
    for (const response of [
      "not json",
      { id: "abc" },
      { id: "abc", rawId: "abc", type: "public-key", response: { clientDataJSON, attestationObject: "AAAA" } },
    ]) {
      const result = await server.gql(
        `mutation($r: JSON!) { registerPasskey(response: $r) { id } }`,
        { r: response },
        user.accessToken,
      );
      expect(codeOf(result)).toBe("BAD_USER_INPUT");
    }
    expect((await server.gql(LIST, {}, user.accessToken)).data!.passkeys).toEqual([]);
  });
});

describe("passkeyLoginOptions", () => {
  it("answers usernameless options without an email: any passkey of the site, verification required", async () => {
    const first = await server.gql(LOGIN_OPTIONS, {});
    const second = await server.gql(LOGIN_OPTIONS, {});
    expect(first.errors).toBeUndefined();
    const options = first.data!.passkeyLoginOptions;
    expect(options).toMatchObject({ rpId: "localhost", userVerification: "required" });
    expect(options.allowCredentials ?? []).toEqual([]);
    // Each ceremony has its own challenge.
    expect(second.data!.passkeyLoginOptions.challenge).not.toBe(options.challenge);
  });

  it("answers an account's passkeys for its email", async () => {
    const user = await server.signUp("by-email");
    const passkey = await storedPasskey(user.id);
    const options = (await server.gql(LOGIN_OPTIONS, { e: user.email.toUpperCase() })).data!.passkeyLoginOptions;
    expect(options.allowCredentials).toEqual([
      { id: passkey.credentialId, type: "public-key", transports: ["internal", "hybrid"] },
    ]);
  });

  it("answers the same shape for an unknown address, stable over calls: nobody learns who has an account", async () => {
    const known = await server.signUp("no-passkey");
    const unknown = `nobody-${randomBytes(4).toString("hex")}@example.com`;
    const ask = async (email: string) => (await server.gql(LOGIN_OPTIONS, { e: email })).data!.passkeyLoginOptions;
    const [a, b, c, other] = await Promise.all([ask(unknown), ask(unknown), ask(known.email), ask(`x${unknown}`)]);
    expect(Object.keys(a).sort()).toEqual(Object.keys(c).sort());
    for (const options of [a, c, other]) {
      expect(options.allowCredentials).toEqual([
        { id: expect.stringMatching(/^[\w-]{43}$/), type: "public-key", transports: ["hybrid", "internal"] },
      ]);
    }
    expect(b.allowCredentials).toEqual(a.allowCredentials);
    expect(other.allowCredentials).not.toEqual(a.allowCredentials);
    expect(b.challenge).not.toBe(a.challenge);
  });

  it("answers NOT_FOUND when passkeys are off (no KAFKEY_WEBAUTHN_RP_ID)", async () => {
    expect(codeOf(await off.gql(LOGIN_OPTIONS, {}))).toBe("NOT_FOUND");
    // Listing works: there is nothing to list.
    const user = await off.signUp("off");
    expect((await off.gql(LIST, {}, user.accessToken)).data!.passkeys).toEqual([]);
  });
});

describe("loginWithPasskey and verifyMfa", () => {
  it("refuses an answer that proves nothing with UNAUTHENTICATED, never a server error", async () => {
    const { challenge } = (await server.gql(LOGIN_OPTIONS, {})).data!.passkeyLoginOptions;
    const clientDataJSON = Buffer.from(JSON.stringify({ type: "webauthn.get", challenge, origin: ORIGIN })).toString(
      "base64url",
    );
    const forged = {
      id: "bm9ib2R5",
      rawId: "bm9ib2R5",
      type: "public-key",
      response: { clientDataJSON, authenticatorData: "AAAA", signature: "AAAA" },
    };
    for (const response of [forged, forged, "{}", 42, { id: "x", rawId: "y" }]) {
      const result = await server.gql(`mutation($r: JSON!) { loginWithPasskey(response: $r) { accessToken } }`, {
        r: response,
      });
      expect(codeOf(result)).toBe("UNAUTHENTICATED");
    }
    expect(server.logs.join("\n")).not.toContain('"unexpected error"');
  });

  it("takes exactly one of code and webauthn", async () => {
    const verify = `mutation($t: String!, $c: String, $w: JSON) { verifyMfa(mfaToken: $t, code: $c, webauthn: $w) { accessToken } }`;
    expect(codeOf(await server.gql(verify, { t: "token" }))).toBe("BAD_USER_INPUT");
    expect(codeOf(await server.gql(verify, { t: "token", c: "123456", w: {} }))).toBe("BAD_USER_INPUT");
    expect(codeOf(await server.gql(verify, { t: "token", c: "123456" }))).toBe("UNAUTHENTICATED");
    expect(codeOf(await server.gql(verify, { t: "token", w: { id: "x" } }))).toBe("UNAUTHENTICATED");
  });

  it("counts wrong passkey answers to the second factor like wrong codes: the account locks", async () => {
    const user = await server.signUp("mfa-guesses");
    await storedPasskey(user.id);
    const setup = await server.gql(
      `mutation($p: String) { enableTotp(currentPassword: $p) { secret } }`,
      { p: PASSWORD },
      user.accessToken,
    );
    const secret = setup.data!.enableTotp.secret as string;
    const confirmed = await server.gql(
      `mutation($c: String!) { confirmTotp(code: $c) }`,
      { c: totpCode(secret) },
      user.accessToken,
    );
    expect(confirmed.errors).toBeUndefined();
    const LOGIN = `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { mfaRequired mfaToken } }`;
    const { mfaToken } = (await server.gql(LOGIN, { e: user.email, p: PASSWORD })).data!.login;
    const options = await server.gql(`mutation($t: String!) { passkeyMfaOptions(mfaToken: $t) }`, { t: mfaToken });
    expect(options.data!.passkeyMfaOptions).toMatchObject({
      rpId: "localhost",
      allowCredentials: [expect.any(Object)],
    });
    const verify = `mutation($t: String!, $w: JSON) { verifyMfa(mfaToken: $t, webauthn: $w) { accessToken } }`;
    for (let i = 0; i < 5; i++) {
      expect(codeOf(await server.gql(verify, { t: mfaToken, w: { id: "guess", rawId: "guess" } }))).toBe(
        "UNAUTHENTICATED",
      );
    }
    // The right password no longer gets as far as the second factor.
    const locked = await server.gql(LOGIN, { e: user.email, p: PASSWORD });
    expect(codeOf(locked)).toBe("UNAUTHENTICATED");
  });

  it("refuses passkey MFA options for a token that no login made", async () => {
    const result = await server.gql(`mutation($t: String!) { passkeyMfaOptions(mfaToken: $t) }`, { t: "made-up" });
    expect(codeOf(result)).toBe("UNAUTHENTICATED");
  });
});

describe("passkeys, renamePasskey and removePasskey", () => {
  it("lists the caller's own passkeys, renames and removes one after re-authentication", async () => {
    const user = await server.signUp("manage");
    const someoneElse = await server.signUp("someone-else");
    const passkey = await storedPasskey(user.id, "Phone");
    const theirs = await storedPasskey(someoneElse.id, "Theirs");
    const listed = await server.gql(LIST, {}, user.accessToken);
    expect(listed.data!.passkeys).toEqual([
      {
        id: passkey.id,
        name: "Phone",
        createdAt: expect.any(String),
        lastUsedAt: null,
        deviceType: "multiDevice",
        backedUp: true,
        transports: ["internal", "hybrid"],
      },
    ]);

    const renamed = await server.gql(RENAME, { id: passkey.id, n: "  Work phone " }, user.accessToken);
    expect(renamed.data!.renamePasskey).toEqual({ id: passkey.id, name: "Work phone" });
    expect(codeOf(await server.gql(RENAME, { id: passkey.id, n: "" }, user.accessToken))).toBe("BAD_USER_INPUT");
    expect(codeOf(await server.gql(RENAME, { id: theirs.id, n: "Mine" }, user.accessToken))).toBe("NOT_FOUND");

    expect(codeOf(await server.gql(REMOVE, { id: passkey.id }, user.accessToken))).toBe("REAUTHENTICATION_REQUIRED");
    expect(codeOf(await server.gql(REMOVE, { id: theirs.id, p: PASSWORD }, user.accessToken))).toBe("NOT_FOUND");
    const removed = await server.gql(REMOVE, { id: passkey.id, p: PASSWORD }, user.accessToken);
    expect(removed.data).toEqual({ removePasskey: true });
    expect((await server.gql(LIST, {}, user.accessToken)).data!.passkeys).toEqual([]);
    expect((await server.gql(LIST, {}, someoneElse.accessToken)).data!.passkeys).toHaveLength(1);

    // The user is told, in their inbox.
    let kinds: string[] = [];
    await until(
      () => kinds.includes("auth.passkey_removed"),
      async () => {
        const inbox = await server.gql(
          `{ notifications(first: 50) { edges { node { kind } } } }`,
          {},
          user.accessToken,
        );
        kinds = inbox.data!.notifications.edges.map((e: { node: { kind: string } }) => e.node.kind);
      },
    );
  });

  it("keeps the last way to sign in: no password, no linked account, one passkey (CONFLICT)", async () => {
    const user = await server.signUp("last-way");
    const first = await storedPasskey(user.id, "First");
    const second = await storedPasskey(user.id, "Second");
    // Re-authenticated while the password still existed; the proof lasts 5 minutes for this session.
    await server.gql(`mutation($p: String) { stepUp(currentPassword: $p) }`, { p: PASSWORD }, user.accessToken);
    await withoutPassword(user);

    expect((await server.gql(REMOVE, { id: first.id }, user.accessToken)).data).toEqual({ removePasskey: true });
    const last = await server.gql(REMOVE, { id: second.id }, user.accessToken);
    expect(codeOf(last)).toBe("CONFLICT");
    expect(last.errors![0]!.extensions!.reason).toBe("LAST_SIGN_IN_METHOD");
    expect((await server.gql(LIST, {}, user.accessToken)).data!.passkeys).toEqual([
      expect.objectContaining({ id: second.id }),
    ]);
  });

  it("never makes options for a service account", async () => {
    const user = await server.signUp("service");
    await server.gql(`mutation($p: String) { stepUp(currentPassword: $p) }`, { p: PASSWORD }, user.accessToken);
    await server.app.db.prisma.user.update({ where: { id: user.id }, data: { kind: "service" } });
    const result = await server.gql(REGISTRATION_OPTIONS, {}, user.accessToken);
    expect(codeOf(result)).toBe("FORBIDDEN");
    expect(result.data?.passkeyRegistrationOptions ?? null).toBeNull();
  });
});

describe("an admin and a user's passkeys", () => {
  it("lists and removes a user's passkey with users.update, audited; the user is told", async () => {
    const user = await server.signUp("managed");
    const passkey = await storedPasskey(user.id, "Laptop");
    const admin = await server.loginAdmin();
    const listed = await server.gql(USER_PASSKEYS, { u: user.id }, admin.accessToken);
    expect(listed.data!.userPasskeys).toEqual([{ id: passkey.id, name: "Laptop" }]);

    const removed = await server.gql(REMOVE_USER_PASSKEY, { u: user.id, id: passkey.id }, admin.accessToken);
    expect(removed.data).toEqual({ removeUserPasskey: true });
    expect((await server.gql(USER_PASSKEYS, { u: user.id }, admin.accessToken)).data!.userPasskeys).toEqual([]);
    expect(codeOf(await server.gql(REMOVE_USER_PASSKEY, { u: user.id, id: passkey.id }, admin.accessToken))).toBe(
      "NOT_FOUND",
    );

    await server.app.auditDispatcher.drain();
    const events = await server.gql(
      `query($id: UUID) { auditEvents(filter: { targetId: $id, action: "user.passkey_removed" }) { edges { node { actor { userId } } } } }`,
      { id: user.id },
      admin.accessToken,
    );
    expect(events.data!.auditEvents.edges).toEqual([{ node: { actor: { userId: admin.id } } }]);
    let kinds: string[] = [];
    await until(
      () => kinds.includes("user.passkey_removed"),
      async () => {
        const inbox = await server.gql(
          `{ notifications(first: 50) { edges { node { kind } } } }`,
          {},
          user.accessToken,
        );
        kinds = inbox.data!.notifications.edges.map((e: { node: { kind: string } }) => e.node.kind);
      },
    );
  });

  it("keeps a passwordless user's last passkey from an admin too", async () => {
    const user = await server.signUp("managed-last");
    const passkey = await storedPasskey(user.id);
    await withoutPassword(user);
    const admin = await server.loginAdmin();
    const refused = await server.gql(REMOVE_USER_PASSKEY, { u: user.id, id: passkey.id }, admin.accessToken);
    expect(codeOf(refused)).toBe("CONFLICT");
  });

  it("refuses a user without the permission (FORBIDDEN) and a caller who is not signed in (UNAUTHENTICATED)", async () => {
    const user = await server.signUp("victim");
    const passkey = await storedPasskey(user.id);
    const plain = await server.signUp("plain");
    const list = await server.gql(USER_PASSKEYS, { u: user.id }, plain.accessToken);
    expect(codeOf(list)).toBe("FORBIDDEN");
    expect(list.errors![0]!.extensions!.requiredPermission).toBe("users.update");
    const remove = await server.gql(REMOVE_USER_PASSKEY, { u: user.id, id: passkey.id }, plain.accessToken);
    expect(codeOf(remove)).toBe("FORBIDDEN");
    expect(codeOf(await server.gql(USER_PASSKEYS, { u: user.id }))).toBe("UNAUTHENTICATED");
    expect((await server.gql(LIST, {}, user.accessToken)).data!.passkeys).toHaveLength(1);
  });
});
