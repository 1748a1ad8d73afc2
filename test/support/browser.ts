/**
 * A browser for redirect flows: follows 3xx responses one by one with real HTTP requests, keeping the
 * cookies each host sets, and stops at the first URL under `stopAt` (the frontend, which does not run).
 */
export class Browser {
  private readonly jar = new Map<string, Map<string, string>>();

  /** @returns the frontend URL the flow ended at, or the response that ended it elsewhere (an error page). */
  async visit(start: string, stopAt: string): Promise<{ url: URL } | { response: Response; url: URL }> {
    let url = new URL(start);
    for (let hop = 0; hop < 20; hop++) {
      if (url.toString().startsWith(stopAt)) return { url };
      const response = await fetch(url, { redirect: "manual", headers: this.cookieHeader(url) });
      this.keep(url, response);
      const location = response.headers.get("location");
      if (response.status < 300 || response.status >= 400 || !location) return { response, url };
      url = new URL(location, url);
    }
    throw new Error("too many redirects");
  }

  /** One request, without following its redirect. */
  async get(url: string): Promise<Response> {
    const target = new URL(url);
    const response = await fetch(target, { redirect: "manual", headers: this.cookieHeader(target) });
    this.keep(target, response);
    return response;
  }

  private cookieHeader(url: URL): Record<string, string> {
    const cookies = this.jar.get(url.host);
    if (!cookies || cookies.size === 0) return {};
    return { cookie: [...cookies].map(([name, value]) => `${name}=${value}`).join("; ") };
  }

  private keep(url: URL, response: Response): void {
    for (const header of response.headers.getSetCookie()) {
      const [pair] = header.split(";");
      const [name, ...value] = pair!.split("=");
      const cookies = this.jar.get(url.host) ?? new Map<string, string>();
      const maxAge = /max-age=(\d+)/i.exec(header)?.[1];
      if (maxAge === "0" || value.join("=") === "") cookies.delete(name!.trim());
      else cookies.set(name!.trim(), value.join("="));
      this.jar.set(url.host, cookies);
    }
  }
}
