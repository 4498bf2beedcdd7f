/**
 * scripts/ci-docker-ssh.sh, which the workflows run to install the Docker host's deploy key and to
 * tunnel to a stack's loopback listeners, against a real sshd on loopback: the key lands with mode
 * 600, a tunnel with the pinned host key carries traffic and closes, and a host presenting another
 * key is refused with no port left open.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { LoopbackSshd } from "../helpers/loopbackSshd";
import { ROOT } from "../helpers/program";
import { describeWith, requirements } from "../helpers/requirements";

const SCRIPT = path.join(ROOT, "scripts", "ci-docker-ssh.sh");

/** Runs the script with its ssh directory in `sshDir`; the key (if any) in the environment, as the workflows pass the secret. */
function run(sshDir: string, args: string[], key?: string): { status: number | null; output: string } {
  const result = spawnSync("bash", [SCRIPT, ...args], {
    encoding: "utf8",
    timeout: 60_000,
    env: { ...process.env, AI_GATEWAY_SSH_DIR: sshDir, AI_GATEWAY_DOCKER_SSH_KEY: key ?? "" },
  });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/** A TCP server on 127.0.0.1 that answers every connection with `greeting`. */
function greeter(greeting: string): Promise<net.Server> {
  return new Promise((resolve) => {
    const server = net.createServer((socket) => socket.end(greeting));
    server.listen(0, "127.0.0.1", () => resolve(server));
  });
}

/** What a connection to 127.0.0.1:port receives, or the error's code. */
function readFrom(port: number): Promise<string> {
  return new Promise((resolve) => {
    let data = "";
    const socket = net.connect(port, "127.0.0.1");
    socket.on("data", (chunk) => (data += chunk.toString()));
    socket.on("end", () => resolve(data));
    socket.on("error", (e: NodeJS.ErrnoException) => resolve(`error ${e.code}`));
  });
}

/** A port nothing listens on at the moment. */
function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

describeWith("scripts/ci-docker-ssh.sh against a real sshd", [requirements.sshd(), requirements.sshKeygen()], () => {
  const sshd = new LoopbackSshd(["host_key", "other_host_key"]);
  const sshDir = fs.mkdtempSync(path.join(os.tmpdir(), "aigw-ci-ssh-"));
  let server: net.Server;
  let remotePort: number;

  beforeAll(async () => {
    await sshd.start("host_key");
    server = await greeter("hello through the tunnel");
    remotePort = (server.address() as net.AddressInfo).port;
  });
  afterAll(() => {
    run(sshDir, ["close", "t1"]);
    run(sshDir, ["close", "t2"]);
    server.close();
    sshd.stop();
    fs.rmSync(sshDir, { recursive: true, force: true });
  });

  test("identity refuses an empty secret, naming it", () => {
    const result = run(fs.mkdtempSync(path.join(os.tmpdir(), "aigw-ci-ssh-empty-")), ["identity"]);
    expect(result.status).toBe(1);
    expect(result.output).toContain("AI_GATEWAY_DOCKER_SSH_KEY is empty");
  });

  test("identity refuses what is not a private key, without printing it", () => {
    const result = run(fs.mkdtempSync(path.join(os.tmpdir(), "aigw-ci-ssh-bad-")), ["identity"], "not-a-key-SECRETVALUE");
    expect(result.status).toBe(1);
    expect(result.output).toContain("is not an unencrypted OpenSSH private key");
    expect(result.output).not.toContain("SECRETVALUE");
  });

  test("identity installs the key with mode 600 (final newline restored) and names it in the ssh config, once", () => {
    const key = fs.readFileSync(sshd.keyFile("client_key"), "utf8").trimEnd(); // as a secret often arrives
    for (let i = 0; i < 2; i++) {
      const result = run(sshDir, ["identity"], key);
      expect(result.output).not.toContain("PRIVATE KEY");
      expect(result.status).toBe(0);
    }
    const installed = path.join(sshDir, "ai-gateway-docker");
    expect(fs.statSync(installed).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(installed, "utf8")).toBe(`${key}\n`);
    const config = fs.readFileSync(path.join(sshDir, "config"), "utf8");
    expect(config.match(/IdentityFile/g)).toHaveLength(1);
    expect(config).toContain(`IdentityFile ${installed}`);
    expect(fs.statSync(path.join(sshDir, "config")).mode & 0o777).toBe(0o600);
  });

  test("a tunnel trusting the host's key carries traffic, and close ends it", async () => {
    const localPort = await freePort();
    const opened = run(sshDir, [
      "tunnel",
      "t1",
      `ssh://root@127.0.0.1:${sshd.port}`,
      sshd.publicKey("host_key"),
      `${localPort}:${remotePort}`,
    ]);
    expect(opened.output).toContain("tunnel t1 open");
    expect(opened.status).toBe(0);
    expect(await readFrom(localPort)).toBe("hello through the tunnel");
    expect(fs.readFileSync(path.join(sshDir, "ai-gateway-tunnel-t1.known_hosts"), "utf8")).toBe(
      `[127.0.0.1]:${sshd.port} ${sshd.publicKey("host_key")}\n`,
    );

    expect(run(sshDir, ["close", "t1"]).status).toBe(0);
    await new Promise((r) => setTimeout(r, 300));
    expect(await readFrom(localPort)).toBe("error ECONNREFUSED");
  });

  test("a host presenting another key is refused and no port is opened", async () => {
    const localPort = await freePort();
    const refused = run(sshDir, [
      "tunnel",
      "t2",
      `ssh://root@127.0.0.1:${sshd.port}`,
      sshd.publicKey("other_host_key"),
      `${localPort}:${remotePort}`,
    ]);
    expect(refused.status).not.toBe(0);
    expect(refused.output).toMatch(/HOST IDENTIFICATION HAS CHANGED|Host key verification failed/);
    expect(await readFrom(localPort)).toBe("error ECONNREFUSED");
  });

  test("bad arguments are refused with one line each", () => {
    const key = sshd.publicKey("host_key");
    expect(run(sshDir, ["tunnel", "t3", "tcp://127.0.0.1:2376", key, "1:2"]).output).toContain("is not ssh://user@host[:port]");
    expect(run(sshDir, ["tunnel", "t3", "ssh://root@127.0.0.1", "nonsense", "1:2"]).output).toContain("is not '<type> <base64>'");
    expect(run(sshDir, ["tunnel", "t3", "ssh://root@127.0.0.1", key, "80"]).output).toContain("'80' is not LOCAL:REMOTE");
    expect(run(sshDir, ["tunnel", "../x", "ssh://root@127.0.0.1", key, "1:2"]).output).toContain("tunnel name '../x'");
    expect(run(sshDir, ["nonsense"]).status).toBe(2);
  });
});
