import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { CONFIG_VARIABLES, ConfigError, loadConfig } from "../src/config.js";

describe("configuration", () => {
  it("has working defaults for a bare development start", () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ env: "development", port: 4000, migrateOnStart: true, bodyLimitBytes: 102_400 });
    expect(config.database.url).toBeUndefined();
    expect(config.jwt.accessTokenTtlSeconds).toBe(900);
    expect(config.refreshTokenTtlSeconds).toBe(30 * 24 * 3600);
    expect(config.argon2).toEqual({ memoryKib: 19_456, timeCost: 2, parallelism: 1 });
  });

  it.each([
    [{ NODE_ENV: "production" }, "KAFKEY_ENCRYPTION_KEY"],
    [{ KAFKEY_ENCRYPTION_KEY: "c2hvcnQ=" }, "KAFKEY_ENCRYPTION_KEY"],
    [{ SMTP_URL: "http://mail" }, "SMTP_URL"],
    [{ PORT: "eighty" }, "PORT"],
    [{ DATABASE_POOL_SIZE: "0" }, "DATABASE_POOL_SIZE"],
    [{ KAFKEY_MIGRATE_ON_START: "maybe" }, "KAFKEY_MIGRATE_ON_START"],
    [{ NODE_ENV: "staging" }, "NODE_ENV"],
    [{ DATABASE_URL: "mysql://x" }, "DATABASE_URL"],
    [{ MONGODB_URL: "postgres://x" }, "MONGODB_URL"],
    [{ SENTRY_DSN: "sentry.example.com/1" }, "SENTRY_DSN"],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: "collector:4318" }, "OTEL_EXPORTER_OTLP_ENDPOINT"],
    [{ KAFKEY_ADMIN_EMAIL: "a@b.c" }, "KAFKEY_ADMIN_PASSWORD"],
    [{ KAFKEY_WORKERS: "2" }, "KAFKEY_WORKERS"],
    [{ KAFKEY_WORKERS: "2", DATABASE_URL: "postgres://db/kafkey" }, "REDIS_URL"],
    [{ KAFKEY_ORGANIZATION_CREATION: "everyone" }, "KAFKEY_ORGANIZATION_CREATION"],
    [{ REDIS_URL: "cache:6379" }, "REDIS_URL"],
    [{ REDIS_SENTINELS: "sentinel-1" }, "REDIS_SENTINELS"],
    [{ REDIS_CLUSTER_NODES: "redis-1:6379,redis-2:99999" }, "REDIS_CLUSTER_NODES"],
    [{ REDIS_URL: "redis://cache:6379", REDIS_SENTINELS: "s:26379" }, "REDIS_SENTINELS"],
    [{ REDIS_URL: "redis://cache:6379", REDIS_PASSWORD: "secret" }, "REDIS_PASSWORD"],
    [{ REDIS_SENTINEL_MASTER: "mymaster" }, "REDIS_SENTINELS"],
    [{ REDIS_CLUSTER_NODES: "r:7000", REDIS_SENTINEL_PASSWORD: "pw" }, "REDIS_SENTINELS"],
    [{ REDIS_PASSWORD: "secret" }, "REDIS_PASSWORD"],
  ])("refuses %j, naming %s", (env, variable) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(variable);
  });

  it("reads where Redis is: one node, a master through Sentinel, or a Cluster", () => {
    expect(loadConfig({}).redis.topology).toBeUndefined();
    expect(loadConfig({ REDIS_URL: "redis://cache:6379" }).redis.topology).toEqual({
      kind: "node",
      url: "redis://cache:6379",
    });
    expect(
      loadConfig({ REDIS_SENTINELS: "s-1:26379, s-2:26380", REDIS_SENTINEL_MASTER: "kafkey", REDIS_PASSWORD: "pw" })
        .redis.topology,
    ).toEqual({
      kind: "sentinel",
      sentinels: [
        { host: "s-1", port: 26379 },
        { host: "s-2", port: 26380 },
      ],
      master: "kafkey",
      password: "pw",
      sentinelPassword: undefined,
    });
    expect(loadConfig({ REDIS_CLUSTER_NODES: "10.0.0.1:7000,[::1]:7001" }).redis.topology).toEqual({
      kind: "cluster",
      nodes: [
        { host: "10.0.0.1", port: 7000 },
        { host: "::1", port: 7001 },
      ],
      password: undefined,
    });
    // Workers share Redis whichever way it is reached.
    expect(
      loadConfig({ KAFKEY_WORKERS: "2", DATABASE_URL: "postgres://db/kafkey", REDIS_CLUSTER_NODES: "r:7000" }).workers,
    ).toBe(2);
  });

  it("starts in production with an encryption key", () => {
    const config = loadConfig({
      NODE_ENV: "production",
      KAFKEY_ENCRYPTION_KEY: Buffer.alloc(32, 1).toString("base64"),
    });
    expect(config.env).toBe("production");
  });
});

