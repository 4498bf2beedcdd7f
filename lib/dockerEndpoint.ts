/**
 * Settings of the Docker endpoint that decide who the stack trusts with its secrets: the ssh host's
 * pinned key, the ssh options allowed next to it, and the TLS material a tcp:// engine needs.
 * Validated before any resource is registered; the exec client (lib/dockerExec.ts) and the docker
 * provider then use what passed.
 */
import { SettingError, shown, shownSecret } from "./errors";
import { isLoopbackHost, parseDockerHost, SSH_HOST_KEY_ALGORITHMS, sshKeyFingerprint } from "./dockerHost";
import * as validate from "./validation";

/** The TLS material of a tcp:// Docker endpoint, as given (plain strings, Outputs, or absent). */
export interface DockerTlsInput {
  readonly ca?: unknown;
  readonly cert?: unknown;
  readonly key?: unknown;
}

/** How PEM messages name the client certificate and key (docker --tlsverify's cert.pem and key.pem). */
const DOCKER_PEM: validate.PemNames = {
  noun: "a PEM certificate",
  example: "the client certificate (cert.pem) the engine trusts",
  certificate: "the client certificate (cert.pem)",
  keySetting: "dockerTlsKey",
  reader: "the Docker client",
  keyExample: "the client certificate's key (key.pem)",
};

/** The setting names, for messages. */
const TLS_SETTINGS = { ca: "dockerTlsCa", cert: "dockerTlsCert", key: "dockerTlsKey" } as const;

/**
 * The Docker host's ssh public key: `<type> <base64> [comment]` (a host's
 * /etc/ssh/ssh_host_ed25519_key.pub) or a known_hosts line `<hosts> <type> <base64> [comment]`
 * (from `ssh-keygen -F host`). Returns `<type> <base64>`. The base64 must decode to a key blob of
 * the stated type, so a truncated or pasted-wrong key is refused here rather than by ssh.
 */
export function sshHostKey(key: string, value: unknown): string {
  const allowed = `must be the Docker host's ssh public key, e.g. "ssh-ed25519 AAAAC3Nz..." (on the host: cat /etc/ssh/ssh_host_ed25519_key.pub) or its known_hosts line; types: ${Object.keys(SSH_HOST_KEY_ALGORITHMS).join(", ")}`;
  if (typeof value !== "string" || /[\r\n]/.test(value.trim())) {
    throw new SettingError(key, shown(value), allowed);
  }
  const fields = value.trim().split(/\s+/);
  if (fields[0]?.startsWith("@")) {
    throw new SettingError(key, shown(value), `is a ${fields[0]} line; ${allowed}`);
  }
  const at = fields.findIndex((f) => SSH_HOST_KEY_ALGORITHMS[f] !== undefined);
  // The type comes first (a .pub line) or second (after a known_hosts line's host patterns).
  if (at < 0 || at > 1 || fields[at + 1] === undefined || !/^[A-Za-z0-9+/]+={0,2}$/.test(fields[at + 1])) {
    throw new SettingError(key, shown(value), allowed);
  }
  const [type, blob] = [fields[at], fields[at + 1]];
  if (!isKeyBlob(Buffer.from(blob, "base64"), type)) {
    throw new SettingError(key, shown(value), `does not hold a ${type} key (its base64 does not decode to one); ${allowed}`);
  }
  return `${type} ${blob}`;
}

/**
 * Whether `bytes` is an ssh public key blob of `type`: length-prefixed fields (RFC 4253 6.6) that
 * use up every byte, the first being the type; so a truncated or spliced base64 does not pass.
 */
function isKeyBlob(bytes: Buffer, type: string): boolean {
  const fields: Buffer[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    if (offset + 4 > bytes.length) {
      return false;
    }
    const length = bytes.readUInt32BE(offset);
    if (offset + 4 + length > bytes.length) {
      return false;
    }
    fields.push(bytes.subarray(offset + 4, offset + 4 + length));
    offset += 4 + length;
  }
  return fields.length >= 2 && fields[0].toString("latin1") === type && (type !== "ssh-ed25519" || fields[1].length === 32);
}

