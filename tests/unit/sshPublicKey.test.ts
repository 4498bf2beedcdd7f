import { SettingError } from "../../lib/errors";
import { MIN_RSA_BITS, parseSshPublicKey, sshAuthorizedKey, sshAuthorizedKeys } from "../../lib/sshPublicKey";
import { describeWith, requirements } from "../helpers/requirements";
import { generateSshKey, sshKeygenFingerprint } from "../helpers/sshKeys";

/** SSH wire-format string: uint32 length, then the bytes. */
function wireString(bytes: Buffer | string): Buffer {
  const data = typeof bytes === "string" ? Buffer.from(bytes, "latin1") : bytes;
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  return Buffer.concat([length, data]);
}

function line(type: string, ...fields: (Buffer | string)[]): string {
  return `${type} ${Buffer.concat(fields.map(wireString)).toString("base64")} made@test`;
}

/** The fields of a real key's blob, to rebuild it altered. */
function blobFields(publicKey: string): Buffer[] {
  const blob = Buffer.from(publicKey.split(" ")[1], "base64");
  const fields: Buffer[] = [];
  for (let offset = 0; offset < blob.length;) {
    const length = blob.readUInt32BE(offset);
    fields.push(blob.subarray(offset + 4, offset + 4 + length));
    offset += 4 + length;
  }
  return fields;
}

function expectOneLineSettingError(action: () => unknown, message: RegExp): void {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(SettingError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain("\n");
    return;
  }
  throw new Error("expected a SettingError");
}

describeWith("SSH public keys parsed for real", [requirements.sshKeygen()], () => {
  test.each([
    ["ed25519", undefined],
    ["ecdsa", 256],
    ["ecdsa", 384],
    ["ecdsa", 521],
    ["rsa", MIN_RSA_BITS],
    ["rsa", 4096],
  ])("accepts ssh-keygen's %s %s key, with ssh-keygen's size and fingerprint", (type, bits) => {
    const key = generateSshKey(type, bits);
    const parsed = parseSshPublicKey(key.publicKey);
    expect({ bits: parsed.bits, fingerprint: parsed.fingerprint }).toEqual(sshKeygenFingerprint(key.publicKey));
    expect(parsed.line).toBe(key.publicKey);
    expect(sshAuthorizedKey("vps.sshPublicKeys[0]", `  ${key.publicKey}  `)).toBe(key.publicKey);
  });

  test("accepts a FIDO security key (sk-ssh-ed25519), as ssh-keygen does", () => {
    const [, point] = blobFields(generateSshKey("ed25519").publicKey);
    const skLine = line("sk-ssh-ed25519@openssh.com", "sk-ssh-ed25519@openssh.com", point, "ssh:");
    const parsed = parseSshPublicKey(skLine);
    expect(parsed.fingerprint).toBe(sshKeygenFingerprint(skLine).fingerprint);
  });

  test("refuses an RSA key shorter than MIN_RSA_BITS", () => {
    const key = generateSshKey("rsa", 2048);
    expectOneLineSettingError(
      () => sshAuthorizedKey("vps.sshPublicKeys[0]", key.publicKey),
      /RSA key of 2048 bits is too short \(at least 3072/,
    );
  });

  test("refuses an ECDSA point that is not on its curve", () => {
    const [type, curve, point] = blobFields(generateSshKey("ecdsa", 256).publicKey);
    const offCurve = Buffer.from(point);
    offCurve[offCurve.length - 1] ^= 1;
    expectOneLineSettingError(
      () => sshAuthorizedKey("k", line(type.toString(), type, curve, offCurve)),
      /not a valid ECDSA nistp256 public key/,
    );
  });

  test("refuses a blob whose inner type is not the line's", () => {
    const ed = generateSshKey("ed25519").publicKey;
    expectOneLineSettingError(() => sshAuthorizedKey("k", ed.replace(/^ssh-ed25519/, "ssh-rsa")), /is a "ssh-ed25519" key, not ssh-rsa/);
  });

  test("refuses truncated key data and trailing bytes", () => {
    const [type, point] = blobFields(generateSshKey("ed25519").publicKey);
    expectOneLineSettingError(() => sshAuthorizedKey("k", line("ssh-ed25519", type, point.subarray(0, 31))), /Ed25519 key has 32 bytes/);
    expectOneLineSettingError(() => sshAuthorizedKey("k", line("ssh-ed25519", type, point, "extra")), /trailing bytes/);
    const blob = Buffer.concat([wireString(type), wireString(point)]);
    const cut = blob.subarray(0, blob.length - 8).toString("base64");
    expectOneLineSettingError(() => sshAuthorizedKey("k", `ssh-ed25519 ${cut}`), /truncated/);
  });

  test.each([
    ["a DSA key", () => line("ssh-dss", "ssh-dss", Buffer.alloc(20, 1)), /must start with a key type/],
    ["authorized_keys options", () => `from="10.0.0.1" ${generateSshKey("ed25519").publicKey}`, /without authorized_keys options/],
    ["two lines", () => `${generateSshKey("ed25519").publicKey}\nssh-ed25519 AAAA`, /single line/],
    ["no key data", () => "ssh-ed25519", /key data in base64/],
    ["bad base64", () => "ssh-ed25519 AAAA$AAA", /key data in base64/],
    [
      "a private key, without showing it",
      () => generateSshKey("ed25519").privateKey,
      /= \[secret, \d+ characters\]: is a private key; give the public key line/,
    ],
    ["not a string", () => 42, /must be an OpenSSH public key line/],
  ])("refuses %s", (_, value, message) => {
    expectOneLineSettingError(() => sshAuthorizedKey("vps.sshPublicKeys[0]", value()), message);
  });

  test("shows a long refused line abbreviated, with its length", () => {
    const key = generateSshKey("rsa", 2048).publicKey;
    expectOneLineSettingError(
      () => sshAuthorizedKey("k", key),
      new RegExp(`^Invalid ai-gateway setting k = "ssh-rsa .{32}"\\.\\.\\. \\(${key.length} characters\\)`),
    );
  });

  test("a list: at least one key, each checked with its index, no key twice", () => {
    const ed = generateSshKey("ed25519").publicKey;
    const ecdsa = generateSshKey("ecdsa", 256).publicKey;
    expect(sshAuthorizedKeys("vps.sshPublicKeys", [ed, ecdsa])).toEqual([ed, ecdsa]);
    expectOneLineSettingError(() => sshAuthorizedKeys("vps.sshPublicKeys", []), /must be a non-empty list/);
    expectOneLineSettingError(() => sshAuthorizedKeys("vps.sshPublicKeys", ed), /must be a non-empty list/);
    expectOneLineSettingError(
      () => sshAuthorizedKeys("vps.sshPublicKeys", [ed, "ssh-ed25519 AAAA"]),
      /^Invalid ai-gateway setting vps\.sshPublicKeys\[1\] = /,
    );
    const sameKeyOtherComment = ed.replace(/ [^ ]+$/, " laptop");
    expectOneLineSettingError(
      () => sshAuthorizedKeys("vps.sshPublicKeys", [ed, ecdsa, sameKeyOtherComment]),
      /vps\.sshPublicKeys\[2\] = .* is the same key as vps\.sshPublicKeys\[0\] \(SHA256:/,
    );
  });
});
