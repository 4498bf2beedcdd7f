/**
 * The exec client (lib/dockerExec.ts), which carries the master key and every virtual key into
 * LiteLLM's container, against real authenticated endpoints of the real engine:
 *
 * - tcp:// with TLS: a Node TLS server that requires and verifies a client certificate (CA, server
 *   and client certificates made by openssl here) and pipes to the engine's unix socket, which is
 *   what `dockerd --tlsverify` does. With the material it works; a client certificate the server
 *   does not trust, a CA that did not sign the server, and plain tcp:// to another machine fail.
 * - ssh:// to a real sshd on loopback running `docker system dial-stdio`: the pinned key is
 *   accepted; an unknown and a changed key are refused with an error naming the host and the
 *   offered key's fingerprint; a hostile ~/.ssh/known_hosts, /etc/ssh/ssh_known_hosts and
 *   ssh_config (`Host *`, `StrictHostKeyChecking no`) no longer make it trust another key; and the
 *   allow-listed options really connect.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { DockerEndpoint, DockerTlsMaterial, execInContainer } from "../../lib/dockerExec";
import { sshOptions } from "../../lib/dockerEndpoint";
import { pinnedSshOptions } from "../../lib/dockerHost";
import { DockerSandbox, TestContainer } from "../helpers/dockerEngine";
import { describeWith, requirements } from "../helpers/requirements";
import { LoopbackSshd } from "../helpers/loopbackSshd";
import { testImage } from "../helpers/testImage";
import { startTlsEngine, TlsEngine } from "../helpers/tlsEngine";

const SECRET = "sk-master-key-crossing-the-endpoint-0123456789";

/** `cat` in the container: what goes in on stdin must come back, as the key registration's JSON does. */
async function roundTrip(endpoint: DockerEndpoint, container: TestContainer): Promise<string> {
  const result = await execInContainer(endpoint, container.name, ["cat"], SECRET, 30_000);
  expect(result.exitCode).toBe(0);
  return result.stdout;
}

