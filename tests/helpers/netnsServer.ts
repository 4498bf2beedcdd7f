/**
 * A "server" booted from the VPS's cloud-init user data on this machine, for the tests of the
 * remote deploy path: what the Hetzner server looks like from the deploying machine once cloud-init
 * is done, reached as `ssh://<deploy user>@<its address>` with the host key the stack pinned.
 *
 * - Network: a network namespace (tests/helpers/netns.ts) linked to this machine by a veth pair,
 *   host side `<prefix>.1/30`, the server `<prefix>.2/30` (the address the Hetzner API stand-in
 *   hands out as the primary IPv4).
 * - sshd on port 22 inside it, configured as the user data configures the real server: the image's
 *   defaults (Ubuntu's /etc/ssh/sshd_config: `Include /etc/ssh/sshd_config.d/*.conf`, UsePAM yes),
 *   the user data's own sshd_config.d file from write_files verbatim, the host key from
 *   `ssh_keys.ed25519_private/_public`; /etc/ssh is the namespace's own (NetNs.etcDir()).
 * - The deploy user (`users[0].name`), created on this machine with its `ssh_authorized_keys`,
 *   removed by dispose(); in the group that owns /var/run/docker.sock (the user data's `docker`
 *   group is the socket's group on a Debian/Ubuntu server; here whichever group the engine's socket
 *   has), so `docker system dial-stdio` over ssh (what the docker provider runs) reaches the real
 *   engine through the unix socket, which the namespace shares with this machine.
 * - `cloud-init` on the deploy user's PATH (tests/helpers/remoteCommands.ts) answering `status
 *   --wait --long` as cloud-init does when it is done.
 * What the user data does that this server does not: install docker.io, daemon.json, mount the
 * Hetzner Volume at /var/lib/docker/volumes (the engine here is this machine's), apt settings, the
 * metadata route. Those parts are validated by the real `cloud-init schema` (tests/unit, cloudInit).
 * Containers run on this machine's engine, so their published ports are on this machine's network
 * namespace (127.0.0.1), not on the server's address.
 */
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import { parse } from "yaml";
import { NetNs } from "./netns";
import { RemoteCommands } from "./remoteCommands";

/** What the server takes from the user data (`#cloud-config`, lib/cloudInit.ts renderCloudInit). */
export interface ServerUserData {
  readonly deployUser: string;
  readonly authorizedKeys: readonly string[];
  readonly hostPrivateKey: string;
  readonly hostPublicKey: string;
  /** write_files entries under /etc/ssh/ (their paths and contents). */
  readonly sshFiles: readonly { path: string; content: string }[];
  /** The whole parsed cloud-config. */
  readonly config: any;
}

/** Reads the user data as cloud-init would (YAML after the `#cloud-config` line); throws when a part the server needs is missing. */
export function readUserData(text: string): ServerUserData {
  if (!text.startsWith("#cloud-config\n")) {
    throw new Error("user data is not a #cloud-config document");
  }
  // cloud-init reads YAML 1.1 (PyYAML), as lib/cloudInit.ts writes it.
  const config = parse(text, { version: "1.1" });
  const user = config?.users?.[0];
  const keys = config?.ssh_keys;
  if (typeof user?.name !== "string" || !Array.isArray(user.ssh_authorized_keys) || !keys?.ed25519_private || !keys?.ed25519_public) {
    throw new Error("user data lacks users[0].name, users[0].ssh_authorized_keys or ssh_keys.ed25519_private/public");
  }
  const sshFiles = ((config.write_files ?? []) as { path: string; content: string }[]).filter((f) => f.path.startsWith("/etc/ssh/"));
  return {
    deployUser: user.name,
    authorizedKeys: user.ssh_authorized_keys,
    hostPrivateKey: keys.ed25519_private,
    hostPublicKey: keys.ed25519_public,
    sshFiles,
    config,
  };
}

/** A free /30 in 10.213.0.0/16 (none of this machine's addresses in it): host side .1, server .2 of the block. */
export function freeLink(): { hostAddress: string; address: string } {
  const used = execFileSync("ip", ["-4", "-o", "addr", "show"], { encoding: "utf8" });
  for (let attempt = 0; attempt < 100; attempt++) {
    const third = 1 + Math.floor(Math.random() * 254);
    const block = 4 * Math.floor(Math.random() * 63);
    const base = `10.213.${third}.`;
    if (!used.includes(`${base}${block + 1}/`) && !used.includes(`${base}${block + 2}/`)) {
      return { hostAddress: `${base}${block + 1}`, address: `${base}${block + 2}` };
    }
  }
  throw new Error("no free /30 in 10.213.0.0/16");
}

