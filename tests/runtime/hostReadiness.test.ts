/**
 * The readiness gate's client (lib/hostReadiness.ts) against a real sshd on loopback whose host key
 * is one lib/sshHostKeyPair.ts made (as the VPS's is), logging in as root with a PATH (sshd_config
 * SetEnv) that puts stand-ins of `cloud-init` and `docker` first (tests/helpers/remoteCommands.ts
 * says what they stand in for). One test uses the real docker CLI and the real engine instead.
 */
import { execFileSync, spawnSync } from "child_process";
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import { sshKeyFingerprint } from "../../lib/dockerHost";
import { DOCKER_INFO_ATTEMPTS, HostReadiness, ReadinessOptions, waitForDockerHost } from "../../lib/hostReadiness";
import { ed25519HostKey } from "../../lib/sshHostKeyPair";
import * as pulumi from "@pulumi/pulumi";
import { LoopbackSshd } from "../helpers/loopbackSshd";
import { ROOT } from "../helpers/program";
import { cloudInitLong, RemoteCommands } from "../helpers/remoteCommands";
import { describeWith, requirements } from "../helpers/requirements";

/** A VPS-like host key from the stack's generator, installed as `name`. */
function installStackHostKey(sshd: LoopbackSshd, name: string): string {
  sshd.installKey(name, ed25519HostKey(randomBytes(32), "ai-gateway-test"));
  return sshd.publicKey(name);
}

/** Runs the gate, collecting its progress lines. */
async function gate(
  sshd: LoopbackSshd,
  hostKey: string,
  options: ReadinessOptions = {},
): Promise<{ result?: HostReadiness; error?: string; log: string[]; seconds: number }> {
  const log: string[] = [];
  const started = Date.now();
  const target = { dockerHost: `ssh://root@127.0.0.1:${sshd.port}`, sshHostKey: hostKey, sshOpts: ["-i", sshd.keyFile("client_key")] };
  try {
    const result = await waitForDockerHost(target, { timeoutMs: 60_000, retryIntervalMs: 250, log: (m) => log.push(m), ...options });
    return { result, log, seconds: (Date.now() - started) / 1000 };
  } catch (e) {
    return { error: (e as Error).message, log, seconds: (Date.now() - started) / 1000 };
  }
}

