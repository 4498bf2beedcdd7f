/**
 * A private network namespace with only a loopback interface, so a test can run a service on its
 * real port (PostgreSQL on 5432, LiteLLM on 4000) and the program's commands verbatim, without
 * clashing with anything on the machine. Needs root and iproute2.
 */
import { ChildProcess, execFileSync, spawn, spawnSync, SpawnSyncReturns } from "child_process";
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as path from "path";

/**
 * Where commands start: another user (postgres) may not be allowed into the checkout's directory,
 * e.g. a clone under a 0700 `mktemp -d`.
 */
const NEUTRAL_CWD = "/";

export class NetNs {
  readonly name = `aigw-${randomBytes(4).toString("hex")}`;
  private readonly children: ChildProcess[] = [];

  constructor() {
    execFileSync("ip", ["netns", "add", this.name]);
    execFileSync("ip", ["netns", "exec", this.name, "ip", "link", "set", "lo", "up"]);
  }

  /** Runs a command inside the namespace and returns its exit status and output. */
  run(argv: string[], options: { input?: string; timeoutMs?: number; user?: string } = {}): SpawnSyncReturns<string> {
    const user = options.user ? ["runuser", "-u", options.user, "--"] : [];
    return spawnSync("ip", ["netns", "exec", this.name, ...user, ...argv], {
      cwd: NEUTRAL_CWD,
      encoding: "utf8",
      input: options.input,
      timeout: options.timeoutMs ?? 30000,
    });
  }

  /** Starts a long-running process inside the namespace; stopped by dispose(). */
  start(argv: string[], options: { user?: string } = {}): ChildProcess {
    const user = options.user ? ["runuser", "-u", options.user, "--"] : [];
    const child = spawn("ip", ["netns", "exec", this.name, ...user, ...argv], { stdio: ["ignore", "pipe", "pipe"], cwd: NEUTRAL_CWD });
    this.children.push(child);
    return child;
  }

  /**
   * Links the namespace to this machine's network by a veth pair: `hostAddress/prefix` on this side,
   * `address/prefix` inside, so that the host reaches a service in the namespace at `address` (and
   * the namespace the host at `hostAddress`), as if it were another machine on a point-to-point link.
   */
  link(hostAddress: string, address: string, prefix: number): void {
    const hostSide = `vh${this.name.slice("aigw-".length)}`;
    const inside = `vn${this.name.slice("aigw-".length)}`;
    execFileSync("ip", ["link", "add", hostSide, "type", "veth", "peer", "name", inside]);
    execFileSync("ip", ["link", "set", inside, "netns", this.name]);
    execFileSync("ip", ["addr", "add", `${hostAddress}/${prefix}`, "dev", hostSide]);
    execFileSync("ip", ["link", "set", hostSide, "up"]);
    for (const argv of [
      ["ip", "addr", "add", `${address}/${prefix}`, "dev", inside],
      ["ip", "link", "set", inside, "up"],
    ]) {
      execFileSync("ip", ["netns", "exec", this.name, ...argv]);
    }
  }

  /**
   * The namespace's own /etc: `ip netns exec` bind-mounts every entry of /etc/netns/<name>/ over the
   * same name in /etc for the commands it runs (ip-netns(8)), e.g. an `ssh` directory over /etc/ssh.
   * Removed by dispose().
   */
  etcDir(): string {
    const dir = path.join("/etc/netns", this.name);
    fs.mkdirSync(dir, { recursive: true });
    return dir;
  }

  dispose(): void {
    for (const child of this.children) {
      child.kill("SIGKILL");
    }
    // Whatever still runs in the namespace (e.g. a daemonised postgres) goes with it.
    spawnSync("sh", ["-c", `ip netns pids ${this.name} | xargs -r kill -9`]);
    // Deleting the namespace deletes its end of a veth pair, and with it the host's end.
    spawnSync("ip", ["netns", "delete", this.name]);
    fs.rmSync(path.join("/etc/netns", this.name), { recursive: true, force: true });
  }
}

export function canUseNetns(): boolean {
  if (process.getuid?.() !== 0) {
    return false;
  }
  try {
    const probe = new NetNs();
    probe.dispose();
    return true;
  } catch {
    return false;
  }
}