describe("KAFKEY_CORS_ORIGINS", () => {
  it("is empty by default (same-origin only) and normalises each origin to scheme://host[:port]", () => {
    expect(loadConfig({}).corsOrigins).toEqual([]);
    const config = loadConfig({
      KAFKEY_CORS_ORIGINS: "HTTPS://App.Example.com:443/, http://localhost:3000 ,http://localhost:3000",
    });
    expect(config.corsOrigins).toEqual(["https://app.example.com", "http://localhost:3000"]);
  });

  it('refuses "*": credentials are allowed', () => {
    expect(() => loadConfig({ KAFKEY_CORS_ORIGINS: "*" })).toThrow(ConfigError);
    expect(() => loadConfig({ KAFKEY_CORS_ORIGINS: "https://a.example, *" })).toThrow(/^KAFKEY_CORS_ORIGINS .*\*/);
  });

  it.each(["https://app.example.com/path", "ftp://app.example.com", "app.example.com", "https://a.example?x=1"])(
    'refuses "%s": not an http(s) origin',
    (value) => {
      expect(() => loadConfig({ KAFKEY_CORS_ORIGINS: value })).toThrow(ConfigError);
      expect(() => loadConfig({ KAFKEY_CORS_ORIGINS: value })).toThrow(/^KAFKEY_CORS_ORIGINS /);
    },
  );

  it("refuses an OAuth return page whose origin may not call Kafkey (exchangeOAuthCode)", () => {
    const env = {
      KAFKEY_CORS_ORIGINS: "https://app.example.com",
      KAFKEY_OAUTH_REDIRECT_ALLOWLIST: "https://app.example.com/done,https://other.example.com/oauth/done",
    };
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(
      /KAFKEY_CORS_ORIGINS.*https:\/\/other\.example\.com.*KAFKEY_OAUTH_REDIRECT_ALLOWLIST/,
    );
    // Allowed, Kafkey's own (KAFKEY_PUBLIC_URL), or no CORS list at all (same-origin only): consistent.
    expect(() =>
      loadConfig({ ...env, KAFKEY_CORS_ORIGINS: "https://app.example.com,https://other.example.com" }),
    ).not.toThrow();
    expect(() => loadConfig({ ...env, KAFKEY_PUBLIC_URL: "https://other.example.com" })).not.toThrow();
    expect(() => loadConfig({ ...env, KAFKEY_CORS_ORIGINS: "" })).not.toThrow();
  });
});

describe("configuration schema", () => {
  const root = path.resolve(import.meta.dirname, "..");
  const read = (file: string) => fs.readFileSync(path.join(root, file), "utf8");

  it("names each variable once", () => {
    expect(CONFIG_VARIABLES.length).toBeGreaterThan(80);
    expect([...new Set(CONFIG_VARIABLES)]).toEqual(CONFIG_VARIABLES);
  });

  it("documents every variable in README.md's configuration tables and in .env.example", () => {
    const readme = read("README.md");
    const tables = readme.slice(readme.indexOf("<!-- configuration:begin"), readme.indexOf("<!-- configuration:end"));
    const rows = tables.split("\n").filter((line) => line.startsWith("| `"));
    const envLines = read(".env.example").split("\n");
    for (const name of CONFIG_VARIABLES) {
      expect(
        rows.filter((row) => row.startsWith(`| \`${name}\` `)),
        name,
      ).toHaveLength(1);
      // An entry is `NAME=value` or `# NAME=value` with one word or a quoted value; prose is not.
      const entry = new RegExp(`^(# )?${name}=("[^"]*"|\\S*)$`);
      expect(
        envLines.filter((line) => entry.test(line)),
        name,
      ).toHaveLength(1);
    }
    expect(rows).toHaveLength(CONFIG_VARIABLES.length);
  });

  it("names the variable and its value in a parse error, and every bad variable at once", () => {
    expect(() => loadConfig({ PORT: "eighty" })).toThrow('PORT must be a whole number from 0 to 65535, got "eighty"');
    expect(() => loadConfig({ LOG_LEVEL: "loud" })).toThrow(
      'LOG_LEVEL must be one of error, warn, info, debug, silent, got "loud"',
    );
    expect(() => loadConfig({ PORT: "eighty", KAFKEY_TRUST_PROXY: "maybe", SMTP_URL: "http://mail" })).toThrow(
      /^PORT .*; KAFKEY_TRUST_PROXY must be true or false, got "maybe"; SMTP_URL must be an smtp:\/\/ or smtps:\/\/ URL$/,
    );
  });

  it("refuses the CHANGE-ME placeholders that .env.example sets", () => {
    const placeholders = Object.fromEntries(
      read(".env.example")
        .split("\n")
        .map((line) => /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line))
        .filter((match) => match !== null)
        .map((match) => [match[1]!, match[2]!]),
    );
    expect(placeholders).toEqual({ KAFKEY_ENCRYPTION_KEY: "CHANGE-ME" });
    for (const env of [{}, { NODE_ENV: "production" }]) {
      expect(() => loadConfig({ ...env, ...placeholders })).toThrow(ConfigError);
      expect(() => loadConfig({ ...env, ...placeholders })).toThrow(/KAFKEY_ENCRYPTION_KEY/);
    }
  });

  it("uses the documented default when a variable is empty", () => {
    const config = loadConfig({ PORT: "", KAFKEY_REDIS_PREFIX: " ", SENTRY_ENVIRONMENT: "", NODE_ENV: "test" });
    expect(config.port).toBe(4000);
    expect(config.redis.prefix).toBe("kafkey:");
    expect(config.sentry.environment).toBe("test");
  });
});