describeWith(
  "the readiness gate against a real sshd (cloud-init and docker stand-ins)",
  [requirements.sshd(), requirements.sshKeygen()],
  () => {
    const remote = new RemoteCommands(true);
    const sshd = new LoopbackSshd([]);
    let hostKey: string;

    beforeAll(async () => {
      hostKey = installStackHostKey(sshd, "stack_host_key");
      await sshd.start("stack_host_key", [remote.sshdSetting()]);
    });
    beforeEach(() => remote.reset());
    afterAll(() => {
      sshd.stop();
      remote.remove();
    });

    test("ready: cloud-init done, Docker answers; the commands ran as the gate words them", async () => {
      const { result, error, log } = await gate(sshd, hostKey);
      expect({ result, error }).toEqual({ result: { cloudInitStatus: "done", dockerVersion: "28.5.2" }, error: undefined });
      expect(remote.calls("cloud-init")).toEqual(["status --wait --long"]);
      expect(remote.calls("docker")).toEqual(["info --format {{.ServerVersion}}"]);
      expect(log[log.length - 1]).toBe(`ssh://root@127.0.0.1:${sshd.port}: ready (Docker 28.5.2)`);
    });

    test("cloud-init still running: `--wait` blocks (printing dots) and the status after the dots is read", async () => {
      remote.cloudInit(0, cloudInitLong("done", "done"), 8);
      const { result, seconds } = await gate(sshd, hostKey);
      expect(result).toEqual({ cloudInitStatus: "done", dockerVersion: "28.5.2" });
      expect(seconds).toBeGreaterThanOrEqual(2);
      expect(remote.calls("cloud-init")).toHaveLength(1);
    });

    test("exit 2 (done with recoverable errors): ready, with a warning carrying cloud-init's words", async () => {
      remote.cloudInit(2, cloudInitLong("done", "degraded done", [], { WARNING: ["Failed to set locale en_US.UTF-8"] }));
      const { result, log } = await gate(sshd, hostKey);
      expect(result).toEqual({ cloudInitStatus: "done", dockerVersion: "28.5.2" });
      expect(log).toContainEqual(
        expect.stringMatching(
          /warning: cloud-init finished with recoverable errors \(exit 2\); continuing: .*extended_status: degraded done.*Failed to set locale en_US.UTF-8/,
        ),
      );
    });

    test("exit 1 (cloud-init failed): an error with cloud-init's output, and Docker is not asked", async () => {
      remote.cloudInit(
        1,
        cloudInitLong("error", "error - done", [
          "('package_update_upgrade_install', RuntimeError('Failed to install packages: docker.io'))",
        ]),
      );
      const { result, error } = await gate(sshd, hostKey);
      expect(result).toBeUndefined();
      expect(error).toMatch(
        new RegExp(
          `^cloud-init failed on ssh://root@127\\.0\\.0\\.1:${sshd.port} \\(\`cloud-init status --wait --long\` exit 1\\): status: error / extended_status: error - done / .*Failed to install packages: docker\\.io`,
        ),
      );
      expect(remote.calls("docker")).toEqual([]);
    });

    test("an argparse usage error (exit 2, no status line) is a failure, not 'done with recoverable errors'", async () => {
      remote.unknownOptions("--long");
      const { result, error } = await gate(sshd, hostKey);
      expect(result).toBeUndefined();
      expect(error).toMatch(/exit 2\): usage: cloud-init status .* unrecognized arguments: --long$/);
    });

    test("Docker not answering yet (daemon starting): asked again until it answers", async () => {
      remote.dockerFailures(3);
      const { result, log } = await gate(sshd, hostKey);
      expect(result).toEqual({ cloudInitStatus: "done", dockerVersion: "28.5.2" });
      expect(remote.calls("docker")).toHaveLength(4);
      expect(log).toContainEqual(
        expect.stringContaining("not ready yet (docker info exit 1: Cannot connect to the Docker daemon at unix:///var/run/docker.sock."),
      );
    });

    test(`Docker never answering: an error after ${DOCKER_INFO_ATTEMPTS} attempts, not the whole timeout`, async () => {
      remote.dockerFailures(1000);
      const { result, error } = await gate(sshd, hostKey, { retryIntervalMs: 50 });
      expect(result).toBeUndefined();
      expect(error).toBe(
        `Docker on ssh://root@127.0.0.1:${sshd.port} did not answer \`docker info\` after ${DOCKER_INFO_ATTEMPTS} attempts: docker info exit 1: ` +
          "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?",
      );
      expect(remote.calls("docker")).toHaveLength(DOCKER_INFO_ATTEMPTS);
    });

    test("a host key other than the pinned one: fails at once with the offered key's fingerprint, nothing run", async () => {
      const pinned = ed25519HostKey(randomBytes(32)).publicKey;
      const { result, error, seconds } = await gate(sshd, pinned);
      expect(result).toBeUndefined();
      expect(error).toBe(
        `ssh host key verification failed for ssh://root@127.0.0.1:${sshd.port}: the host offered the ED25519 key ${sshd.fingerprint("stack_host_key")}, ` +
          `not the key pinned in dockerSshHostKey (ssh-ed25519 ${sshKeyFingerprint(pinned.split(" ")[1])}). Refusing to connect: this may be another ` +
          `machine. If the host's key was changed on purpose, set dockerSshHostKey to its new public key (on the host: cat /etc/ssh/ssh_host_*_key.pub).`,
      );
      expect(seconds).toBeLessThan(5);
      expect(remote.calls("cloud-init")).toEqual([]);
    });
  },
);

