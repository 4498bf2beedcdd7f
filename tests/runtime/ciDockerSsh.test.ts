/**
 * scripts/ci-docker-ssh.sh, which the workflows run to install the Docker host's deploy key and to
 * tunnel to a stack's loopback listeners, against a real sshd on loopback: the key lands with mode
 * 600, a tunnel with the pinned host key carries traffic and closes, and a host presenting another
 * key is refused with no port left open.
 */
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { toolchainEnv } from "../e2e/harness";
import { toolchain } from "../e2e/requirements";
import { LoopbackSshd } from "../helpers/loopbackSshd";
import { ROOT } from "../helpers/program";
import { describeWith, requirements } from "../helpers/requirements";

const SCRIPT = path.join(ROOT, "scripts", "ci-docker-ssh.sh");

/** Runs the script with its ssh directory in `sshDir`; the key (if any) in the environment, as the workflows pass the secret. */
function run(
  sshDir: string,
  args: string[],
  key?: string,
  extra: { cwd?: string; env?: Record<string, string> } = {},
): { status: number | null; output: string } {
  const result = spawnSync("bash", [SCRIPT, ...args], {
    encoding: "utf8",
    timeout: 60_000,
    cwd: extra.cwd,
    env: { ...process.env, ...extra.env, AI_GATEWAY_SSH_DIR: sshDir, AI_GATEWAY_DOCKER_SSH_KEY: key ?? "" },
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
  return readFromAddress("127.0.0.1", port);
}

/** What a connection to address:port receives, or the error's code. */
function readFromAddress(address: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    let data = "";
    const socket = net.connect(port, address);
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
    const result = run(fs.mkdtempSync(path.join(sshDir, "aigw-ci-ssh-empty-")), ["identity"]);
    expect(result.status).toBe(1);
    expect(result.output).toContain("AI_GATEWAY_DOCKER_SSH_KEY is empty");
  });

  test("identity refuses what is not a private key, without printing it", () => {
    const result = run(fs.mkdtempSync(path.join(sshDir, "aigw-ci-ssh-bad-")), ["identity"], "not-a-key-SECRETVALUE");
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

  test("a Pulumi Cloud stack name (org/stack) names its tunnel's files without the slash", async () => {
    const localPort = await freePort();
    const opened = run(sshDir, [
      "tunnel",
      "acme/prod",
      `ssh://root@127.0.0.1:${sshd.port}`,
      sshd.publicKey("host_key"),
      `${localPort}:${remotePort}`,
    ]);
    expect(opened.status).toBe(0);
    expect(fs.existsSync(path.join(sshDir, "ai-gateway-tunnel-acme-prod.known_hosts"))).toBe(true);
    expect(await readFrom(localPort)).toBe("hello through the tunnel");
    expect(run(sshDir, ["close", "acme/prod"]).status).toBe(0);
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
    expect(run(sshDir, ["tunnel", "../x", "ssh://root@127.0.0.1", key, "1:2"]).output).toContain("tunnel name '../x' is not a stack name");
    expect(run(sshDir, ["nonsense"]).status).toBe(2);
  });

  describeWith("stack-tunnel, from a real stack's settings and outputs", [toolchain()], () => {
    const project = fs.mkdtempSync(path.join(os.tmpdir(), "aigw-ci-stack-"));
    // The "remote" listeners are this machine's 127.0.0.1 ports; the tunnel's local ends listen on
    // 127.0.0.2, the same port numbers, as they would on a runner.
    const env = () => ({
      ...toolchainEnv(),
      PULUMI_BACKEND_URL: `file://${project}/state`,
      PULUMI_CONFIG_PASSPHRASE: "not-a-secret",
      AI_GATEWAY_TUNNEL_LOCAL_ADDRESS: "127.0.0.2",
    });
    const pulumiCli = (args: string[]) =>
      execFileSync("pulumi", [...args, "--non-interactive"], {
        cwd: project,
        env: { ...process.env, ...env() },
        encoding: "utf8",
        timeout: 120_000,
      });
    let adminServer: net.Server;
    let adminPort: number;

    beforeAll(async () => {
      adminServer = await greeter("admin listener");
      adminPort = (adminServer.address() as net.AddressInfo).port;
      fs.mkdirSync(path.join(project, "state"));
      fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(project, "node_modules"));
      fs.writeFileSync(path.join(project, "Pulumi.yaml"), "name: ai-gateway\nruntime: nodejs\nmain: index.js\n");
      // The gateway's two URL outputs, taken from the stack's settings so each case can choose them.
      fs.writeFileSync(
        path.join(project, "index.js"),
        'const pulumi = require("@pulumi/pulumi");\nconst config = new pulumi.Config();\nexports.openWebuiUrl = config.require("openWebuiUrlForTest");\nexports.adminUiUrl = config.require("adminUiUrlForTest");\nconst vps = config.get("vpsForTest");\nexports.vps = vps ? JSON.parse(vps) : undefined;\n',
      );
      pulumiCli(["stack", "init", "t-stack"]);
    }, 120_000);
    afterAll(() => {
      run(sshDir, ["close", "t-stack"]);
      adminServer?.close();
      fs.rmSync(project, { recursive: true, force: true });
    });

    function deploy(settings: Record<string, string>): void {
      for (const key of ["dockerHost", "dockerSshHostKey", "vpsForTest"]) {
        spawnSync("pulumi", ["config", "rm", key, "--stack", "t-stack"], { cwd: project, env: { ...process.env, ...env() } });
      }
      for (const [key, value] of Object.entries(settings)) {
        pulumiCli(["config", "set", key, value, "--stack", "t-stack"]);
      }
      pulumiCli(["up", "--yes", "--skip-preview", "--stack", "t-stack"]);
    }

    test("tunnels each loopback URL's port (public and admin) to the stack's ssh:// host, pinned to its key", async () => {
      deploy({
        dockerHost: `ssh://root@127.0.0.1:${sshd.port}`,
        dockerSshHostKey: sshd.publicKey("host_key"),
        openWebuiUrlForTest: `http://127.0.0.1:${remotePort}/`,
        adminUiUrlForTest: `http://127.0.0.1:${adminPort}/ui`,
      });
      const opened = run(sshDir, ["stack-tunnel", "t-stack"], undefined, { cwd: project, env: env() });
      expect(opened.output).toContain(
        `tunnel t-stack open: ${[remotePort, adminPort]
          .sort()
          .map((p) => `${p}:${p}`)
          .join(" ")}`,
      );
      expect(opened.status).toBe(0);
      expect(await readFromAddress("127.0.0.2", remotePort)).toBe("hello through the tunnel");
      expect(await readFromAddress("127.0.0.2", adminPort)).toBe("admin listener");
      expect(run(sshDir, ["close", "t-stack"]).status).toBe(0);
    }, 180_000);

    test("a public URL that is not loopback is left alone: only the admin listener is tunnelled", async () => {
      deploy({
        dockerHost: `ssh://root@127.0.0.1:${sshd.port}`,
        dockerSshHostKey: sshd.publicKey("host_key"),
        openWebuiUrlForTest: "https://gateway.example.com/",
        adminUiUrlForTest: `http://127.0.0.1:${adminPort}/ui`,
      });
      const opened = run(sshDir, ["stack-tunnel", "t-stack"], undefined, { cwd: project, env: env() });
      expect(opened.output).toContain(`tunnel t-stack open: ${adminPort}:${adminPort} `);
      expect(opened.status).toBe(0);
      expect(await readFromAddress("127.0.0.2", adminPort)).toBe("admin listener");
      expect(await readFromAddress("127.0.0.2", remotePort)).toBe("error ECONNREFUSED");
      expect(run(sshDir, ["close", "t-stack"]).status).toBe(0);
    }, 180_000);

    test("a stack on the local socket needs no tunnel", () => {
      deploy({ openWebuiUrlForTest: `http://127.0.0.1:${remotePort}/`, adminUiUrlForTest: `http://127.0.0.1:${adminPort}/ui` });
      const result = run(sshDir, ["stack-tunnel", "t-stack"], undefined, { cwd: project, env: env() });
      expect(result.status).toBe(0);
      expect(result.output).toContain("t-stack's Docker host is this machine: no tunnel needed");
    }, 180_000);

    test("a VPS stack: the admin listener is tunnelled to the server its vps output names, pinned to its host key", async () => {
      deploy({
        vpsForTest: JSON.stringify({ dockerHost: `ssh://root@127.0.0.1:${sshd.port}`, sshHostKey: sshd.publicKey("host_key") }),
        openWebuiUrlForTest: "http://203.0.113.80/",
        adminUiUrlForTest: `http://127.0.0.1:${adminPort}/ui`,
      });
      const opened = run(sshDir, ["stack-tunnel", "t-stack"], undefined, { cwd: project, env: env() });
      expect(opened.output).toContain(`tunnel t-stack open: ${adminPort}:${adminPort} `);
      expect(opened.status).toBe(0);
      expect(await readFromAddress("127.0.0.2", adminPort)).toBe("admin listener");
      expect(run(sshDir, ["close", "t-stack"]).status).toBe(0);
    }, 180_000);

    test("a tcp:// Docker host's loopback listeners cannot be tunnelled: refused with one line, exit 1", () => {
      deploy({
        dockerHost: "tcp://198.51.100.7:2376",
        openWebuiUrlForTest: "http://198.51.100.7:8080/",
        adminUiUrlForTest: `http://127.0.0.1:${adminPort}/ui`,
      });
      const result = run(sshDir, ["stack-tunnel", "t-stack"], undefined, { cwd: project, env: env() });
      expect(result.status).toBe(1);
      expect(result.output.trim()).toBe(
        "ci-docker-ssh: t-stack's Docker host tcp://198.51.100.7:2376 is not reached over ssh, so its loopback listeners cannot be tunnelled here: run the smoke test on that host",
      );
    }, 180_000);
  });
});