/** The pinned key's fingerprint, as `ssh-keygen -lf` prints it. */
export function sshHostKeyFingerprint(hostKey: string): string {
  return sshKeyFingerprint(hostKey.split(" ")[1]);
}

const YES_NO = /^(yes|no)$/i;
const WHOLE_NUMBER = /^[0-9]{1,6}$/;
const USER = "[A-Za-z_][A-Za-z0-9_.-]*";
const HOST = "[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})";
/** ProxyJump: `[user@]host[:port]`, comma-separated, or none; ssh builds a shell command from it. */
const JUMP_HOST = `(?:${USER}@)?${HOST}(?::[0-9]{1,5})?`;
const JUMP = new RegExp(`^(?:none|${JUMP_HOST}(?:,${JUMP_HOST})*)$`);
/** A file or socket path: anything printable; ssh only expands ~, %-tokens and ${VAR} in it. */
// eslint-disable-next-line no-control-regex -- refusing control characters is the point
const PATH = /^[^\x00-\x1f\x7f]+$/;

/** `-o` options that can neither run a command nor change how the host is authenticated, with their values. */
const ALLOWED_O: Readonly<Record<string, RegExp>> = {
  identityfile: PATH,
  certificatefile: PATH,
  identityagent: PATH,
  identitiesonly: YES_NO,
  pubkeyauthentication: YES_NO,
  preferredauthentications: /^[a-z-]+(,[a-z-]+)*$/,
  connecttimeout: WHOLE_NUMBER,
  connectionattempts: WHOLE_NUMBER,
  serveraliveinterval: WHOLE_NUMBER,
  serveralivecountmax: WHOLE_NUMBER,
  tcpkeepalive: YES_NO,
  compression: YES_NO,
  addressfamily: /^(any|inet|inet6)$/i,
  proxyjump: JUMP,
  // The stack's own values; accepted for configs that already say so.
  stricthostkeychecking: /^yes$/i,
  batchmode: /^yes$/i,
};

/** Options refused with a reason of their own (everything not in ALLOWED_O is refused too). */
const REFUSED_O: Readonly<Record<string, string>> = {
  proxycommand: "runs a local command",
  localcommand: "runs a local command",
  permitlocalcommand: "lets LocalCommand run a local command",
  knownhostscommand: "runs a local command (the stack pins the host key itself: dockerSshHostKey)",
  match: "can run a local command (Match exec)",
  include: "reads another config file",
  stricthostkeychecking: "must stay yes: the stack checks the host key against dockerSshHostKey",
  batchmode: "must stay yes: nobody answers ssh's prompts during pulumi up",
  userknownhostsfile: "is the stack's own (the only accepted key is dockerSshHostKey)",
  globalknownhostsfile: "is the stack's own (the only accepted key is dockerSshHostKey)",
  hostkeyalias: "is the stack's own (the only accepted key is dockerSshHostKey)",
  hostkeyalgorithms: "is the stack's own (the type of dockerSshHostKey)",
  verifyhostkeydns: "would trust keys from DNS instead of dockerSshHostKey",
  controlmaster: "would share a connection another process opened",
  controlpath: "would share a connection another process opened",
  controlpersist: "would share a connection another process opened",
  port: "belongs in dockerHost (ssh://user@host:port), which the provider's and the tunnel's ssh both use",
  user: "belongs in dockerHost (ssh://user@host)",
  hostname: "belongs in dockerHost",
  loglevel: "is the stack's own (ssh's errors must reach the messages)",
};

