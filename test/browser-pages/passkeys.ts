/**
 * The page script of passkeys.html, bundled by test/support/chromium.ts's bundle(): a frontend on its
 * own origin that uses passkeys the way an app would, with @simplewebauthn/browser and plain fetch to
 * Kafkey (header mode: the page keeps the access token). Exposed to the tests as `globalThis.passkeys`;
 * each call returns plain values (what reached the page) so that page.evaluate can carry them back.
 */
import { startAuthentication, startRegistration } from "@simplewebauthn/browser";

/** What a call saw: the field's data, or the GraphQL codes of its errors, or a browser error's name. */
export interface Outcome {
  data?: Record<string, unknown> | null;
  codes?: string[];
  browserError?: string;
}

async function gql(kafkey: string, query: string, variables: Record<string, unknown>, token?: string) {
  const response = await fetch(`${kafkey}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as {
    data?: Record<string, unknown> | null;
    errors?: { extensions?: { code?: string } }[];
  };
  return { data: body.data, codes: (body.errors ?? []).map((e) => String(e.extensions?.code)) };
}

const SIGNED_IN = "mfaRequired mfaToken accessToken user { id email }";

/** Runs a ceremony step, turning a browser refusal (NotAllowedError, …) into an Outcome. */
async function ceremony<T>(run: () => Promise<T>): Promise<T | Outcome> {
  try {
    return await run();
  } catch (error) {
    return { browserError: error instanceof Error ? error.name : String(error) };
  }
}

const failed = (value: unknown): value is Outcome =>
  typeof value === "object" && value !== null && ("browserError" in value || "codes" in value);

export const api = {
  /** Adds a passkey to the signed-in account (re-authenticating with the password). */
  async register(kafkey: string, token: string, password: string, name: string): Promise<Outcome> {
    const options = await gql(
      kafkey,
      `mutation($p: String) { passkeyRegistrationOptions(currentPassword: $p) }`,
      { p: password },
      token,
    );
    if (options.codes.length) return options;
    const response = await ceremony(() =>
      startRegistration({ optionsJSON: options.data!.passkeyRegistrationOptions as never }),
    );
    if (failed(response)) return response;
    return gql(
      kafkey,
      `mutation($r: JSON!, $n: String) { registerPasskey(response: $r, name: $n) { id name deviceType backedUp transports } }`,
      { r: response, n: name },
      token,
    );
  },

  /**
   * Signs in with a passkey, typing nothing: usernameless (no email). The ceremony begins at `kafkey`
   * and ends at `finishAt` (another instance, say); `replay` sends the same answer once more after it.
   */
  async signIn(kafkey: string, finishAt = kafkey, replay = ""): Promise<Outcome & { replayed?: Outcome }> {
    const options = await gql(kafkey, `mutation { passkeyLoginOptions }`, {});
    if (options.codes.length) return options;
    const response = await ceremony(() =>
      startAuthentication({ optionsJSON: options.data!.passkeyLoginOptions as never }),
    );
    if (failed(response)) return response;
    const login = `mutation($r: JSON!) { loginWithPasskey(response: $r) { ${SIGNED_IN} } }`;
    const first = await gql(finishAt, login, { r: response });
    return replay ? { ...first, replayed: await gql(finishAt, login, { r: response }) } : first;
  },

  /** Signs in with the password, then answers the second factor with a passkey. */
  async passwordThenPasskey(kafkey: string, email: string, password: string): Promise<Outcome> {
    const login = await gql(
      kafkey,
      `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { ${SIGNED_IN} } }`,
      { e: email, p: password },
    );
    const first = login.data?.login as { mfaRequired: boolean; mfaToken: string } | undefined;
    if (!first?.mfaRequired) return login;
    const options = await gql(kafkey, `mutation($t: String!) { passkeyMfaOptions(mfaToken: $t) }`, {
      t: first.mfaToken,
    });
    if (options.codes.length) return options;
    const response = await ceremony(() =>
      startAuthentication({ optionsJSON: options.data!.passkeyMfaOptions as never }),
    );
    if (failed(response)) return response;
    return gql(kafkey, `mutation($t: String!, $w: JSON) { verifyMfa(mfaToken: $t, webauthn: $w) { ${SIGNED_IN} } }`, {
      t: first.mfaToken,
      w: response,
    });
  },

  /** Signs out the session of `token`. */
  signOut(kafkey: string, token: string): Promise<Outcome> {
    return gql(kafkey, `mutation { logout }`, {}, token);
  },
};

export type PasskeyPageApi = typeof api;

(globalThis as unknown as { passkeys: PasskeyPageApi }).passkeys = api;
