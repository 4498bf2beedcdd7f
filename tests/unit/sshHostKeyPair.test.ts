/**
 * The stack-made SSH host key (lib/sshHostKeyPair.ts), checked by OpenSSH itself: ssh-keygen reads
 * the private key file and derives exactly the public line, rewrites it byte for byte the same (but
 * for the random check-ints it draws), and sshd accepts it as a HostKey; cloud-init's user data
 * takes the pair. cloud-init adds no check of its own: cc_ssh writes `ssh_keys` entries verbatim to
 * /etc/ssh/ssh_host_ed25519_key (mode 0600) and .pub (0644) (VERIFIED in cloud-init 26.2's
 * cloudinit/config/cc_ssh.py), so sshd's check below is the one that counts on the server.
 */
import { execFileSync, spawnSync } from "child_process";
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse } from "yaml";
import { DOCKER_LOG_ROTATION, renderCloudInit } from "../../lib/cloudInit";
import { sshKeyFingerprint } from "../../lib/dockerHost";
import { ED25519_SEED_BYTES, ed25519HostKey } from "../../lib/sshHostKeyPair";
import { describeWith, requirements } from "../helpers/requirements";
import { generateSshKey, sshKeygenFingerprint } from "../helpers/sshKeys";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ai-gateway-hostkey-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Writes a private key file as sshd and ssh-keygen want it (mode 0600: they refuse a readable one). */
function keyFile(name: string, privateKey: string): string {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, privateKey, { mode: 0o600 });
  return file;
}

/** The binary body of an OpenSSH private key file (the base64 between the PEM lines). */
function body(privateKey: string): Buffer {
  return Buffer.from(privateKey.split("\n").slice(1, -2).join(""), "base64");
}

/** The offset of the private section's length field: after magic, cipher, kdf, kdf options, key count and the public blob. */
function findSectionLengthOffset(data: Buffer): number {
  let offset = 15; // "openssh-key-v1\0"
  for (let field = 0; field < 3; field++) {
    offset += 4 + data.readUInt32BE(offset);
  }
  offset += 4; // number of keys
  offset += 4 + data.readUInt32BE(offset); // public key blob
  return offset;
}

/** RFC 8032 §7.1, TEST 1: the Ed25519 secret key (seed) and its public key. */
const RFC8032_SEED = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
const RFC8032_PUBLIC = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";

describe("ed25519HostKey: the key material", () => {
  test("the public key is the one RFC 8032's test vector gives for its seed", () => {
    const { publicKey } = ed25519HostKey(Buffer.from(RFC8032_SEED, "hex"));
    const blob = Buffer.from(publicKey.split(" ")[1], "base64");
    // string "ssh-ed25519", string <32 bytes> (RFC 8709 §4).
    expect(blob.subarray(0, 15).toString("hex")).toBe(`0000000b${Buffer.from("ssh-ed25519").toString("hex")}`);
    expect(blob.subarray(15, 19).readUInt32BE(0)).toBe(32);
    expect(blob.subarray(19).toString("hex")).toBe(RFC8032_PUBLIC);
    expect(publicKey.split(" ")).toHaveLength(2);
  });

  test("the private section holds seed||public and the comment, after two equal check-ints", () => {
    const seed = Buffer.from(RFC8032_SEED, "hex");
    const data = body(ed25519HostKey(seed, "gateway@vps").privateKey);
    expect(data.subarray(0, 15).toString("latin1")).toBe("openssh-key-v1\0");
    const secret = Buffer.concat([seed, Buffer.from(RFC8032_PUBLIC, "hex")]);
    expect(data.includes(secret)).toBe(true);
    const lengthAt = findSectionLengthOffset(data);
    const section = data.subarray(lengthAt + 4, lengthAt + 4 + data.readUInt32BE(lengthAt));
    expect(lengthAt + 4 + section.length).toBe(data.length);
    expect(section.readUInt32BE(0)).toBe(section.readUInt32BE(4));
    // Padding 1, 2, 3, ... to a multiple of 8 (cipher "none"), after the comment.
    const afterComment = section.subarray(section.indexOf(Buffer.from("gateway@vps")) + "gateway@vps".length);
    expect([...afterComment]).toEqual(Array.from({ length: afterComment.length }, (_, i) => i + 1));
    expect(section.length % 8).toBe(0);
  });

  test("the same seed gives byte-identical text; different seeds give different keys", () => {
    const seed = randomBytes(ED25519_SEED_BYTES);
    expect(ed25519HostKey(Buffer.from(seed), "c")).toEqual(ed25519HostKey(Buffer.from(seed), "c"));
    const other = ed25519HostKey(randomBytes(ED25519_SEED_BYTES), "c");
    const first = ed25519HostKey(seed, "c");
    expect(other.publicKey).not.toBe(first.publicKey);
    expect(other.privateKey).not.toBe(first.privateKey);
  });

  test.each([0, 16, 31, 33, 64])("a seed of %i bytes is refused with a plain Error", (length) => {
    expect(() => ed25519HostKey(Buffer.alloc(length, 1))).toThrow(
      new Error(`an Ed25519 host key needs a seed of exactly 32 bytes, got ${length}`),
    );
  });

  test.each(["two\nlines", " leading", "trailing ", "tab\there", "naïve"])("a comment %j is refused", (comment) => {
    expect(() => ed25519HostKey(Buffer.alloc(32, 1), comment)).toThrow(/an SSH key comment must be printable ASCII on one line/);
  });

  test("the text is PEM-armoured with base64 lines of 70 columns, as ssh-keygen writes them", () => {
    const lines = ed25519HostKey(randomBytes(32), "a-comment-long-enough-to-need-another-line@ai-gateway.example").privateKey.split("\n");
    expect(lines[0]).toBe("-----BEGIN OPENSSH PRIVATE KEY-----");
    expect(lines.slice(-2)).toEqual(["-----END OPENSSH PRIVATE KEY-----", ""]);
    const base64 = lines.slice(1, -2);
    expect(base64.slice(0, -1).every((line) => line.length === 70)).toBe(true);
    expect(base64[base64.length - 1].length).toBeGreaterThan(0);
    expect(base64[base64.length - 1].length).toBeLessThanOrEqual(70);
  });
});

