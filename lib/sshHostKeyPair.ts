import { createHash, createPrivateKey, createPublicKey } from "crypto";
import type { SshHostKey } from "./cloudInit";

/**
 * The VPS's SSH host key, made by the stack from 32 random bytes kept (secret) in its state, so the
 * Docker provider can pin the key before the server exists and the server installs exactly that key
 * (cloud-init `ssh_keys`). Pure and deterministic: the same seed always gives byte-identical text,
 * so a `pulumi up` that changes nothing else shows no diff in the user data.
 *
 * Node's crypto only: the public half is derived from the seed by Node's Ed25519 (RFC 8032 §5.1.5),
 * and the private key file is written in OpenSSH's own format, `openssh-key-v1` (PROTOCOL.key in
 * OpenSSH's source, VERIFIED against openssh-portable sshkey.c `sshkey_private_to_blob2`):
 *
 *   "openssh-key-v1\0" | string ciphername "none" | string kdfname "none" | string kdfoptions "" |
 *   uint32 number of keys (1) | string public key blob | string private section
 *
 * and the private section, unencrypted:
 *
 *   uint32 checkint | uint32 checkint (equal) | string "ssh-ed25519" | string public (32 bytes) |
 *   string seed||public (64 bytes) | string comment | padding 1, 2, 3, ... to a multiple of 8
 *
 * ssh-keygen draws the check-ints at random; here they are derived from the seed (a hash, so they
 * reveal nothing about it), which keeps the output deterministic. Their only purpose is to detect a
 * wrong passphrase on an encrypted key; an unencrypted key just needs the two to be equal.
 */

/** The Ed25519 seed length (RFC 8032: the private key is 32 bytes). */
export const ED25519_SEED_BYTES = 32;

/** PKCS#8 (RFC 8410 §7) prefix of an Ed25519 private key: SEQUENCE { version 0, AlgorithmIdentifier id-Ed25519, OCTET STRING { OCTET STRING seed } }. */
const PKCS8_ED25519_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");

const KEY_TYPE = "ssh-ed25519";
const AUTH_MAGIC = "openssh-key-v1\0";
/** The block size of cipher "none", to which the private section is padded (sshkey.c). */
const NONE_CIPHER_BLOCK_SIZE = 8;
/** ssh-keygen wraps the base64 body at 70 columns (sshbuf_dtob64 with wrap, sshkey.c). */
const BASE64_LINE_LENGTH = 70;

/** An SSH wire-format string (RFC 4251 §5): uint32 length, then the bytes. */
function wireString(value: Buffer | string): Buffer {
  const bytes = typeof value === "string" ? Buffer.from(value, "utf8") : value;
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

function uint32(value: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(value);
  return bytes;
}

/** The 32-byte Ed25519 public key of a seed, through Node's crypto. */
function ed25519PublicKey(seed: Buffer): Buffer {
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: "der", type: "pkcs8" });
  const jwk = createPublicKey(privateKey).export({ format: "jwk" });
  return Buffer.from(jwk.x ?? "", "base64url");
}

/** An Ed25519 SSH host key from a 32-byte seed: the same seed always gives byte-identical text. */
export function ed25519HostKey(seed: Buffer, comment = ""): SshHostKey {
  if (!Buffer.isBuffer(seed) || seed.length !== ED25519_SEED_BYTES) {
    throw new Error(
      `an Ed25519 host key needs a seed of exactly ${ED25519_SEED_BYTES} bytes, got ${Buffer.isBuffer(seed) ? seed.length : typeof seed}`,
    );
  }
  // One line of printable ASCII: the comment ends the public key line (and sshd logs it).
  if (comment !== "" && !/^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$/.test(comment)) {
    throw new Error(`an SSH key comment must be printable ASCII on one line, without surrounding spaces: ${JSON.stringify(comment)}`);
  }
  const publicKey = ed25519PublicKey(seed);
  const publicBlob = Buffer.concat([wireString(KEY_TYPE), wireString(publicKey)]);

  const checkInt = createHash("sha256").update("ai-gateway openssh-key-v1 checkint\0").update(seed).digest().readUInt32BE(0);
  const section = Buffer.concat([
    uint32(checkInt),
    uint32(checkInt),
    wireString(KEY_TYPE),
    wireString(publicKey),
    wireString(Buffer.concat([seed, publicKey])),
    wireString(comment),
  ]);
  const paddingLength = (NONE_CIPHER_BLOCK_SIZE - (section.length % NONE_CIPHER_BLOCK_SIZE)) % NONE_CIPHER_BLOCK_SIZE;
  const padding = Buffer.from(Array.from({ length: paddingLength }, (_, i) => i + 1));

  const body = Buffer.concat([
    Buffer.from(AUTH_MAGIC, "latin1"),
    wireString("none"),
    wireString("none"),
    wireString(""),
    uint32(1),
    wireString(publicBlob),
    wireString(Buffer.concat([section, padding])),
  ]).toString("base64");
  const lines = body.match(new RegExp(`.{1,${BASE64_LINE_LENGTH}}`, "g")) ?? [];

  return {
    privateKey: ["-----BEGIN OPENSSH PRIVATE KEY-----", ...lines, "-----END OPENSSH PRIVATE KEY-----", ""].join("\n"),
    publicKey: [KEY_TYPE, publicBlob.toString("base64"), ...(comment ? [comment] : [])].join(" "),
  };
}