/** Flags with a value, as separate or attached arguments, and what they stand for. */
const VALUE_FLAGS: Readonly<Record<string, string>> = { "-i": "identityfile", "-J": "proxyjump" };
const BARE_FLAGS = new Set(["-4", "-6", "-C"]);
const REFUSED_FLAGS: Readonly<Record<string, string>> = {
  "-F": "reads another ssh config file, which can run commands",
  "-p": "the port belongs in dockerHost (ssh://user@host:port)",
  "-l": "the user belongs in dockerHost (ssh://user@host)",
  "-q": "would hide ssh's errors",
  "-v": "would fill the errors with ssh's debug log",
  "-A": "would forward your ssh agent to the Docker host",
  "-X": "forwards X11",
  "-Y": "forwards X11",
  "-L": "opens a port forwarding",
  "-R": "opens a port forwarding",
  "-D": "opens a port forwarding",
  "-W": "forwards stdio elsewhere",
  "-S": "would share a connection another process opened",
  "-M": "would share a connection another process opened",
  "-O": "controls a shared connection",
  "-E": "writes ssh's errors to a file instead of the messages",
  "-G": "prints the configuration instead of connecting",
};

const ALLOWED_SUMMARY = `allowed: -i <key file>, -J <[user@]host[:port]>, -4, -6, -C, and -o ${[
  "IdentityFile",
  "CertificateFile",
  "IdentityAgent",
  "IdentitiesOnly",
  "PubkeyAuthentication",
  "PreferredAuthentications",
  "ConnectTimeout",
  "ConnectionAttempts",
  "ServerAliveInterval",
  "ServerAliveCountMax",
  "TCPKeepAlive",
  "Compression",
  "AddressFamily",
  "ProxyJump",
  "StrictHostKeyChecking=yes",
  "BatchMode=yes",
].join("/")}`;

/** Checks one `-o` value (`Key=value`, `Key value`, quoted value), case-insensitively. */
function sshOption(key: string, option: string): void {
  const match = /^\s*([A-Za-z]+)\s*(?:=\s*|\s+)(.*?)\s*$/.exec(option);
  if (!match) {
    throw new SettingError(key, shown(option), `is not an ssh -o option (Key=value); ${ALLOWED_SUMMARY}`);
  }
  const [, name, rawValue] = match;
  const lower = name.toLowerCase();
  // ssh reads a value in double quotes as one word; an unquoted value must be one word.
  const quoted = /^"([^"]*)"$/.exec(rawValue);
  const value = quoted ? quoted[1] : rawValue;
  const pattern = ALLOWED_O[lower];
  if (pattern && value !== "" && (quoted || !/\s/.test(value)) && pattern.test(value)) {
    return;
  }
  const reason = REFUSED_O[lower];
  if (reason) {
    throw new SettingError(key, shown(option), `${name} ${reason}; ${ALLOWED_SUMMARY}`);
  }
  if (pattern) {
    throw new SettingError(key, shown(option), `has a value ${name} does not take here; ${ALLOWED_SUMMARY}`);
  }
  throw new SettingError(key, shown(option), `${name} is not an allowed ssh option; ${ALLOWED_SUMMARY}`);
}

/**
 * dockerSshOpts, limited to options that cannot run a command or change how the host's key is
 * checked: they reach the docker provider's and the exec client's ssh, on the machine running
 * pulumi (in CI, the runner holding the deploy key and the state passphrase).
 */
