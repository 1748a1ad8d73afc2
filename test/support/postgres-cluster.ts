import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { freePort } from "./ports.js";

const run = promisify(execFile);

/** The directory of PostgreSQL's server programs (initdb, pg_ctl), the newest installed; undefined if none. */
function binDir(): string | undefined {
  const root = "/usr/lib/postgresql";
  if (!fs.existsSync(root)) return undefined;
  const versions = fs
    .readdirSync(root)
    .filter((v) => fs.existsSync(path.join(root, v, "bin", "initdb")))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? path.join(root, versions[0], "bin") : undefined;
}

/**
 * Whether this machine can run a PostgreSQL cluster of a test's own: initdb and pg_ctl installed and,
 * when the tests run as root (initdb refuses root), a `postgres` user to run them as.
 */
export async function canStartPostgres(): Promise<boolean> {
  if (!binDir()) return false;
  if (process.getuid?.() !== 0) return true;
  try {
    await run("runuser", ["-u", "postgres", "--", "true"]);
    return true;
  } catch {
    return false;
  }
}

/**
 * A throwaway PostgreSQL cluster in a temporary directory, on a free port, that a test may crash
 * (`pg_ctl stop -m immediate`) and start again. Never the machine's shared PostgreSQL.
 */
export class PostgresCluster {
  readonly port: number;
  private readonly dir: string;
  private readonly bin: string;
  /** Even a test process that ends without its afterAll leaves no server behind. */
  private readonly killOnExit = () => {
    try {
      const pid = Number(fs.readFileSync(path.join(this.data, "postmaster.pid"), "utf8").split("\n")[0]);
      if (pid > 0) process.kill(pid, "SIGQUIT");
    } catch {
      // not running
    }
  };

  private constructor(port: number, dir: string, bin: string) {
    this.port = port;
    this.dir = dir;
    this.bin = bin;
  }

  private get data(): string {
    return path.join(this.dir, "data");
  }

  /** A URL of the cluster's `postgres` database, as its superuser (trust on 127.0.0.1). */
  get url(): string {
    return `postgresql://postgres@127.0.0.1:${this.port}/postgres`;
  }

  /** Creates and starts a cluster. */
  static async create(): Promise<PostgresCluster> {
    const bin = binDir();
    if (!bin) throw new Error("PostgreSQL's initdb is not installed");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kafkey-pg-"));
    // initdb refuses root: the cluster belongs to `postgres`, in a directory it owns.
    if (process.getuid?.() === 0) await run("chown", ["postgres:", dir]);
    const cluster = new PostgresCluster(await freePort(), dir, bin);
    await cluster.as(path.join(bin, "initdb"), ["-D", cluster.data, "-U", "postgres", "--auth=trust", "-E", "UTF8"]);
    process.once("exit", cluster.killOnExit);
    await cluster.start();
    return cluster;
  }

  /** Runs a server program as `postgres` when the tests run as root. */
  private async as(program: string, args: string[]): Promise<string> {
    const [file, argv] =
      process.getuid?.() === 0 ? ["runuser", ["-u", "postgres", "--", program, ...args]] : [program, args];
    return (await run(file, argv, { cwd: this.dir })).stdout;
  }

  /** Starts the server and waits until it accepts connections. */
  async start(): Promise<void> {
    await this.as(path.join(this.bin, "pg_ctl"), [
      "start",
      "-w",
      "-D",
      this.data,
      "-l",
      path.join(this.dir, "server.log"),
      "-o",
      `-p ${this.port} -c listen_addresses=127.0.0.1 -k ${this.dir} -c fsync=off`,
    ]);
  }

  /** Kills the server the way a crash does: every connection cut at once, no shutdown checkpoint. */
  async crash(): Promise<void> {
    await this.as(path.join(this.bin, "pg_ctl"), ["stop", "-m", "immediate", "-D", this.data]);
  }

  /** Stops the server, if running, and removes its directory. */
  async destroy(): Promise<void> {
    await this.as(path.join(this.bin, "pg_ctl"), ["stop", "-m", "immediate", "-D", this.data]).catch(() => undefined);
    process.off("exit", this.killOnExit);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
