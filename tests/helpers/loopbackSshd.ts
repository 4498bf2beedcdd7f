import { ChildProcess, execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";

/**
 * A real sshd on 127.0.0.1 for the tests that reach the Docker engine over ssh:// (as root, whose
 * `docker system dial-stdio` then runs against the local engine): key-only login with `client_key`,
 * host keys generated in a scratch directory and chosen per start.
 */
export class LoopbackSshd {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), "aigw-sshd-"));
  readonly port = 20000 + Math.floor(Math.random() * 20000);
  private process: ChildProcess | undefined;

  /** Generates `client_key` (the authorized one) and the named keys, `[name, type]` (default ed25519). */
  constructor(keys: readonly (string | [string, string])[]) {
    for (const entry of ["client_key", ...keys]) {
      const [name, type] = typeof entry === "string" ? [entry, "ed25519"] : entry;
      execFileSync("ssh-keygen", ["-q", "-t", type, "-N", "", "-C", "", "-f", this.keyFile(name)]);
    }
    fs.copyFileSync(`${this.keyFile("client_key")}.pub`, path.join(this.dir, "authorized_keys"));
  }

  /** Installs a key pair made elsewhere (e.g. lib/sshHostKeyPair.ts) under `name`, as ssh-keygen would write it (private mode 0600). */
  installKey(name: string, key: { readonly privateKey: string; readonly publicKey: string }): void {
    fs.writeFileSync(this.keyFile(name), key.privateKey, { mode: 0o600 });
    fs.writeFileSync(`${this.keyFile(name)}.pub`, `${key.publicKey}\n`);
  }

  keyFile(name: string): string {
    return path.join(this.dir, name);
  }

  /** `<type> <base64>` of a generated key, as dockerSshHostKey takes it. */
  publicKey(name: string): string {
    return fs
      .readFileSync(`${this.keyFile(name)}.pub`, "utf8")
      .trim()
      .split(" ")
      .slice(0, 2)
      .join(" ");
  }

  /** `SHA256:...`, as ssh prints a key's fingerprint. */
  fingerprint(name: string): string {
    return execFileSync("ssh-keygen", ["-lf", `${this.keyFile(name)}.pub`], { encoding: "utf8" }).split(" ")[1];
  }

  /**
   * (Re)starts on the same port with `hostKey`, as a host that got a new key would; resolves once it
   * listens. `settings`: further sshd_config lines (sshd keeps the first value of most keywords, so
   * they add to the ones here, they do not override them).
   */
  async start(hostKey: string, settings: readonly string[] = []): Promise<void> {
    this.process?.kill();
    const config = path.join(this.dir, "sshd_config");
    fs.writeFileSync(
      config,
      [
        `Port ${this.port}`,
        "ListenAddress 127.0.0.1",
        `HostKey ${this.keyFile(hostKey)}`,
        `AuthorizedKeysFile ${this.dir}/authorized_keys`,
        "PermitRootLogin prohibit-password",
        "PasswordAuthentication no",
        "StrictModes no",
        "UsePAM no",
        `PidFile ${this.dir}/sshd.pid`,
        ...settings,
      ].join("\n") + "\n",
    );
    fs.mkdirSync("/run/sshd", { recursive: true });
    this.process = spawn("/usr/sbin/sshd", ["-D", "-e", "-f", config], { stdio: "ignore" });
    for (let i = 0; i < 50 && !(await tcpOpen(this.port)); i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  stop(): void {
    this.process?.kill();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

function tcpOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.on("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.on("error", () => resolve(false));
  });
}