describeWith("the exec client against authenticated Docker endpoints (real engine)", [requirements.docker(), requirements.rootfs()], () => {
  const sandbox = new DockerSandbox("endpoints");
  let container: TestContainer;

  beforeAll(async () => {
    container = await sandbox.helper("aigw-endpoints", { image: await testImage() });
  }, 120_000);

  afterAll(async () => {
    await sandbox.cleanup();
  }, 60_000);

  describe("tcp:// with TLS", () => {
    let engine: TlsEngine;
    let port: number;
    let material: DockerTlsMaterial;
    const read = (name: string) => engine.pem(name);

    beforeAll(async () => {
      engine = await startTlsEngine();
      port = engine.port;
      material = { ca: read("ca.pem"), cert: read("client.pem"), key: read("client.key") };
    });

    afterAll(async () => {
      await engine.close();
    });

    test("with the CA, the client certificate and its key, the exec works (and the server saw the client certificate)", async () => {
      expect(await roundTrip({ host: `tcp://127.0.0.1:${port}`, tls: material }, container)).toBe(SECRET);
      expect(engine.accepted).toContain("client");
    });

    test("a client certificate the engine does not trust is refused by the engine", async () => {
      const stranger = { ...material, cert: read("stranger.pem"), key: read("stranger.key") };
      await expect(roundTrip({ host: `tcp://127.0.0.1:${port}`, tls: stranger }, container)).rejects.toThrow(
        /certificate|alert|ECONNRESET|socket hang up/,
      );
    });

    test("an engine whose certificate the given CA did not sign is refused by the client", async () => {
      const wrongCa = { ...material, ca: read("other-ca.pem") };
      await expect(roundTrip({ host: `tcp://127.0.0.1:${port}`, tls: wrongCa }, container)).rejects.toThrow(
        /unable to (verify|get local issuer)|self[- ]signed/,
      );
    });

    test("plain tcp:// to another machine is refused before any byte is sent", async () => {
      await expect(roundTrip({ host: "tcp://203.0.113.5:2375" }, container)).rejects.toThrow(
        /refusing plain tcp:\/\/ to tcp:\/\/203.0.113.5:2375: a remote Docker engine needs TLS/,
      );
    });
  });

  describeWith("ssh:// with a pinned host key", [requirements.sshd()], () => {
    let sshd: LoopbackSshd;
    const publicKey = (name: string) => sshd.publicKey(name);
    const fingerprint = (name: string) => sshd.fingerprint(name);

    const endpoint = (hostKey: string, sshOpts: string[] = ["-i", path.join(sshd.dir, "client_key")]): DockerEndpoint => ({
      host: `ssh://root@127.0.0.1:${sshd.port}`,
      sshHostKey: publicKey(hostKey),
      sshOpts,
    });

    beforeAll(async () => {
      sshd = new LoopbackSshd(["host_key", "new_host_key", "impostor_key", ["rsa_host_key", "rsa"]]);
      await sshd.start("host_key");
    });

    afterAll(() => sshd?.stop());

    test("the pinned key is accepted: the exec reaches the engine through ssh and docker system dial-stdio", async () => {
      expect(await roundTrip(endpoint("host_key"), container)).toBe(SECRET);
    });

    test("an unknown key is refused, naming the host and the offered key's fingerprint (not 'socket hang up')", async () => {
      const error = await roundTrip(endpoint("impostor_key"), container).catch((e: Error) => e.message);
      expect(error).toBe(
        `ssh host key verification failed for ssh://root@127.0.0.1:${sshd.port}: the host offered the ED25519 key ${fingerprint("host_key")}, ` +
          `not the key pinned in dockerSshHostKey (ssh-ed25519 ${fingerprint("impostor_key")}). Refusing to connect: this may be another ` +
          `machine. If the host's key was changed on purpose, set dockerSshHostKey to its new public key (on the host: cat /etc/ssh/ssh_host_*_key.pub).`,
      );
    });

    test("a host without a key of the pinned type is refused, naming what it offers", async () => {
      await expect(roundTrip(endpoint("rsa_host_key"), container)).rejects.toThrow(
        `ssh host key verification failed for ssh://root@127.0.0.1:${sshd.port}: the host has no ssh-rsa key (it offers ssh-ed25519)`,
      );
    });

    test("the allow-listed options pass validation and really connect", async () => {
      const options = sshOptions("dockerSshOpts", [
        "-i",
        path.join(sshd.dir, "client_key"),
        "-oIdentitiesOnly=yes",
        "-o",
        "ConnectTimeout 10",
        "-o",
        "ServerAliveInterval=15",
        "-o",
        "serveralivecountmax=3",
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        "BatchMode=yes",
        "-o",
        "AddressFamily=inet",
        "-o",
        "Compression=yes",
        "-4",
        "-C",
      ]);
      expect(await roundTrip(endpoint("host_key", options), container)).toBe(SECRET);
    });

    test("a hostile known_hosts and ssh_config (Host *, StrictHostKeyChecking no) cannot make it trust another key", async () => {
      // The machine's own ssh trust, replaced for ssh alone (a mount namespace over /root and
      // /etc/ssh: ssh reads the home directory from the password database, not $HOME).
      const home = path.join(sshd.dir, "hostile-home");
      const etc = path.join(sshd.dir, "hostile-etc");
      const bin = path.join(sshd.dir, "bin");
      for (const d of [path.join(home, ".ssh"), etc, bin]) {
        fs.mkdirSync(d, { recursive: true });
      }
      const trustAnything = `* ${publicKey("host_key")}\n`;
      fs.writeFileSync(path.join(home, ".ssh", "known_hosts"), trustAnything);
      fs.writeFileSync(path.join(etc, "ssh_known_hosts"), trustAnything);
      const hostile = `Host *\n  StrictHostKeyChecking no\n  UserKnownHostsFile ${home}/.ssh/known_hosts\n  GlobalKnownHostsFile ${etc}/ssh_known_hosts\n  KnownHostsCommand /bin/echo ${trustAnything.trim()}\n  VerifyHostKeyDNS yes\n  LogLevel QUIET\n`;
      fs.writeFileSync(path.join(home, ".ssh", "config"), hostile);
      fs.writeFileSync(path.join(etc, "ssh_config"), hostile);
      const ssh = path.join(bin, "ssh");
      fs.writeFileSync(
        ssh,
        `#!/bin/sh\nexec unshare -m sh -c 'mount --bind "$0" /root && mount --bind "$1" /etc/ssh && shift && exec /usr/bin/ssh "$@"' '${home}' '${etc}' "$@"\n`,
      );
      fs.chmodSync(ssh, 0o755);
      // The hostile trust works: plain ssh through it accepts whatever key the host shows...
      const plain = spawnSync(
        ssh,
        ["-i", path.join(sshd.dir, "client_key"), "-p", String(sshd.port), "root@127.0.0.1", "--", "echo", "trusted"],
        {
          encoding: "utf8",
          timeout: 30_000,
        },
      );
      expect(plain.stdout.trim()).toBe("trusted");
      // ... and even the impostor key pinned by the hostile files is no longer taken for the pinned one.
      const pathBefore = process.env.PATH;
      process.env.PATH = `${bin}:${pathBefore}`;
      try {
        await expect(roundTrip(endpoint("impostor_key"), container)).rejects.toThrow(
          `the host offered the ED25519 key ${fingerprint("host_key")}, not the key pinned in dockerSshHostKey`,
        );
        // The same options the docker provider gets (pinnedSshOptions first) hold for plain ssh too.
        const viaProviderOptions = spawnSync(
          ssh,
          [
            ...pinnedSshOptions(publicKey("impostor_key")),
            "-i",
            path.join(sshd.dir, "client_key"),
            "-p",
            String(sshd.port),
            "root@127.0.0.1",
            "--",
            "echo",
            "trusted",
          ],
          { encoding: "utf8", timeout: 30_000 },
        );
        expect(viaProviderOptions.stdout).toBe("");
        expect(viaProviderOptions.stderr).toContain("Host key verification failed.");
        // With the right key pinned, the hostile files change nothing either.
        expect(await roundTrip(endpoint("host_key"), container)).toBe(SECRET);
      } finally {
        process.env.PATH = pathBefore;
      }
    });

    test("a changed host key is refused, naming the new key's fingerprint", async () => {
      expect(await roundTrip(endpoint("host_key"), container)).toBe(SECRET);
      await sshd.start("new_host_key");
      await expect(roundTrip(endpoint("host_key"), container)).rejects.toThrow(
        `ssh host key verification failed for ssh://root@127.0.0.1:${sshd.port}: the host offered the ED25519 key ${fingerprint("new_host_key")}, not the key pinned in dockerSshHostKey (ssh-ed25519 ${fingerprint("host_key")})`,
      );
    });
  });
});
