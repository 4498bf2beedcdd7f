/**
 * The readiness gate's client: waits until a freshly created server answers SSH with the pinned
 * host key, cloud-init has finished, and Docker answers the deploy user, so that the Docker provider
 * can deploy onto it in the same `pulumi up`. It speaks through the same ssh invocation as the exec
 * client (lib/dockerExec.ts `sshArgs`: the pinned host key, BatchMode, the allow-listed
 * dockerSshOpts) and words ssh's failures the same way (`sshFailure`).
 *
 * What a new server looks like from outside while it boots, and what is retried:
 * - nothing listens yet, or the firewall and the address are still being attached: "Connection
 *   refused", "Connection timed out", "No route to host" (retried);
 * - sshd accepts but closes or resets (it is being restarted, or has no host key yet): "Connection
 *   closed by", "Connection reset by", kex_exchange_identification (retried);
 * - sshd answering before cloud-init has created the deploy user and its authorized_keys:
 *   "Permission denied (publickey)" (retried). On a normal first boot this window should not open:
 *   cloud-init's network stage, which runs users_groups and ssh (the host key), is ordered
 *   `Before=sysinit.target` and `Before=sshd.service` (VERIFIED in cloud-init-network.service of
 *   Debian's cloud-init 25.1.4 and 26.2, rendered from upstream's template, which Ubuntu ships
 *   too: INFERRED), and both a socket unit such as Ubuntu 24.04's ssh.socket and a service such as
 *   ssh.service get `After=sysinit.target` from their default dependencies (VERIFIED in
 *   systemd.socket(5) and systemd.service(5), systemd 252), so sshd neither listens nor runs before
 *   that stage is done. It is retried anyway, for PERMISSION_DENIED_GRACE_MS only: nothing here can
 *   tell it from an image with another ordering or a slow user creation, but a wrong client key
 *   looks the same, and should not cost 15 minutes.
 * - a host key that is not the pinned one: never retried, since it may be another machine; the
 *   error names the offered key's fingerprint (sshFailure).
 *
 * Plain functions over Node built-ins and lib/dockerExec.ts only: the gate's dynamic provider
 * captures them, and Pulumi serializes them by value into the stack's state.
 */
import { spawn } from "child_process";
import { DockerEndpoint, sshArgs, sshFailure } from "./dockerExec";

/** Where the gate connects: the server as the Docker provider will reach it. */
export interface ReadinessTarget {
  /** ssh://user@address[:port] */
  readonly dockerHost: string;
  /** "<type> <base64>", the only key accepted */
  readonly sshHostKey: string;
  /** dockerSshOpts (allow-listed already) */
  readonly sshOpts?: readonly string[];
}

export interface ReadinessOptions {
  /** Give up after this long (default READINESS_TIMEOUT_MS, 15 min: a fresh server boots, installs docker.io) */
  readonly timeoutMs?: number;
  /** Between attempts (default READINESS_RETRY_INTERVAL_MS, 5 s) */
  readonly retryIntervalMs?: number;
  /** Progress lines (the dynamic provider logs them) */
  readonly log?: (message: string) => void;
  /** How long a refused client key is retried (default PERMISSION_DENIED_GRACE_MS, 2 min) */
  readonly permissionDeniedGraceMs?: number;
}

/** What the server reported once ready. */
export interface HostReadiness {
  /** cloud-init's `status:` line: "done" (or "disabled" on a host without cloud-init's boot stages). */
  readonly cloudInitStatus: string;
  /** The engine's version, `docker info --format '{{.ServerVersion}}'`. */
  readonly dockerVersion: string;
}

/**
 * 15 minutes: a new server boots, runs cloud-init, updates the package lists and installs docker.io
 * (a few minutes on Hetzner; the margin covers a slow mirror).
 */
export const READINESS_TIMEOUT_MS = 15 * 60 * 1000;

/** Between two attempts while the server is not reachable or Docker not up yet. */
export const READINESS_RETRY_INTERVAL_MS = 5000;

/**
 * How many times `docker info` is asked once cloud-init is done: docker.service may still be
 * starting (or waiting for the volume's mount unit), but a Docker that does not answer within about
 * a minute will not (it refuses to start without its volume): better a clear error than 15 minutes.
 */
export const DOCKER_INFO_ATTEMPTS = 12;

/**
 * Added after dockerSshOpts (ssh keeps the first value it reads, so the user's own win): a bounded
 * TCP connect per attempt, and keepalives so that a server that dies during the long
 * `cloud-init status --wait` is noticed within a minute.
 */
