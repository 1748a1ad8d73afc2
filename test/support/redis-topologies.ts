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

/** A master and its replica, watched by Sentinels (see `RedisServers.failoverGroup`). */
export interface FailoverGroup {
  /** The name the Sentinels watch the master by. */
  name: string;
  sentinels: HostPort[];
  /** The ports of the first master and of its replica. */
  master: number;
  replica: number;
}

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
      // One file each: a replica writes the snapshot of its full sync there, and a group has several.
      "--dbfilename",
      `dump-${port}.rdb`,
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

  /**
   * A master, one replica (`replicaof`) and `sentinels` Sentinels watching them as `master`, with a
   * quorum of their majority, quick to fail over: a master silent for `downAfterMs` is down, and its
   * replica is promoted within a few seconds. Every node has been seen by every Sentinel on return.
   */
  async failoverGroup(
    master: string,
    { sentinels = 3, downAfterMs = 500 }: { sentinels?: 1 | 3; downAfterMs?: number } = {},
  ): Promise<FailoverGroup> {
    const [masterPort, replicaPort] = [await freePort(), await freePort()];
    // No delay before a full sync (5 s by default, waiting for more replicas): the replica's first
    // sync now, and the old master's once it returns as a replica.
    const quick = ["--repl-diskless-sync-delay", "0"];
    await this.server(masterPort, ...quick);
    await this.server(replicaPort, ...quick, "--replicaof", "127.0.0.1", String(masterPort));
    await until(
      async () => (await cli(replicaPort, "info", "replication")).includes("master_link_status:up"),
      "the replica's link to its master",
    );
    const quorum = Math.floor(sentinels / 2) + 1;
    const ports: number[] = [];
    for (let i = 0; i < sentinels; i++) {
      const port = await freePort();
      ports.push(port);
      // A file each: a Sentinel rewrites its own configuration as it learns the topology.
      const config = path.join(this.dir, `sentinel-${port}.conf`);
      fs.writeFileSync(
        config,
        [
          `sentinel monitor ${master} 127.0.0.1 ${masterPort} ${quorum}`,
          `sentinel down-after-milliseconds ${master} ${downAfterMs}`,
          `sentinel failover-timeout ${master} 2000`,
          "",
        ].join("\n"),
      );
      this.spawn([config, "--sentinel", "--port", String(port), "--bind", "127.0.0.1"]);
    }
    const group = {
      name: master,
      sentinels: ports.map((port) => ({ host: "127.0.0.1", port })),
      master: masterPort,
      replica: replicaPort,
    };
    await this.watched(group, replicaPort);
    return group;
  }

  /**
   * Waits until every Sentinel of `group` knows the others and counts `replica` a healthy replica:
   * before that, a failover would find no replica to promote or no majority to authorise it.
   */
  private async watched(group: FailoverGroup, replica: number): Promise<void> {
    for (const { port } of group.sentinels) {
      await until(async () => {
        const [state, replicas] = await Promise.all([
          cli(port, "sentinel", "master", group.name),
          cli(port, "sentinel", "replicas", group.name),
        ]);
        const others = Number(/num-other-sentinels\n(\d+)/.exec(state)?.[1]);
        return (
          others === group.sentinels.length - 1 &&
          replicas.includes(String(replica)) &&
          !/_down|disconnected/.test(replicas)
        );
      }, `sentinel on ${port}`);
    }
  }

  /**
   * Starts the crashed node on `port` again, empty, as the replica of `master` (a failed master
   * repaired and put back), and waits until the Sentinels count it a healthy replica.
   */
  async rejoin(group: FailoverGroup, port: number, master: number): Promise<void> {
    await this.server(port, "--repl-diskless-sync-delay", "0", "--replicaof", "127.0.0.1", String(master));
    await until(
      async () => (await cli(port, "info", "replication")).includes("master_link_status:up"),
      "the replica's link to its master",
    );
    await this.watched(group, port);
  }

  /** The master each Sentinel of `group` names (`SENTINEL get-master-addr-by-name`), by its port. */
  async namedMasters(group: FailoverGroup): Promise<number[]> {
    return Promise.all(
      group.sentinels.map(async ({ port }) => {
        const [, named] = (await cli(port, "sentinel", "get-master-addr-by-name", group.name)).trim().split("\n");
        return Number(named);
      }),
    );
  }

  /** The value of `key` on the node on `port`, as redis-cli prints it. */
  async read(port: number, key: string): Promise<string> {
    return (await cli(port, "get", key)).trim();
  }

  /**
   * Freezes the node on `port` (SIGSTOP) as a partition or a stalled host would: its connections stay
   * open and nothing answers on them. `thaw` lets it run again, unaware of anything that happened.
   */
  freeze(port: number): void {
    this.nodes.get(port)?.kill("SIGSTOP");
  }

  thaw(port: number): void {
    this.nodes.get(port)?.kill("SIGCONT");
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
