/**
 * The Docker endpoint's settings (lib/dockerEndpoint.ts): the forms of a pinned ssh host key that
 * are accepted, the ssh option forms the allow-list reads, and the transport rules. Refusals of
 * whole stack configs are rows of tests/program/badConfig.test.ts; the options really connecting
 * is tests/keys/dockerEndpoints.test.ts.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { checkDockerTransport, sshHostKey, sshHostKeyFingerprint, sshOptions } from "../../lib/dockerEndpoint";
import { isLoopbackHost, pinnedSshOptions } from "../../lib/dockerHost";
import { SSH_HOST_KEY, SSH_HOST_KEY_FINGERPRINT } from "../fixtures/sshHostKey";

describe("dockerSshHostKey", () => {
  test.each([
    ["a .pub line with its comment", `${SSH_HOST_KEY} root@gateway`],
    ["a known_hosts line", `gw.example.com,203.0.113.10 ${SSH_HOST_KEY}`],
    ["a hashed known_hosts line", `|1|c2FsdA==|aGFzaA== ${SSH_HOST_KEY}`],
    ["a [host]:port known_hosts line", `[gw.example.com]:2222 ${SSH_HOST_KEY}`],
    ["surrounding whitespace and a trailing newline", `  ${SSH_HOST_KEY}\n`],
  ])("%s gives `<type> <base64>`", (_name, value) => {
    expect(sshHostKey("dockerSshHostKey", value)).toBe(SSH_HOST_KEY);
  });

  test("every key type ssh-keygen makes for a host is accepted, with ssh-keygen's fingerprint", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "aigw-hostkeys-"));
    try {
      for (const [type, bits] of [
        ["ed25519", "256"],
        ["ecdsa", "384"],
        ["rsa", "3072"],
      ]) {
        const file = path.join(dir, type);
        execFileSync("ssh-keygen", ["-q", "-t", type, "-b", bits, "-N", "", "-f", file]);
        const line = fs.readFileSync(`${file}.pub`, "utf8");
        const key = sshHostKey("dockerSshHostKey", line);
        expect(sshHostKeyFingerprint(key)).toBe(execFileSync("ssh-keygen", ["-lf", `${file}.pub`], { encoding: "utf8" }).split(" ")[1]);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    expect(sshHostKeyFingerprint(SSH_HOST_KEY)).toBe(SSH_HOST_KEY_FINGERPRINT);
  });

  test.each([
    ["two keys", `${SSH_HOST_KEY}\n${SSH_HOST_KEY}`, /must be the Docker host's ssh public key/],
    ["a private key", "-----BEGIN OPENSSH PRIVATE KEY-----", /must be the Docker host's ssh public key/],
    ["a truncated key", SSH_HOST_KEY.slice(0, 40), /does not hold a ssh-ed25519 key/],
    ["a revoked marker", `@revoked * ${SSH_HOST_KEY}`, /is a @revoked line/],
  ])("%s is refused", (_name, value, message) => {
    expect(() => sshHostKey("dockerSshHostKey", value)).toThrow(message);
  });
});

describe("dockerSshOpts allow-list", () => {
  test("the forms ssh reads -o in, any case, and the flags with values are accepted unchanged", () => {
    const options = [
      "-oIdentityFile=/home/me/.ssh/gateway",
      "-o",
      "identitiesonly yes",
      "-o",
      'IdentityFile "/home/me/.ssh/gateway key"',
      "-i",
      "/home/me/.ssh/other key",
      "-i/home/me/.ssh/third",
      "-J",
      "deploy@bastion.example.com:2222,jump2",
      "-oProxyJump=bastion",
      "-o",
      "ConnectTimeout=10",
      "-4",
      "-C",
    ];
    expect(sshOptions("dockerSshOpts", options)).toEqual(options);
  });

  test.each([
    [["-oProxyCommand=nc %h %p"], /ProxyCommand runs a local command/],
    [["-o", "PROXYCOMMAND nc %h %p"], /PROXYCOMMAND runs a local command/],
    [["-o", "PermitLocalCommand=yes"], /PermitLocalCommand lets LocalCommand run a local command/],
    [["-o", "Match exec true"], /Match can run a local command/],
    [["-o", "ControlPath=/tmp/%C"], /ControlPath would share a connection/],
    [["-o", "GlobalKnownHostsFile=/tmp/x"], /GlobalKnownHostsFile is the stack's own/],
    [["-o", "StrictHostKeyChecking accept-new"], /StrictHostKeyChecking must stay yes/],
    [["-o", "HostKeyAlias=other"], /HostKeyAlias is the stack's own/],
    [["-o", "Port=2222"], /Port belongs in dockerHost/],
    [["-p", "2222"], /-p the port belongs in dockerHost/],
    [["-o", "ForwardAgent=yes"], /ForwardAgent is not an allowed ssh option/],
    [["-o", "ConnectTimeout=soon"], /has a value ConnectTimeout does not take here/],
    [["-o", "IdentityFile /a b"], /has a value IdentityFile does not take here/],
    [["-J", "jump host"], /is not a value -J takes here/],
    [["-o"], /ends with -o and no option/],
    [["-A"], /-A would forward your ssh agent/],
    [["-vvv"], /-v would fill the errors/],
  ])("%j is refused", (options, message) => {
    expect(() => sshOptions("dockerSshOpts", options)).toThrow(message);
  });
});

describe("the transport rules", () => {
  const material = { ca: undefined, cert: undefined, key: undefined };
  test.each(["tcp://127.0.0.1:2375", "tcp://127.1.2.3:2375", "tcp://localhost:2375", "unix:///var/run/docker.sock"])(
    "%s without TLS is accepted (it never leaves the machine)",
    (host) => {
      expect(() => checkDockerTransport(host, material)).not.toThrow();
    },
  );

  test("TLS material known only at deploy time passes the presence check; it is parsed when known", () => {
    const later = { ca: {}, cert: {}, key: {} };
    expect(() => checkDockerTransport("tcp://203.0.113.5:2376", later)).not.toThrow();
  });

  test("loopback is 127.0.0.0/8, ::1 and localhost only", () => {
    expect(["127.0.0.1", "127.255.0.9", "localhost", "LOCALHOST", "::1"].every(isLoopbackHost)).toBe(true);
    expect(["128.0.0.1", "10.0.0.1", "localhost.example.com", "127.0.0.1.nip.io", "0.0.0.0"].some(isLoopbackHost)).toBe(false);
  });
});

test("the pinned options come as -o pairs ssh reads before any user option, with the key's own algorithm", () => {
  const options = pinnedSshOptions(SSH_HOST_KEY);
  expect(options.filter((_, i) => i % 2 === 0).every((o) => o === "-o")).toBe(true);
  expect(options).toContain("StrictHostKeyChecking=yes");
  expect(options).toContain("HostKeyAlgorithms=ssh-ed25519");
  expect(options).toContain(`KnownHostsCommand=/bin/sh -c 'echo "* $*"' known_hosts ${SSH_HOST_KEY}`);
  // What the command prints is the known_hosts line ssh is given, run as ssh runs it.
  const script = options.find((o) => o.startsWith("KnownHostsCommand="))!;
  const argv = ["-c", 'echo "* $*"', "known_hosts", ...SSH_HOST_KEY.split(" ")];
  expect(script).toContain(argv.slice(2).join(" "));
  expect(execFileSync("/bin/sh", argv, { encoding: "utf8" })).toBe(`* ${SSH_HOST_KEY}\n`);
  expect(() => pinnedSshOptions("ssh-ed25519 AAAA;rm")).toThrow(/not a pinnable ssh host key/);
  expect(pinnedSshOptions(`ssh-rsa ${"A".repeat(40)}`)).toContain("HostKeyAlgorithms=rsa-sha2-512,rsa-sha2-256");
});
