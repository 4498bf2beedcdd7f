/**
 * The "server" of the remote-path tests (tests/helpers/netnsServer.ts), booted from user data that
 * lib/cloudInit.ts renders, answers as the Hetzner server would once cloud-init is done: the
 * readiness gate (lib/hostReadiness.ts waitForDockerHost) passes through it with the pinned host key
 * and reaches the real engine as the deploy user; the exec client (lib/dockerExec.ts) speaks the
 * Engine API over `docker system dial-stdio` as the deploy user; root and other keys are refused as
 * the user data's sshd settings say; dispose() leaves nothing behind.
 */
import { execFileSync, spawnSync } from "child_process";
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { DOCKER_LOG_ROTATION, renderCloudInit } from "../../lib/cloudInit";
import { negotiateApiVersion, sshArgs } from "../../lib/dockerExec";
import { waitForDockerHost } from "../../lib/hostReadiness";
import { ed25519HostKey } from "../../lib/sshHostKeyPair";
import { freeLink, NetnsServer } from "../helpers/netnsServer";
import { describeWith, requirements } from "../helpers/requirements";
import { generateSshKey } from "../helpers/sshKeys";

describeWith("a netns server booted from the VPS user data", [requirements.netns(), requirements.sshd(), requirements.docker()], () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "aigw-netns-server-"));
  const clientKeyFile = path.join(dir, "client_key");
  const strangerKeyFile = path.join(dir, "stranger_key");
  const hostKey = ed25519HostKey(randomBytes(32), "ai-gateway-test");
  // A user name of its own, so the test never meets an account of this machine.
  const deployUser = `aigw${randomBytes(3).toString("hex")}`;
  const link = freeLink();
  let server: NetnsServer;

  beforeAll(async () => {
    const client = generateSshKey("ed25519");
    fs.writeFileSync(clientKeyFile, client.privateKey, { mode: 0o600 });
    fs.writeFileSync(strangerKeyFile, generateSshKey("ed25519").privateKey, { mode: 0o600 });
    const userData = renderCloudInit({
      deployUser,
      sshAuthorizedKeys: [client.publicKey],
      sshHostKey: hostKey,
      dataVolumeDevice: "/dev/disk/by-id/scsi-0HC_Volume_100",
      dockerLogRotation: DOCKER_LOG_ROTATION,
      unattendedUpgrades: true,
    });
    server = await NetnsServer.boot(userData, link);
  });
  afterAll(() => {
    server?.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const endpoint = () => ({ host: `ssh://${deployUser}@${link.address}`, sshHostKey: hostKey.publicKey, sshOpts: ["-i", clientKeyFile] });

  test("the readiness gate passes: cloud-init done (asked with --wait), the real engine's version", async () => {
    const engineVersion = execFileSync("docker", ["version", "--format", "{{.Server.Version}}"], { encoding: "utf8" }).trim();
    const result = await waitForDockerHost(
      { dockerHost: endpoint().host, sshHostKey: hostKey.publicKey, sshOpts: ["-i", clientKeyFile] },
      { timeoutMs: 30_000 },
    );
    expect(result).toEqual({ cloudInitStatus: "done", dockerVersion: engineVersion });
    expect(server.commands.calls("cloud-init")).toEqual(["status --wait --long"]);
  });

  test("the Engine API over ssh + docker system dial-stdio as the deploy user (the docker provider's and exec client's path)", async () => {
    const engineApi = execFileSync("docker", ["version", "--format", "{{.Server.APIVersion}}"], { encoding: "utf8" }).trim();
    expect(await negotiateApiVersion(endpoint())).toBe(engineApi < "1.51" ? engineApi : "1.51");
  });

  test("sshd as the user data sets it: root, another key and a wrong pinned key are refused", () => {
    const ssh = (e: { host: string; sshHostKey: string; sshOpts: string[] }) =>
      spawnSync("ssh", sshArgs(e, ["true"]), { encoding: "utf8", timeout: 20_000 });
    expect(ssh(endpoint()).status).toBe(0);
    const asRoot = ssh({ ...endpoint(), host: `ssh://root@${link.address}` });
    expect(asRoot.status).toBe(255);
    expect(asRoot.stderr).toContain("Permission denied (publickey)");
    const stranger = ssh({ ...endpoint(), sshOpts: ["-i", strangerKeyFile] });
    expect(stranger.status).toBe(255);
    expect(stranger.stderr).toContain("Permission denied (publickey)");
    const otherHostKey = ssh({ ...endpoint(), sshHostKey: ed25519HostKey(randomBytes(32)).publicKey });
    expect(otherHostKey.status).toBe(255);
    expect(otherHostKey.stderr).toMatch(/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/);
  });

  test("dispose() removes the namespace, the link, its /etc and the deploy user", () => {
    const name = server.netns.name;
    server.dispose();
    expect(spawnSync("id", [deployUser]).status).not.toBe(0);
    expect(fs.existsSync(`/etc/netns/${name}`)).toBe(false);
    expect(execFileSync("ip", ["netns", "list"], { encoding: "utf8" })).not.toContain(name);
    expect(execFileSync("ip", ["-4", "-o", "addr", "show"], { encoding: "utf8" })).not.toContain(`${link.hostAddress}/30`);
  });
});