const GATE_SSH_OPTIONS = ["-o", "ConnectTimeout=15", "-o", "ServerAliveInterval=15", "-o", "ServerAliveCountMax=4"];

/**
 * `cloud-init status --wait --long` (cloudinit/cmd/status.py, VERIFIED in 25.1.4 and 26.2): blocks
 * while cloud-init is "not started" or "running", printing a "." per poll, then prints
 * `status: <done|error|disabled>` and, with --long, extended_status, errors and recoverable_errors.
 * Exit 0: done without problems; 1: an unrecoverable error (status "error"); 2: done with
 * recoverable errors ("degraded done", since cloud-init 23.4). argparse also exits 2 on a usage
 * error, so exit 2 counts as done only with a status line.
 */
const CLOUD_INIT_STATUS = ["cloud-init", "status", "--wait", "--long"];
const DOCKER_VERSION = ["docker", "info", "--format", "'{{.ServerVersion}}'"];

/**
 * How long "Permission denied (publickey)" is retried after sshd first answers so: long enough for
 * a deploy user still being created, short enough that a wrong client key fails within minutes.
 */
export const PERMISSION_DENIED_GRACE_MS = 2 * 60 * 1000;
const PERMISSION_DENIED = /Permission denied \(publickey/;

/** The remote shell's status for a command it cannot find (POSIX). */
const COMMAND_NOT_FOUND = 127;

/** ssh's own failures that a booting server gives; anything else from ssh is final. */
const NOT_REACHABLE_YET =
  /Connection refused|Connection timed out|Operation timed out|No route to host|Network is unreachable|Host is down|Permission denied \(publickey|Connection closed by|Connection reset by|kex_exchange_identification|banner exchange/;

/** ssh's words for a host key that is not the pinned one (sshFailure words them for people). */
const HOST_KEY_REFUSED = /Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|no matching host key type found/;

interface RemoteRun {
  /** The remote command's status, 255 for ssh's own failure, undefined when killed at the deadline. */
  readonly exitCode: number | undefined;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `command` on the server through ssh, killed (SIGKILL) if it is still running after `timeoutMs`. */
function runOverSsh(endpoint: DockerEndpoint, command: readonly string[], timeoutMs: number): Promise<RemoteRun> {
  return new Promise((resolve, reject) => {
    const child = spawn("ssh", sshArgs(endpoint, command), { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), Math.max(timeoutMs, 1));
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ssh for ${endpoint.host}: ${error.message}`));
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ exitCode: code ?? undefined, stdout, stderr });
    });
  });
}

/** The last few non-empty lines of a command's output, on one line (for messages). */
function lastLines(text: string, count = 8): string {
  return text
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean)
    .slice(-count)
    .join(" / ");
}

/** cloud-init's `status:` value from `cloud-init status` output (after the dots --wait prints). */
function cloudInitStatusLine(output: string): string | undefined {
  return /(?:^|\.)status: (.+)$/m.exec(output)?.[1].trim();
}

/**
 * Waits until the server at `target.dockerHost` answers SSH with the pinned key, cloud-init is done
 * and `docker info` works for the deploy user; resolves with what they reported. Throws at once on
 * a host key that is not the pinned one, on a failed cloud-init (exit 1, with its output), and on
 * any ssh failure a booting server does not give; throws after DOCKER_INFO_ATTEMPTS failed
 * `docker info`s; and, after `timeoutMs`, one error naming the host, the time waited and the last
 * error. Messages hold ssh's, cloud-init's and Docker's own words, never key material.
 */
export async function waitForDockerHost(target: ReadinessTarget, options: ReadinessOptions = {}): Promise<HostReadiness> {
  const timeoutMs = options.timeoutMs ?? READINESS_TIMEOUT_MS;
  const retryIntervalMs = options.retryIntervalMs ?? READINESS_RETRY_INTERVAL_MS;
  const log = options.log ?? (() => undefined);
  const host = target.dockerHost;
  const endpoint: DockerEndpoint = {
    host,
    sshHostKey: target.sshHostKey,
    sshOpts: [...(target.sshOpts ?? []), ...GATE_SSH_OPTIONS],
  };
  const started = Date.now();
  const deadline = started + timeoutMs;
  let lastError = "none (no attempt finished)";
  const permissionDeniedGraceMs = options.permissionDeniedGraceMs ?? PERMISSION_DENIED_GRACE_MS;
  let firstDenied: number | undefined;
  let lastLogged = "";

  const timedOut = (): Error =>
    new Error(
      `${host} was not ready within ${Math.round((Date.now() - started) / 1000)} s ` +
        `(waiting for SSH with the pinned host key, cloud-init and Docker); last error: ${lastError}`,
    );
  /** Logs a waiting reason once, not on every attempt. */
  const waiting = (reason: string): void => {
    lastError = reason;
    if (reason !== lastLogged) {
      lastLogged = reason;
      log(`${host}: not ready yet (${reason}); retrying every ${retryIntervalMs / 1000} s`);
    }
  };
  const pause = (): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, Math.min(retryIntervalMs, deadline - Date.now()))));

  /**
   * One remote command: its run, or undefined when ssh could not reach the server yet (to be
   * retried). Throws on a host key that is not the pinned one and on ssh failures a booting server
   * does not give.
   */
  const attempt = async (command: readonly string[]): Promise<RemoteRun | undefined> => {
    const run = await runOverSsh(endpoint, command, deadline - Date.now());
    if (run.exitCode === undefined) {
      waiting(`${command.slice(0, 2).join(" ")} did not finish before the deadline${run.stderr ? `: ${lastLines(run.stderr, 3)}` : ""}`);
      return undefined;
    }
    if (run.exitCode !== 255) {
      return run;
    }
    const failure = sshFailure(endpoint, run.exitCode, run.stderr);
    if (HOST_KEY_REFUSED.test(run.stderr)) {
      throw new Error(failure);
    }
    if (!NOT_REACHABLE_YET.test(run.stderr)) {
      throw new Error(`${failure} (not a failure a booting server gives, so not retried)`);
    }
    if (PERMISSION_DENIED.test(run.stderr)) {
      firstDenied ??= Date.now();
      if (Date.now() - firstDenied >= permissionDeniedGraceMs) {
        throw new Error(
          `${failure}: the server has refused the client key for ${Math.round((Date.now() - firstDenied) / 1000)} s; ` +
            `ssh must offer the private half of a key in vpsSshPublicKeys (dockerSshOpts: ["-i", "<its file>"], or your ssh agent)`,
        );
      }
    }
    waiting(failure);
    return undefined;
  };

  log(`${host}: waiting for SSH (pinned host key), cloud-init and Docker, for up to ${Math.round(timeoutMs / 1000)} s`);

  let cloudInitStatus: string | undefined;
  while (cloudInitStatus === undefined) {
    if (Date.now() >= deadline) {
      throw timedOut();
    }
    const run = await attempt(CLOUD_INIT_STATUS);
    if (!run) {
      await pause();
      continue;
    }
    const output = `${run.stdout}${run.stderr}`;
    const status = cloudInitStatusLine(run.stdout);
    if (run.exitCode === 0 && status) {
      cloudInitStatus = status;
      log(`${host}: SSH answers with the pinned host key; cloud-init status: ${status}`);
    } else if (run.exitCode === 2 && status) {
      cloudInitStatus = status;
      log(`${host}: warning: cloud-init finished with recoverable errors (exit 2); continuing: ${lastLines(output)}`);
    } else if (run.exitCode === COMMAND_NOT_FOUND) {
      throw new Error(`${host} has no cloud-init (\`cloud-init status\`: ${lastLines(output) || "command not found"})`);
    } else {
      throw new Error(
        `cloud-init failed on ${host} (\`cloud-init status --wait --long\` exit ${run.exitCode}): ${lastLines(output) || "no output"}`,
      );
    }
  }

  for (let tries = 1; ; tries++) {
    if (Date.now() >= deadline) {
      throw timedOut();
    }
    const run = await attempt(DOCKER_VERSION);
    const version = run?.exitCode === 0 ? run.stdout.trim() : "";
    if (version) {
      log(`${host}: ready (Docker ${version})`);
      return { cloudInitStatus, dockerVersion: version };
    }
    if (run?.exitCode === COMMAND_NOT_FOUND) {
      throw new Error(`${host} has no docker command although cloud-init is done (${lastLines(`${run.stdout}${run.stderr}`)})`);
    }
    if (run) {
      // The daemon still starting, or the deploy user's session not yet in group docker.
      waiting(`docker info exit ${run.exitCode}: ${lastLines(`${run.stdout}${run.stderr}`, 3) || "no output"}`);
    }
    if (tries >= DOCKER_INFO_ATTEMPTS) {
      throw new Error(`Docker on ${host} did not answer \`docker info\` after ${tries} attempts: ${lastError}`);
    }
    await pause();
  }
}
