import { type ChildProcess, execFile, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import type { HostPort } from "../../src/platform/kv/redis.js";
import { freePort } from "./ports.js";

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
  private directory: string | undefined;
  private readonly children: ChildProcess[] = [];
  private readonly nodes = new Map<number, ChildProcess>();
  /** Even a test process that ends without its afterAll leaves no server behind. */
  private readonly killAll = () => this.children.forEach((child) => child.kill("SIGKILL"));

  private get dir(): string {
    if (!this.directory) {
      this.directory = fs.mkdtempSync(path.join(os.tmpdir(), "kafkey-redis-"));
      process.once("exit", this.killAll);
    }
    return this.directory;
  }

  private spawn(args: string[]): void {
    this.children.push(spawn("redis-server", args, { stdio: "ignore" }));
  }

  private async server(port: number, ...args: string[]): Promise<void> {
    this.spawn([
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--appendonly",
      "no",
      "--dir",
      this.dir,
      ...args,
    ]);
    this.nodes.set(port, this.children.at(-1)!);
    await until(async () => (await cli(port, "ping")).trim() === "PONG", `redis-server on ${port}`);
  }

  /** One plain node. @returns its URL and port. */
  async node(): Promise<{ url: string; port: number }> {
    const port = await freePort();
    await this.server(port);
    return { url: `redis://127.0.0.1:${port}`, port };
  }

  /** Empties the node on `port`: what a Redis restarted without persistence, or an empty replica promoted, holds. */
  async wipe(port: number): Promise<void> {
    await cli(port, "flushall");
  }

  /** Kills the node on `port` as a crash would; `restart` brings it back on the same port, empty. */
  async crash(port: number): Promise<void> {
    const child = this.nodes.get(port);
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise((resolve) => {
      child.once("exit", resolve);
      child.kill("SIGKILL");
    });
  }

  /** Starts the node on `port` again (after `crash`), without the data it held. */
  async restart(port: number): Promise<void> {
    await this.server(port);
  }

  /** A master and one Sentinel watching it as `master`. */
  async sentinel(master: string): Promise<HostPort[]> {
    const [masterPort, sentinelPort] = [await freePort(), await freePort()];
    await this.server(masterPort);
    const config = path.join(this.dir, "sentinel.conf");
    fs.writeFileSync(config, `sentinel monitor ${master} 127.0.0.1 ${masterPort} 1\n`);
    this.spawn([config, "--sentinel", "--port", String(sentinelPort), "--bind", "127.0.0.1"]);
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
      // A bus port of its own: by default it is the port + 10,000, past 65,535 for a high free port.
      const bus = String(await freePort());
      await this.server(
        port,
        "--cluster-enabled",
        "yes",
        "--cluster-port",
        bus,
        "--cluster-config-file",
        `nodes-${port}.conf`,
      );
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
            if (child.exitCode !== null || child.signalCode !== null) return resolve(undefined);
            child.once("exit", resolve);
            child.kill("SIGKILL");
          }),
      ),
    );
    process.off("exit", this.killAll);
    if (this.directory) fs.rmSync(this.directory, { recursive: true, force: true });
  }
}
