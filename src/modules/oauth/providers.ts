import { AuthorizationCode } from "simple-oauth2";
import type { Config, OAuthProviderConfig } from "../../config.js";
import { JwksKeys, verifyIdToken } from "./id-token.js";
import { OAuthErrorCode, OAuthFlowError } from "./oauth.errors.js";

export const PROVIDER_NAMES = ["google", "github"] as const;
export type ProviderName = (typeof PROVIDER_NAMES)[number];

/** Who signed in at the provider. The provider's user id is the identity; the email is a claim. */
export interface ExternalIdentity {
  providerUserId: string;
  email: string | null;
  emailVerified: boolean;
  displayName: string;
}

export interface AuthorizeParams {
  callbackUrl: string;
  state: string;
  codeChallenge: string;
  nonce: string;
}

export interface ExchangeParams {
  code: string;
  callbackUrl: string;
  codeVerifier: string;
  nonce: string;
}

/** One sign-in provider: where to send the browser, and how to learn who came back. */
export interface OAuthProvider {
  readonly name: ProviderName;
  authorizeUrl(params: AuthorizeParams): string;
  /** Exchanges the code (with the PKCE verifier) and reads the identity. Throws OAuthFlowError. */
  identify(params: ExchangeParams): Promise<ExternalIdentity>;
}

function oauthClient(config: OAuthProviderConfig): AuthorizationCode {
  const authorize = new URL(config.authorizeUrl);
  const token = new URL(config.tokenUrl);
  return new AuthorizationCode({
    client: { id: config.clientId!, secret: config.clientSecret! },
    auth: {
      authorizeHost: authorize.origin,
      authorizePath: authorize.pathname,
      tokenHost: token.origin,
      tokenPath: token.pathname,
    },
    options: { authorizationMethod: "body" },
    http: { json: "strict", timeout: 10_000 },
  });
}

/** Trades the code for the provider's tokens; any refusal is the provider's error, not ours. */
async function tokensFor(client: AuthorizationCode, params: ExchangeParams): Promise<Record<string, unknown>> {
  try {
    const { token } = await client.getToken({
      code: params.code,
      redirect_uri: params.callbackUrl,
      code_verifier: params.codeVerifier,
    } as Parameters<AuthorizationCode["getToken"]>[0]);
    if (typeof token.error === "string") throw new Error(`token endpoint: ${token.error}`);
    return token;
  } catch (error) {
    // simple-oauth2 throws on an HTTP error and keeps the provider's answer aside: its `error` says why.
    const answer = (error as { data?: { payload?: unknown } }).data?.payload as { error?: unknown } | undefined;
    const reason = typeof answer?.error === "string" ? ` (${answer.error.slice(0, 100)})` : "";
    throw new OAuthFlowError(
      OAuthErrorCode.PROVIDER_ERROR,
      `code exchange failed: ${(error as Error).message}${reason}`,
    );
  }
}

/** Google, through OpenID Connect: the identity comes from the verified ID token. */
class GoogleProvider implements OAuthProvider {
  readonly name = "google";
  private readonly client: AuthorizationCode;
  private readonly keys: JwksKeys;

  constructor(private readonly config: Config["oauth"]["google"]) {
    this.client = oauthClient(config);
    this.keys = new JwksKeys(config.jwksUrl);
  }

  authorizeUrl(params: AuthorizeParams): string {
    return this.client.authorizeURL({
      redirect_uri: params.callbackUrl,
      scope: this.config.scopes,
      state: params.state,
      code_challenge: params.codeChallenge,
      code_challenge_method: "S256",
      nonce: params.nonce,
    } as Parameters<AuthorizationCode["authorizeURL"]>[0]);
  }

  async identify(params: ExchangeParams): Promise<ExternalIdentity> {
    const tokens = await tokensFor(this.client, params);
    if (typeof tokens.id_token !== "string") throw new OAuthFlowError(OAuthErrorCode.PROVIDER_ERROR, "no ID token");
    const claims = await verifyIdToken(tokens.id_token, this.keys, {
      issuer: this.config.issuer,
      audience: this.config.clientId!,
      nonce: params.nonce,
    });
    return {
      providerUserId: claims.sub,
      email: claims.email?.toLowerCase() ?? null,
      emailVerified: claims.email_verified === true || claims.email_verified === "true",
      displayName: claims.name ?? claims.email ?? claims.sub,
    };
  }
}

interface GitHubEmail {
  email: string;
  primary: boolean;
  verified: boolean;
}

/** GitHub, through OAuth 2: the identity comes from its API (`/user`, `/user/emails`). */
class GitHubProvider implements OAuthProvider {
  readonly name = "github";
  private readonly client: AuthorizationCode;

  constructor(private readonly config: Config["oauth"]["github"]) {
    this.client = oauthClient(config);
  }

  authorizeUrl(params: AuthorizeParams): string {
    return this.client.authorizeURL({
      redirect_uri: params.callbackUrl,
      scope: this.config.scopes.join(" "),
      state: params.state,
      code_challenge: params.codeChallenge,
      code_challenge_method: "S256",
    } as Parameters<AuthorizationCode["authorizeURL"]>[0]);
  }

  async identify(params: ExchangeParams): Promise<ExternalIdentity> {
    const tokens = await tokensFor(this.client, params);
    if (typeof tokens.access_token !== "string")
      throw new OAuthFlowError(OAuthErrorCode.PROVIDER_ERROR, "no access token");
    const [user, emails] = await Promise.all([
      this.api<{ id: number; login: string; name: string | null }>("/user", tokens.access_token),
      this.api<GitHubEmail[]>("/user/emails", tokens.access_token),
    ]);
    if (typeof user.id !== "number")
      throw new OAuthFlowError(OAuthErrorCode.PROVIDER_ERROR, "GitHub user without an id");
    const primary = Array.isArray(emails) ? emails.find((e) => e.primary) : undefined;
    return {
      providerUserId: String(user.id),
      email: primary?.email.toLowerCase() ?? null,
      emailVerified: primary?.verified === true,
      displayName: user.name ?? user.login,
    };
  }

  private async api<T>(path: string, accessToken: string): Promise<T> {
    const response = await fetch(`${this.config.apiUrl}${path}`, {
      headers: {
        authorization: `Bearer ${accessToken}`,
        accept: "application/vnd.github+json",
        "user-agent": "kafkey",
      },
      signal: AbortSignal.timeout(10_000),
    });
    if (!response.ok)
      throw new OAuthFlowError(OAuthErrorCode.PROVIDER_ERROR, `GitHub ${path} answered ${response.status}`);
    return (await response.json()) as T;
  }
}

/** The providers with a client id and secret configured; the others are off. */
export function configuredProviders(config: Config["oauth"]): Map<ProviderName, OAuthProvider> {
  const providers = new Map<ProviderName, OAuthProvider>();
  if (config.google.clientId) providers.set("google", new GoogleProvider(config.google));
  if (config.github.clientId) providers.set("github", new GitHubProvider(config.github));
  return providers;
}
