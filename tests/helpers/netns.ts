/**
 * A private network namespace with only a loopback interface, so a test can run a service on its
 * real port (PostgreSQL on 5432, LiteLLM on 4000) and the program's commands verbatim, without
 * clashing with anything on the machine. Needs root and iproute2.
 */
import { ChildProcess, execFileSync, spawn, spawnSync, SpawnSyncReturns } from "child_process";
import { randomBytes } from "crypto";

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

  dispose(): void {
    for (const child of this.children) {
      child.kill("SIGKILL");
    }
    // Whatever still runs in the namespace (e.g. a daemonised postgres) goes with it.
    spawnSync("sh", ["-c", `ip netns pids ${this.name} | xargs -r kill -9`]);
    spawnSync("ip", ["netns", "delete", this.name]);
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