describe("KAFKEY_WEBAUTHN_RP_ID", () => {
  it("leaves passkeys off when unset, whatever the origins", () => {
    expect(loadConfig({ KAFKEY_CORS_ORIGINS: "http://127.0.0.1:3000" }).webauthn).toEqual({
      rpId: undefined,
      rpName: "Kafkey",
    });
  });

  it("accepts an RP id that is the host, or a parent domain of the host, of every origin passkeys are used on", () => {
    const config = loadConfig({
      KAFKEY_WEBAUTHN_RP_ID: "Example.com",
      KAFKEY_WEBAUTHN_RP_NAME: "Example",
      KAFKEY_PUBLIC_URL: "https://id.example.com",
      KAFKEY_CORS_ORIGINS: "https://example.com,https://app.example.com",
    });
    expect(config.webauthn).toEqual({ rpId: "example.com", rpName: "Example" });
    expect(() =>
      loadConfig({ KAFKEY_WEBAUTHN_RP_ID: "localhost", KAFKEY_CORS_ORIGINS: "http://localhost:3000" }),
    ).not.toThrow();
  });

  it.each([
    [
      "an origin on another domain",
      { KAFKEY_CORS_ORIGINS: "https://app.example.com,https://app.other.test" },
      "https://app.other.test",
    ],
    [
      "Kafkey's own origin on another domain",
      { KAFKEY_PUBLIC_URL: "https://id.other.test", KAFKEY_CORS_ORIGINS: "https://app.example.com" },
      "https://id.other.test",
    ],
    ["a look-alike domain", { KAFKEY_CORS_ORIGINS: "https://notexample.com" }, "https://notexample.com"],
    ["plain http off localhost", { KAFKEY_CORS_ORIGINS: "http://app.example.com" }, "http://app.example.com"],
  ])("refuses %s, naming it", (_name, env, named) => {
    const load = () => loadConfig({ KAFKEY_WEBAUTHN_RP_ID: "example.com", ...env });
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(/^KAFKEY_WEBAUTHN_RP_ID .*must be the host, or a parent domain/);
    expect(load).toThrow(named);
  });

  it("refuses an RP id without the origins it is for", () => {
    expect(() => loadConfig({ KAFKEY_WEBAUTHN_RP_ID: "example.com" })).toThrow(
      /^KAFKEY_WEBAUTHN_RP_ID needs .*KAFKEY_PUBLIC_URL or KAFKEY_CORS_ORIGINS/,
    );
  });

  it.each(["127.0.0.1", "https://example.com", "example.com:443", "com", "exa mple.com"])(
    'refuses "%s": not a registrable domain name',
    (rpId) => {
      const load = () => loadConfig({ KAFKEY_WEBAUTHN_RP_ID: rpId, KAFKEY_CORS_ORIGINS: "https://app.example.com" });
      expect(load).toThrow(ConfigError);
      expect(load).toThrow(/^KAFKEY_WEBAUTHN_RP_ID must be/);
    },
  );
});