/** The group owning the Docker socket (the server's `docker` group plays this part). */
function dockerSocketGroup(): string {
  const gid = fs.statSync("/var/run/docker.sock").gid;
  return execFileSync("getent", ["group", String(gid)], { encoding: "utf8" }).split(":")[0];
}

export class NetnsServer {
  readonly netns = new NetNs();
  readonly commands = new RemoteCommands(false);
  private userCreated = false;

  private constructor(
    readonly userData: ServerUserData,
    readonly address: string,
  ) {}

  /**
   * Boots the server: link, /etc/ssh, deploy user, sshd. Resolves once sshd accepts connections on
   * `address`:22 from this machine. `hostAddress`/`address` as freeLink() gives them.
   */
  static async boot(userDataText: string, link: { hostAddress: string; address: string }): Promise<NetnsServer> {
    const server = new NetnsServer(readUserData(userDataText), link.address);
    try {
      server.netns.link(link.hostAddress, link.address, 30);
      server.createDeployUser();
      server.writeSshConfig();
      const sshd = server.netns.start(["/usr/sbin/sshd", "-D", "-e", "-f", "/etc/ssh/sshd_config"]);
      let log = "";
      sshd.stderr?.on("data", (chunk: Buffer) => (log += chunk.toString("utf8")));
      for (let i = 0; !(await tcpOpen(link.address, 22)); i++) {
        if (i >= 50 || sshd.exitCode !== null) {
          throw new Error(`sshd in ${server.netns.name} did not listen on ${link.address}:22: ${log.trim()}`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      return server;
    } catch (error) {
      server.dispose();
      throw error;
    }
  }

  private createDeployUser(): void {
    const user = this.userData.deployUser;
    if (spawnSync("id", [user]).status === 0) {
      throw new Error(`user ${user} already exists on this machine; the test creates and removes it`);
    }
    // As cloud-init's users_groups does: a home, bash, a locked password (useradd's default "!").
    execFileSync("useradd", ["--create-home", "--shell", "/bin/bash", "--groups", dockerSocketGroup(), user]);
    this.userCreated = true;
    const home = execFileSync("getent", ["passwd", user], { encoding: "utf8" }).split(":")[5];
    const sshDir = path.join(home, ".ssh");
    fs.mkdirSync(sshDir, { mode: 0o700 });
    fs.writeFileSync(path.join(sshDir, "authorized_keys"), this.userData.authorizedKeys.map((k) => `${k}\n`).join(""), { mode: 0o600 });
    execFileSync("chown", ["-R", `${user}:${user}`, sshDir]);
  }

  private writeSshConfig(): void {
    const etcSsh = path.join(this.netns.etcDir(), "ssh");
    fs.mkdirSync(path.join(etcSsh, "sshd_config.d"), { recursive: true });
    if (fs.existsSync("/etc/ssh/moduli")) {
      fs.copyFileSync("/etc/ssh/moduli", path.join(etcSsh, "moduli"));
    }
    // The image's sshd_config, reduced to what matters here (Ubuntu 24.04's starts with the Include
    // and sets UsePAM yes); then the test's own lines: the address, no pid file, the stand-ins' PATH.
    fs.writeFileSync(
      path.join(etcSsh, "sshd_config"),
      [
        "Include /etc/ssh/sshd_config.d/*.conf",
        "Port 22",
        `ListenAddress ${this.address}`,
        "UsePAM yes",
        "PidFile none",
        this.commands.sshdSetting(),
        "",
      ].join("\n"),
    );
    for (const file of this.userData.sshFiles) {
      const target = path.join(etcSsh, path.relative("/etc/ssh", file.path));
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(target, file.content, { mode: 0o644 });
    }
    // cloud-init's ssh module writes the given host key pair (cc_ssh: the private key 0600).
    fs.writeFileSync(path.join(etcSsh, "ssh_host_ed25519_key"), this.userData.hostPrivateKey, { mode: 0o600 });
    fs.writeFileSync(path.join(etcSsh, "ssh_host_ed25519_key.pub"), `${this.userData.hostPublicKey}\n`, { mode: 0o644 });
  }

  /** Stops sshd, removes the namespace, its link and /etc, the deploy user and its home. */
  dispose(): void {
    this.netns.dispose();
    if (this.userCreated) {
      // The user's ssh sessions (docker dial-stdio) ran in the namespace and are gone with it.
      spawnSync("userdel", ["--remove", "--force", this.userData.deployUser]);
      this.userCreated = false;
    }
    this.commands.remove();
  }
}

function tcpOpen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, timeout: 1000 });
    socket.on("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.on("timeout", () => {
      socket.destroy();
      resolve(false);
    });
    socket.on("error", () => resolve(false));
  });
}