describeWith("ed25519HostKey: OpenSSH reads it", [requirements.sshKeygen()], () => {
  test.each([
    ["no comment", ""],
    ["a comment", "ai-gateway-medium@vps"],
  ])("with %s: `ssh-keygen -y` derives exactly the public line from the private key file", (_, comment) => {
    const key = ed25519HostKey(randomBytes(32), comment);
    const file = keyFile(`y-${comment || "none"}`, key.privateKey);
    expect(execFileSync("ssh-keygen", ["-y", "-f", file], { encoding: "utf8" })).toBe(`${key.publicKey}\n`);
  });

  test("`ssh-keygen -l` gives the same 256-bit ED25519 fingerprint for the private file and the public line", () => {
    const key = ed25519HostKey(randomBytes(32), "host");
    const file = keyFile("l", key.privateKey);
    const [bits, fingerprint, ...rest] = execFileSync("ssh-keygen", ["-l", "-f", file], { encoding: "utf8" }).trim().split(" ");
    expect({ bits, fingerprint, rest }).toEqual({
      bits: "256",
      fingerprint: sshKeyFingerprint(key.publicKey.split(" ")[1]),
      rest: ["host", "(ED25519)"],
    });
    expect(sshKeygenFingerprint(key.publicKey)).toEqual({ bits: 256, fingerprint });
  });

  test("ssh-keygen, rewriting the file (`-p` with no passphrase), writes the same bytes but for the check-ints it draws at random", () => {
    const key = ed25519HostKey(randomBytes(32), "rewritten@ai-gateway");
    const file = keyFile("p", key.privateKey);
    execFileSync("ssh-keygen", ["-q", "-p", "-P", "", "-N", "", "-f", file]);
    const rewritten = fs.readFileSync(file, "utf8");
    expect(rewritten.split("\n").map((line) => line.length)).toEqual(key.privateKey.split("\n").map((line) => line.length));
    const ours = body(key.privateKey);
    const theirs = body(rewritten);
    // The check-ints are the first 8 bytes of the private section, after its length.
    const sectionStart = findSectionLengthOffset(ours) + 4;
    const differing = [...ours].flatMap((byte, i) => (byte === theirs[i] ? [] : [i]));
    expect(theirs.length).toBe(ours.length);
    expect(differing.every((i) => i >= sectionStart && i < sectionStart + 8)).toBe(true);
    expect(theirs.readUInt32BE(sectionStart)).toBe(theirs.readUInt32BE(sectionStart + 4));
  });

  test("a key ssh-keygen made is not something this module could have produced (the check is not vacuous)", () => {
    const made = generateSshKey("ed25519", undefined, "");
    const file = keyFile("made", made.privateKey);
    expect(execFileSync("ssh-keygen", ["-y", "-f", file], { encoding: "utf8" }).trim()).toBe(made.publicKey);
    expect(ed25519HostKey(randomBytes(32)).publicKey).not.toBe(made.publicKey);
  });
});

describeWith("ed25519HostKey: sshd takes it as its host key", [requirements.sshd(), requirements.sshKeygen()], () => {
  test("`sshd -t` accepts a config whose HostKey is the file (mode 0600), and refuses a corrupted one", () => {
    const key = ed25519HostKey(randomBytes(32), "sshd-check");
    const config = (hostKey: string) => {
      const file = path.join(tmp, `sshd_config-${path.basename(hostKey)}`);
      fs.writeFileSync(file, `HostKey ${hostKey}\nListenAddress 127.0.0.1\nUsePAM no\n`);
      return file;
    };
    fs.mkdirSync("/run/sshd", { recursive: true });
    const good = spawnSync("/usr/sbin/sshd", ["-t", "-f", config(keyFile("sshd_host_key", key.privateKey))], { encoding: "utf8" });
    expect({ status: good.status, stderr: good.stderr }).toEqual({ status: 0, stderr: "" });

    const lines = key.privateKey.split("\n");
    lines[3] = lines[3].replace(/^./, (c) => (c === "A" ? "B" : "A"));
    const broken = spawnSync("/usr/sbin/sshd", ["-t", "-f", config(keyFile("sshd_broken_key", lines.join("\n")))], { encoding: "utf8" });
    expect(broken.status).not.toBe(0);
    expect(broken.stderr).toMatch(/no hostkeys available|invalid format|Unable to load host key/);
  });
});

describeWith("ed25519HostKey: the user data takes the pair", [requirements.sshKeygen()], () => {
  test("renderCloudInit validates it and puts both halves into ssh_keys verbatim", () => {
    const key = ed25519HostKey(randomBytes(32), "ai-gateway");
    const userData = parse(
      renderCloudInit({
        deployUser: "deploy",
        sshAuthorizedKeys: [generateSshKey("ed25519").publicKey],
        sshHostKey: key,
        dataVolumeDevice: "/dev/disk/by-id/scsi-0HC_Volume_1",
        dockerLogRotation: DOCKER_LOG_ROTATION,
        unattendedUpgrades: true,
      }),
    ) as { ssh_keys: Record<string, string> };
    expect(userData.ssh_keys).toEqual({ ed25519_private: key.privateKey, ed25519_public: key.publicKey });
  });
});
