import { type ChildProcess, execFile, spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import type { HostPort } from "../../src/platform/kv/redis.js";

const run = promisify(execFile);

/** Whether this machine can start Redis servers of its own (`redis-server` and `redis-cli` on the PATH). */
export async function canStartRedis(): Promise<boolean> {
  try {
    await run("redis-server", ["--version"]);
    await run("redis-cli", ["--version"]);
    return true;
  } catch {
    return false;
  }
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${what} did not come up`);
}

const cli = async (port: number, ...args: string[]) => (await run("redis-cli", ["-p", String(port), ...args])).stdout;

/** Redis servers started for one test file, in a directory of their own, stopped together. */
export class RedisServers {
  private readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), "kafkey-redis-"));
  private readonly children: ChildProcess[] = [];

  private async server(port: number, ...args: string[]): Promise<void> {
    const child = spawn(
      "redis-server",
      ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", this.dir, ...args],
      { stdio: "ignore" },
    );
    this.children.push(child);
    await until(async () => (await cli(port, "ping")).trim() === "PONG", `redis-server on ${port}`);
  }

  /** A master and one Sentinel watching it as `master`. */
  async sentinel(master: string): Promise<HostPort[]> {
    const [masterPort, sentinelPort] = [await freePort(), await freePort()];
    await this.server(masterPort);
    const config = path.join(this.dir, "sentinel.conf");
    fs.writeFileSync(config, `sentinel monitor ${master} 127.0.0.1 ${masterPort} 1\n`);
    const child = spawn("redis-server", [config, "--sentinel", "--port", String(sentinelPort), "--bind", "127.0.0.1"], {
      stdio: "ignore",
    });
    this.children.push(child);
    await until(
      async () => (await cli(sentinelPort, "sentinel", "get-master-addr-by-name", master)).includes(String(masterPort)),
      "redis sentinel",
    );
    return [{ host: "127.0.0.1", port: sentinelPort }];
  }

  /** A Redis Cluster of three masters, its slots spread over them. */
  async cluster(): Promise<HostPort[]> {
    const ports = [await freePort(), await freePort(), await freePort()];
    for (const port of ports) {
      await this.server(port, "--cluster-enabled", "yes", "--cluster-config-file", `nodes-${port}.conf`);
    }
    await run("redis-cli", [
      "--cluster",
      "create",
      ...ports.map((port) => `127.0.0.1:${port}`),
      "--cluster-replicas",
      "0",
      "--cluster-yes",
    ]);
    for (const port of ports) {
      await until(async () => (await cli(port, "cluster", "info")).includes("cluster_state:ok"), "redis cluster");
    }
    return ports.map((port) => ({ host: "127.0.0.1", port }));
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.children.map(
        (child) =>
          new Promise((resolve) => {
            if (child.exitCode !== null) return resolve(undefined);
            child.once("exit", resolve);
            child.kill("SIGKILL");
          }),
      ),
    );
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