describeWith("the readiness gate as the Pulumi engine runs it", [requirements.sshd(), requirements.sshKeygen()], () => {
  const remote = new RemoteCommands(true);
  const sshd = new LoopbackSshd([]);
  afterAll(() => {
    sshd.stop();
    remote.remove();
  });

  test("serialized by value (the gate's dynamic provider captures it) and run in a fresh node, it still works and fails as before", async () => {
    const hostKey = installStackHostKey(sshd, "stack_host_key");
    await sshd.start("stack_host_key", [remote.sshdSetting()]);
    const serialized = await pulumi.runtime.serializeFunction(() => waitForDockerHost);
    const dir = fs.mkdtempSync(path.join(ROOT, ".cache", "serialized-"));
    try {
      fs.writeFileSync(path.join(dir, "gate.js"), serialized.text);
      const run = (pinned: string) => {
        const target = { dockerHost: `ssh://root@127.0.0.1:${sshd.port}`, sshHostKey: pinned, sshOpts: ["-i", sshd.keyFile("client_key")] };
        const runner = `
          require("./gate.js").${serialized.exportName}()(${JSON.stringify(target)}, { timeoutMs: 30000, retryIntervalMs: 250 })
            .then((ready) => console.log(JSON.stringify(ready)), (e) => console.log("error: " + e.message));`;
        return spawnSync(process.execPath, ["-e", runner], { cwd: dir, encoding: "utf8", timeout: 60000 });
      };
      const ready = run(hostKey);
      expect({ stdout: ready.stdout.trim(), stderr: ready.stderr }).toEqual({
        stdout: JSON.stringify({ cloudInitStatus: "done", dockerVersion: "28.5.2" }),
        stderr: "",
      });
      const refused = run(ed25519HostKey(randomBytes(32)).publicKey);
      expect(refused.stdout).toMatch(
        /^error: ssh host key verification failed for ssh:\/\/root@127\.0\.0\.1:\d+: the host offered the ED25519 key /,
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describeWith("the readiness gate while the server boots", [requirements.sshd(), requirements.sshKeygen()], () => {
  const remote = new RemoteCommands(true);
  const cleanups: (() => void)[] = [() => remote.remove()];
  afterAll(() => cleanups.forEach((cleanup) => cleanup()));

  function newServer(): { sshd: LoopbackSshd; hostKey: string } {
    const sshd = new LoopbackSshd([]);
    cleanups.push(() => sshd.stop());
    return { sshd, hostKey: installStackHostKey(sshd, "stack_host_key") };
  }

  test("sshd starting only after 3 s: the gate waits (connection refused), then finds it ready", async () => {
    const { sshd, hostKey } = newServer();
    const starting = new Promise<void>((resolve) =>
      setTimeout(() => void sshd.start("stack_host_key", [remote.sshdSetting()]).then(resolve), 3000),
    );
    const { result, log, seconds } = await gate(sshd, hostKey);
    await starting;
    expect(result).toEqual({ cloudInitStatus: "done", dockerVersion: "28.5.2" });
    expect(seconds).toBeGreaterThanOrEqual(3);
    expect(log).toContainEqual(
      `ssh://root@127.0.0.1:${sshd.port}: not ready yet (ssh to ssh://root@127.0.0.1:${sshd.port} failed (exit 255): ` +
        `ssh: connect to host 127.0.0.1 port ${sshd.port}: Connection refused); retrying every 0.25 s`,
    );
  });

  test("the deploy user not created yet (Permission denied (publickey)): the gate waits until its key is authorized", async () => {
    const { sshd, hostKey } = newServer();
    const authorizedKeys = path.join(sshd.dir, "authorized_keys");
    const clientKey = fs.readFileSync(authorizedKeys, "utf8");
    fs.writeFileSync(authorizedKeys, "");
    // Key authentication only, as on the VPS (lib/cloudInit.ts sshdSettings), so sshd answers exactly "Permission denied (publickey)".
    await sshd.start("stack_host_key", [remote.sshdSetting(), "KbdInteractiveAuthentication no", "AuthenticationMethods publickey"]);
    setTimeout(() => fs.writeFileSync(authorizedKeys, clientKey), 2000);
    const { result, log, seconds } = await gate(sshd, hostKey);
    expect(result).toEqual({ cloudInitStatus: "done", dockerVersion: "28.5.2" });
    expect(seconds).toBeGreaterThanOrEqual(2);
    expect(log).toContainEqual(
      expect.stringMatching(/not ready yet \(ssh to .* failed \(exit 255\): .*Permission denied \(publickey\)\.\)/),
    );
  });

  test("a client key the server never accepts: an error after the grace period, naming what ssh must offer, not the whole timeout", async () => {
    const { sshd, hostKey } = newServer();
    fs.writeFileSync(path.join(sshd.dir, "authorized_keys"), "");
    await sshd.start("stack_host_key", [remote.sshdSetting(), "KbdInteractiveAuthentication no", "AuthenticationMethods publickey"]);
    const { result, error, seconds } = await gate(sshd, hostKey, { permissionDeniedGraceMs: 1500, timeoutMs: 60000 });
    expect(result).toBeUndefined();
    expect(error).toMatch(
      /Permission denied \(publickey\)\.?: the server has refused the client key for [12] s; ssh must offer the private half of a key in vpsSshPublicKeys/,
    );
    expect(seconds).toBeLessThan(10);
  });

  test("never reachable: one error after the timeout naming the host, the time waited and the last error", async () => {
    const { sshd, hostKey } = newServer();
    const { result, error, seconds } = await gate(sshd, hostKey, { timeoutMs: 2000 });
    expect(result).toBeUndefined();
    // The last attempt either failed on its own or was cut by the deadline (a loaded machine): both
    // name the refused connection.
    expect(error).toMatch(
      new RegExp(
        `^ssh://root@127\\.0\\.0\\.1:${sshd.port} was not ready within 2 s \\(waiting for SSH with the pinned host key, cloud-init and Docker\\); ` +
          `last error: (ssh to ssh://root@127\\.0\\.0\\.1:${sshd.port} failed \\(exit 255\\)|cloud-init status did not finish before the deadline): ` +
          `ssh: connect to host 127\\.0\\.0\\.1 port ${sshd.port}: Connection refused$`,
      ),
    );
    expect(seconds).toBeGreaterThanOrEqual(2);
    expect(seconds).toBeLessThan(4);
  });

  test("a port that accepts but never speaks SSH: ssh is stopped at the deadline, and the timeout says what hung", async () => {
    const silent = net.createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    cleanups.push(() => silent.close());
    const port = (silent.address() as net.AddressInfo).port;
    const started = Date.now();
    const error = await waitForDockerHost(
      { dockerHost: `ssh://root@127.0.0.1:${port}`, sshHostKey: ed25519HostKey(randomBytes(32)).publicKey },
      { timeoutMs: 2500, retryIntervalMs: 250 },
    ).catch((e: Error) => e.message);
    expect(error).toMatch(
      new RegExp(
        `^ssh://root@127\\.0\\.0\\.1:${port} was not ready within [23] s \\(waiting for SSH with the pinned host key, cloud-init and Docker\\); ` +
          "last error: cloud-init status did not finish before the deadline$",
      ),
    );
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

describeWith(
  "the readiness gate with the real docker CLI and engine",
  [requirements.sshd(), requirements.sshKeygen(), requirements.docker()],
  () => {
    const remote = new RemoteCommands(false);
    const sshd = new LoopbackSshd([]);
    afterAll(() => {
      sshd.stop();
      remote.remove();
    });

    test("ready: the version is the engine's own", async () => {
      const hostKey = installStackHostKey(sshd, "stack_host_key");
      await sshd.start("stack_host_key", [remote.sshdSetting()]);
      const engineVersion = execFileSync("docker", ["info", "--format", "{{.ServerVersion}}"], { encoding: "utf8" }).trim();
      const { result, error } = await gate(sshd, hostKey);
      expect({ result, error }).toEqual({ result: { cloudInitStatus: "done", dockerVersion: engineVersion }, error: undefined });
      expect(engineVersion).toMatch(/^\d+\.\d+\.\d+/);
      expect(remote.calls("cloud-init")).toEqual(["status --wait --long"]);
    });
  },
);