export function sshOptions(key: string, value: unknown): string[] {
  const options = validate.stringList(key, value);
  for (let i = 0; i < options.length; i++) {
    const option = options[i];
    const flag = option.slice(0, 2);
    if (flag === "-o") {
      const rest = option.length > 2 ? option.slice(2) : options[++i];
      if (rest === undefined) {
        throw new SettingError(key, shown(options), `ends with -o and no option`);
      }
      sshOption(key, rest);
    } else if (VALUE_FLAGS[flag] !== undefined && option.startsWith("-")) {
      const rest = option.length > 2 ? option.slice(2) : options[++i];
      if (rest === undefined || !ALLOWED_O[VALUE_FLAGS[flag]].test(rest)) {
        throw new SettingError(key, shown(rest ?? options), `is not a value ${flag} takes here; ${ALLOWED_SUMMARY}`);
      }
    } else if (BARE_FLAGS.has(option)) {
      continue;
    } else if (option.startsWith("-")) {
      const reason = REFUSED_FLAGS[flag];
      throw new SettingError(key, shown(option), `${reason ? `${flag} ${reason}` : "is not an allowed ssh option"}; ${ALLOWED_SUMMARY}`);
    } else {
      throw new SettingError(
        key,
        shown(option),
        `is not an ssh option or the value of the option before it (ssh would read it as the host or a command); ${ALLOWED_SUMMARY}`,
      );
    }
  }
  return options;
}

/**
 * Parses whichever of the Docker TLS material are plain strings: the CA and client certificate as
 * X.509, the key as a private key that belongs to the client certificate. Outputs are skipped here
 * (their values are not known before resources are registered) and checked when known.
 */
export function parseDockerTlsMaterial(material: DockerTlsInput): void {
  if (typeof material.ca === "string") {
    validate.pemCertificateChain(TLS_SETTINGS.ca, material.ca, {
      ...DOCKER_PEM,
      example: "the CA certificate (ca.pem) the engine's certificate is signed by",
      certificate: "the CA certificate (ca.pem)",
    });
  }
  const chain = typeof material.cert === "string" ? validate.pemCertificateChain(TLS_SETTINGS.cert, material.cert, DOCKER_PEM) : undefined;
  const privateKey = typeof material.key === "string" ? validate.pemPrivateKey(TLS_SETTINGS.key, material.key, DOCKER_PEM) : undefined;
  if (chain && privateKey && typeof material.key === "string" && !chain[0].checkPrivateKey(privateKey)) {
    throw new SettingError(TLS_SETTINGS.key, shownSecret(material.key), `does not belong to ${TLS_SETTINGS.cert}`);
  }
}

/**
 * The transport rules: a tcp:// engine only with TLS (all three of CA, client certificate and key),
 * except on loopback; TLS material only for a tcp:// engine. Then parses what is plain.
 */
export function checkDockerTransport(dockerHost: string, material: DockerTlsInput): void {
  const parts = parseDockerHost(dockerHost);
  const given = (Object.keys(TLS_SETTINGS) as (keyof typeof TLS_SETTINGS)[]).filter((k) => material[k] !== undefined);
  if (parts?.kind !== "tcp") {
    if (given.length > 0) {
      throw new SettingError(
        TLS_SETTINGS[given[0]],
        "[secret]",
        `only applies to a tcp:// dockerHost (dockerHost is ${shown(dockerHost)}); remove ${given.map((k) => TLS_SETTINGS[k]).join(", ")}`,
      );
    }
    return;
  }
  if (given.length === 0) {
    if (!isLoopbackHost(parts.host)) {
      throw new SettingError(
        "dockerHost",
        shown(dockerHost),
        "is a plain tcp:// engine on another machine: every secret (master key, virtual keys, container environments) would cross the network in cleartext to an unauthenticated root API; use ssh://user@host, or set dockerTlsCa, dockerTlsCert and dockerTlsKey (secret) for an engine listening with --tlsverify",
      );
    }
    return;
  }
  const missing = (Object.keys(TLS_SETTINGS) as (keyof typeof TLS_SETTINGS)[]).find((k) => material[k] === undefined);
  if (missing) {
    throw new SettingError(
      TLS_SETTINGS[missing],
      shown(undefined),
      `is required with ${given.map((k) => TLS_SETTINGS[k]).join(" and ")}: a tcp:// engine with TLS needs the CA, the client certificate and its key (pulumi config set --secret ${TLS_SETTINGS[missing]} < file.pem)`,
    );
  }
  parseDockerTlsMaterial(material);
}
