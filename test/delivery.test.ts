// The delivery files (docker-compose.yml, .env.example, Dockerfile, the CI workflow) checked with real
// parsers: no Docker engine runs where the suite does, so this is what catches a broken file before CI.
import fs from "node:fs";
import path from "node:path";
import { validateWorkflow } from "@action-validator/core";
import { DockerfileParser, type Instruction } from "dockerfile-ast";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { CONFIG_VARIABLES } from "../src/config.js";

const root = path.resolve(import.meta.dirname, "..");
const read = (file: string) => fs.readFileSync(path.join(root, file), "utf8");

/**
 * Variables .env.example may hold although src/config.ts does not read them yet, each with the
 * feature that will. Remove a name once CONFIG_VARIABLES has it.
 */
/** Variables .env.example documents ahead of the feature that reads them (none at the moment). */
const UPCOMING: readonly string[] = [];

/**
 * The names .env.example documents: `NAME=value` lines, and commented `# NAME=value` lines whose value
 * is one word or quoted (prose in comments is not an entry).
 */
function envExampleNames(text: string): string[] {
  return text
    .split("\n")
    .map((line) => (/^([A-Z][A-Z0-9_]*)=/.exec(line) ?? /^#\s?([A-Z][A-Z0-9_]*)=("[^"]*"|\S*)$/.exec(line))?.[1])
    .filter((name): name is string => name !== undefined);
}

/** Names interpolated as `${NAME}`, `${NAME:-default}`, `${NAME:?error}` or `$NAME` (not `$$NAME`). */
function interpolatedNames(text: string): string[] {
  const names = new Set<string>();
  for (const match of text.matchAll(/(?<!\$)\$(?:\{([A-Za-z_][A-Za-z0-9_]*)[^}]*\}|([A-Za-z_][A-Za-z0-9_]*))/g)) {
    names.add((match[1] ?? match[2])!);
  }
  return [...names];
}

/** A compose name (`a`), list (`- a`) or map (`a: ...`) of names, as names. */
function namesOf(value: unknown): string[] {
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.map(String);
  return value && typeof value === "object" ? Object.keys(value) : [];
}

/** The source of a compose volume mount, short (`name:/path`) or long (`{ source: name }`) syntax. */
function volumeSource(mount: unknown): string | undefined {
  if (typeof mount === "string") return mount.split(":")[0];
  return (mount as { source?: string } | null)?.source;
}

describe("docker-compose.yml", () => {
  const compose = parse(read("docker-compose.yml"));
  const services = compose.services as Record<string, any>;
  const envExample = envExampleNames(read(".env.example"));

  it("runs the api with postgres:17, redis:7 and mongo:8.0", () => {
    expect(Object.keys(services).sort()).toEqual(["api", "mongo", "postgres", "redis"]);
    expect(services.api.build).toBeDefined();
    expect(services.postgres.image).toBe("postgres:17");
    expect(services.redis.image).toBe("redis:7");
    expect(services.mongo.image).toBe("mongo:8.0");
  });

  it("gives every service a healthcheck with a test command", () => {
    for (const [name, service] of Object.entries(services)) {
      const test = service.healthcheck?.test;
      expect(test, name).toBeDefined();
      const command = Array.isArray(test) ? test : ["CMD-SHELL", test];
      expect(["CMD", "CMD-SHELL"], name).toContain(command[0]);
      expect(command.slice(1).join(" ").trim().length, name).toBeGreaterThan(0);
    }
    expect(services.api.healthcheck.test.join(" ")).toContain("/health/live");
    expect(services.postgres.healthcheck.test.join(" ")).toContain("pg_isready");
    expect(services.redis.healthcheck.test.join(" ")).toContain("redis-cli ping");
    expect(services.mongo.healthcheck.test.join(" ")).toMatch(/mongosh .*db\.adminCommand\('ping'\)/);
  });

  it("starts the api once postgres, redis and mongo are healthy", () => {
    const dependsOn = services.api.depends_on as Record<string, { condition?: string }>;
    expect(Object.keys(dependsOn).sort()).toEqual(["mongo", "postgres", "redis"]);
    for (const [name, dependency] of Object.entries(dependsOn)) {
      expect(dependency.condition, name).toBe("service_healthy");
    }
  });

  it("points the api at the services and publishes port 4000", () => {
    const environment = services.api.environment as Record<string, string>;
    expect(environment.DATABASE_URL).toMatch(/^postgresql:\/\/[^@]+@postgres:5432\//);
    expect(environment.REDIS_URL).toMatch(/^redis:\/\/redis:6379/);
    expect(environment.MONGODB_URL).toMatch(/^mongodb:\/\/mongo:27017/);
    expect(services.api.ports).toContain("4000:4000");
    expect(namesOf(services.api.env_file)).toContain(".env");
  });

  it("keeps every service's data in a named volume declared at the top level", () => {
    const declared = namesOf(compose.volumes);
    const dataPaths: Record<string, string> = {
      api: "/data",
      postgres: "/var/lib/postgresql/data",
      redis: "/data",
      mongo: "/data/db",
    };
    for (const [name, service] of Object.entries(services)) {
      const mounts = (service.volumes ?? []) as unknown[];
      const named = mounts.filter((mount) => declared.includes(volumeSource(mount) ?? ""));
      expect(named.length, name).toBeGreaterThan(0);
      expect(
        mounts.some((mount) => typeof mount === "string" && mount.endsWith(`:${dataPaths[name]}`)),
        name,
      ).toBe(true);
    }
  });

  it("puts every service on the one declared network", () => {
    const networks = namesOf(compose.networks);
    expect(networks).toHaveLength(1);
    for (const [name, service] of Object.entries(services)) {
      expect(namesOf(service.networks), name).toEqual(networks);
    }
  });

  it("documents in .env.example every variable it interpolates or sets for the api", () => {
    const used = [...interpolatedNames(read("docker-compose.yml")), ...Object.keys(services.api.environment)];
    expect(used.length).toBeGreaterThan(0);
    expect(used.filter((name) => !envExample.includes(name))).toEqual([]);
  });
});

describe("docker-compose.scale.yml", () => {
  const reset = { tag: "!reset", collection: "seq" as const, resolve: () => [] };
  const scale = parse(read("docker-compose.scale.yml"), { customTags: [reset] }) as { services: Record<string, any> };
  const nginx = read("deploy/nginx.conf");

  it("puts the api replicas behind an nginx proxy that alone publishes port 4000", () => {
    expect(Object.keys(scale.services).sort()).toEqual(["api", "proxy"]);
    expect(scale.services.api.ports).toEqual([]);
    expect(scale.services.api.environment.KAFKEY_TRUST_PROXY).toBe("true");
    expect(scale.services.proxy.image).toMatch(/^nginx:/);
    expect(scale.services.proxy.ports).toEqual(["4000:4000"]);
    expect(scale.services.proxy.volumes).toContain("./deploy/nginx.conf:/etc/nginx/nginx.conf:ro");
    expect(scale.services.proxy.depends_on.api.condition).toBe("service_healthy");
  });

  it("proxies to every api replica, WebSocket upgrades included", () => {
    expect(nginx).toMatch(/upstream kafkey \{\s*server api:4000;/);
    expect(nginx).toContain("proxy_pass http://kafkey;");
    expect(nginx).toContain("proxy_set_header Upgrade $http_upgrade;");
    expect(nginx).toContain("proxy_set_header Connection $connection_upgrade;");
    expect(nginx).toContain("proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;");
    expect(nginx.split("{").length).toBe(nginx.split("}").length);
  });
});

describe(".env.example", () => {
  const names = envExampleNames(read(".env.example"));
  const configVariables: readonly string[] = CONFIG_VARIABLES;

  it("lists every variable Kafkey reads", () => {
    expect(configVariables.filter((name) => !names.includes(name))).toEqual([]);
  });

  it("lists nothing Kafkey does not read, except the documented upcoming ones", () => {
    const allowed = new Set<string>([...configVariables, ...UPCOMING]);
    expect(names.filter((name) => !allowed.has(name))).toEqual([]);
    expect(names).toEqual([...new Set(names)]);
  });

  it("carries a placeholder encryption key that Kafkey refuses, with how to make a real one", () => {
    const text = read(".env.example");
    const line = /^KAFKEY_ENCRYPTION_KEY=(.*)$/m.exec(text);
    expect(line).not.toBeNull();
    expect(Buffer.from(line![1]!, "base64").length).not.toBe(32);
    expect(text).toContain("openssl rand -base64 32");
  });

  it("agrees with README.md's configuration table", () => {
    const readme = read("README.md");
    const missing = configVariables.filter((name) => !readme.split("\n").some((l) => l.startsWith(`| \`${name}\``)));
    expect(missing).toEqual([]);
  });
});

describe("Dockerfile", () => {
  const dockerfile = DockerfileParser.parse(read("Dockerfile"));
  const instructions = dockerfile.getInstructions();
  const stages: Instruction[][] = [];
  for (const instruction of instructions) {
    if (instruction.getKeyword() === "FROM") stages.push([]);
    stages.at(-1)?.push(instruction);
  }
  const build = stages[0] ?? [];
  const runtime = stages.at(-1) ?? [];
  const args = (instruction: Instruction) => instruction.getArguments().map((a) => a.getValue());
  const ofKind = (stage: Instruction[], keyword: string) => stage.filter((i) => i.getKeyword() === keyword);

  it("builds in one stage and runs from another, on node:20 slim", () => {
    const froms = dockerfile.getFROMs();
    expect(froms.length).toBeGreaterThanOrEqual(2);
    const final = froms.at(-1)!;
    expect(final.getImageName()).toBe("node");
    expect(final.getImageTag()).toMatch(/^20(\.\d+)*(-[a-z]+)*-slim$/);
    expect(froms[0]!.getImageName()).toBe("node");
  });

  it("runs as a non-root user", () => {
    const users = ofKind(runtime, "USER");
    expect(users.length).toBeGreaterThan(0);
    const user = args(users.at(-1)!)[0]!.split(":")[0];
    expect(["root", "0", ""]).not.toContain(user);
  });

  it("sets production defaults and exposes port 4000", () => {
    const env = new Map(
      dockerfile
        .getENVs()
        .filter((e) => runtime.includes(e))
        .flatMap((e) => e.getProperties().map((p) => [p.getName(), p.getValue()] as const)),
    );
    expect(env.get("NODE_ENV")).toBe("production");
    expect(env.get("HOST")).toBe("0.0.0.0");
    expect(ofKind(runtime, "EXPOSE").flatMap(args)).toContain("4000");
  });

  it("checks its health through /health/live", () => {
    const healthchecks = dockerfile.getHEALTHCHECKs().filter((h) => runtime.includes(h));
    expect(healthchecks).toHaveLength(1);
    expect(healthchecks[0]!.getRawArgumentsContent()).toContain("/health/live");
  });

  it("ships the migrations, which the migrator reads at run time", () => {
    const copies = ofKind(runtime, "COPY").map(args);
    expect(copies.some((a) => a.some((arg) => arg.replace(/\/$/, "") === "prisma/migrations"))).toBe(true);
  });

  it("installs dependencies from the package files before copying the sources (layer caching)", () => {
    const position = (matches: (i: Instruction) => boolean) => build.findIndex(matches);
    const packageFiles = position(
      (i) =>
        i.getKeyword() === "COPY" &&
        (args(i).includes("package*.json") ||
          (args(i).includes("package.json") && args(i).includes("package-lock.json"))),
    );
    const install = position((i) => i.getKeyword() === "RUN" && /\bnpm ci\b/.test(i.getRawArgumentsContent() ?? ""));
    const sources = position((i) => i.getKeyword() === "COPY" && args(i).some((a) => /^(\.\/)?src\/?$/.test(a)));
    expect(packageFiles).toBeGreaterThanOrEqual(0);
    expect(install).toBeGreaterThan(packageFiles);
    expect(sources).toBeGreaterThan(install);
  });
});

describe(".github/workflows/ci.yml", () => {
  const text = read(".github/workflows/ci.yml");
  const workflow = parse(text);

  it("is a valid GitHub Actions workflow", () => {
    expect(validateWorkflow(text).errors).toEqual([]);
  });

  it("tests against PostgreSQL, Redis and MongoDB services, requiring them", () => {
    const test = workflow.jobs.test;
    expect(Object.keys(test.services).sort()).toEqual(["mongo", "postgres", "redis"]);
    const npmTest = (test.steps as { run?: string; env?: Record<string, string> }[]).find(
      (step) => step.run?.trim() === "npm test",
    );
    expect(npmTest?.env).toMatchObject({
      KAFKEY_TEST_REQUIRE_SERVICES: "1",
      MONGODB_TEST_URL: expect.stringMatching(/^mongodb:\/\//),
      TEST_DATABASE_URL: expect.stringMatching(/^postgresql:\/\//),
      REDIS_URL: expect.stringMatching(/^redis:\/\//),
    });
  });

  it("builds the image after the tests, with the GitHub Actions cache", () => {
    const docker = workflow.jobs.docker;
    expect(docker.needs).toContain("test");
    const build = (docker.steps as { uses?: string; with?: Record<string, unknown> }[]).find((step) =>
      step.uses?.startsWith("docker/build-push-action@"),
    );
    expect(build?.with).toMatchObject({ push: false, "cache-from": "type=gha", "cache-to": "type=gha,mode=max" });
  });
});
