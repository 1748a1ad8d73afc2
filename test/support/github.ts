import { createHash, randomUUID } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";

export interface GitHubUser {
  id: number;
  login: string;
  name: string | null;
  emails: { email: string; primary: boolean; verified: boolean }[];
}

/**
 * A small HTTP server speaking GitHub's OAuth and API shapes: `/login/oauth/authorize` approves at
 * once, `/login/oauth/access_token` trades a code once and only with the PKCE verifier of its
 * challenge, `/user` and `/user/emails` describe `user`.
 */
export class FakeGitHub {
  /** Who signs in next. */
  user: GitHubUser = { id: 1, login: "octocat", name: "Octo Cat", emails: [] };
  /** Every token request, for tests that look at what the client sent. */
  readonly tokenRequests: Record<string, string>[] = [];
  private readonly codes = new Map<string, { challenge: string; user: GitHubUser; redirectUri: string }>();
  private readonly tokens = new Map<string, GitHubUser>();
  private readonly server = http.createServer((request, response) => void this.handle(request, response));
  url = "";

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async handle(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const url = new URL(request.url ?? "/", this.url);
    const json = (status: number, body: unknown): void => {
      response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    };
    if (url.pathname === "/login/oauth/authorize") {
      const redirectUri = url.searchParams.get("redirect_uri")!;
      const code = randomUUID();
      this.codes.set(code, { challenge: url.searchParams.get("code_challenge") ?? "", user: this.user, redirectUri });
      const back = new URL(redirectUri);
      back.searchParams.set("code", code);
      back.searchParams.set("state", url.searchParams.get("state") ?? "");
      response.writeHead(302, { location: back.toString() }).end();
      return;
    }
    if (url.pathname === "/login/oauth/access_token" && request.method === "POST") {
      const chunks: Buffer[] = [];
      for await (const chunk of request) chunks.push(chunk as Buffer);
      const text = Buffer.concat(chunks).toString();
      const body = request.headers["content-type"]?.includes("json")
        ? (JSON.parse(text) as Record<string, string>)
        : Object.fromEntries(new URLSearchParams(text));
      this.tokenRequests.push(body);
      const grant = this.codes.get(body.code ?? "");
      this.codes.delete(body.code ?? "");
      const verified =
        grant !== undefined &&
        typeof body.code_verifier === "string" &&
        createHash("sha256").update(body.code_verifier).digest("base64url") === grant.challenge &&
        body.redirect_uri === grant.redirectUri;
      // GitHub answers 200 with an error field.
      if (!verified) return json(200, { error: "bad_verification_code" });
      const token = randomUUID();
      this.tokens.set(token, grant.user);
      return json(200, { access_token: token, token_type: "bearer", scope: "read:user,user:email" });
    }
    const user = this.tokens.get(request.headers.authorization?.replace(/^Bearer /, "") ?? "");
    if (!user) return json(401, { message: "Bad credentials" });
    if (url.pathname === "/user") return json(200, { id: user.id, login: user.login, name: user.name });
    if (url.pathname === "/user/emails") return json(200, user.emails);
    return json(404, { message: "Not Found" });
  }
}
