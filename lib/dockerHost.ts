import { createHash } from "crypto";

/** The parts of a Docker endpoint string, read in one place for validation, connections and URLs. */
export type DockerHostParts =
  | { readonly kind: "unix"; readonly path: string }
  | { readonly kind: "ssh"; readonly user: string; readonly host: string; readonly port?: string }
  | { readonly kind: "tcp"; readonly host: string; readonly port: string };

/** `unix:///path`, `ssh://user@host[:port]` or `tcp://host:port`, by shape only; undefined otherwise. */
export function parseDockerHost(value: string): DockerHostParts | undefined {
  const unix = /^unix:\/\/(\/\S+)$/.exec(value);
  if (unix) {
    return { kind: "unix", path: unix[1] };
  }
  const ssh = /^ssh:\/\/([A-Za-z_][A-Za-z0-9_.-]*)@([^:/\s]+)(?::([0-9]+))?$/.exec(value);
  if (ssh) {
    return { kind: "ssh", user: ssh[1], host: ssh[2], ...(ssh[3] !== undefined ? { port: ssh[3] } : {}) };
  }
  const tcp = /^tcp:\/\/([^:/\s]+):([0-9]+)$/.exec(value);
  if (tcp) {
    return { kind: "tcp", host: tcp[1], port: tcp[2] };
  }
  return undefined;
}

/** The machine a remote Docker endpoint runs on; undefined for the local socket. */
export function remoteDockerHost(value: string): string | undefined {
  const parts = parseDockerHost(value);
  return parts && parts.kind !== "unix" ? parts.host : undefined;
}

/** Host key types a Docker host's key can be pinned as, and the ssh host key algorithms each allows. */
export const SSH_HOST_KEY_ALGORITHMS: Readonly<Record<string, string>> = {
  "ssh-ed25519": "ssh-ed25519",
  "ecdsa-sha2-nistp256": "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384": "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521": "ecdsa-sha2-nistp521",
  // An RSA host key signs with SHA-2; ssh-rsa (SHA-1 signatures) stays off, as in OpenSSH >= 8.8.
  "ssh-rsa": "rsa-sha2-512,rsa-sha2-256",
  "sk-ssh-ed25519@openssh.com": "sk-ssh-ed25519@openssh.com",
  "sk-ecdsa-sha2-nistp256@openssh.com": "sk-ecdsa-sha2-nistp256@openssh.com",
};

/**
 * The ssh options that make the Docker host's pinned key (`<type> <base64>`, validated) the only
 * key ssh accepts, whatever ~/.ssh/known_hosts, /etc/ssh/ssh_known_hosts or ssh_config say. They go
 * before any user option, and ssh keeps the first value it reads for an option, so none of them can
 * be overridden by the user's options or config.
 *
 * The key reaches ssh through KnownHostsCommand (OpenSSH >= 8.5) rather than a known_hosts file:
 * the docker provider gets these options from the stack's state in `pulumi destroy` and `refresh`,
 * which do not run the program, possibly on another machine; a command that prints the pinned line
 * works wherever ssh runs, needs no file that could be missing, stale or swapped by another local
 * user, and is the same string on every machine (no per-machine path in the provider's config).
 * The command is fixed (/bin/sh printing its arguments); the key's type and base64 are validated
 * to [A-Za-z0-9@.+/=-] before they get here, so they cannot be read as shell or as ssh's %-tokens.
 */
export function pinnedSshOptions(hostKey: string): string[] {
  const [type, blob] = hostKey.split(" ");
  const algorithms = SSH_HOST_KEY_ALGORITHMS[type];
  if (!algorithms || !/^[A-Za-z0-9+/=]+$/.test(blob ?? "")) {
    throw new Error(`not a pinnable ssh host key: ${hostKey}`);
  }
  return [
    "-o",
    "BatchMode=yes",
    "-o",
    "StrictHostKeyChecking=yes",
    "-o",
    "UserKnownHostsFile=/dev/null",
    "-o",
    "GlobalKnownHostsFile=/dev/null",
    // "*": the line matches whatever name ssh looks the host up by ([host]:port, an alias).
    "-o",
    `KnownHostsCommand=/bin/sh -c 'echo "* $*"' known_hosts ${type} ${blob}`,
    // Only the pinned key's type is negotiated, so any other key is reported as a changed key, with
    // its fingerprint, instead of "no ED25519 host key is known".
    "-o",
    `HostKeyAlgorithms=${algorithms}`,
    // Other ways ssh could come to trust a key or write one: DNS (SSHFP) and learning keys.
    "-o",
    "VerifyHostKeyDNS=no",
    "-o",
    "CheckHostIP=no",
    "-o",
    "UpdateHostKeys=no",
    // ssh's default level, which the messages need: a failed negotiation ("no matching host key
    // type") is logged at INFO, the host key errors at ERROR; QUIET would hide both.
    "-o",
    "LogLevel=INFO",
  ];
}

/** 127.0.0.0/8, ::1 and localhost: a plain tcp:// Docker endpoint never leaves the machine there. */
export function isLoopbackHost(host: string): boolean {
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) || host === "::1" || host === "[::1]" || host.toLowerCase() === "localhost";
}

/** An ssh key's fingerprint as ssh prints it: SHA256:<unpadded base64 of the key blob's SHA-256>. */
export function sshKeyFingerprint(blob: string): string {
  return `SHA256:${createHash("sha256").update(Buffer.from(blob, "base64")).digest("base64").replace(/=+$/, "")}`;
}
