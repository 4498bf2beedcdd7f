import { createHash, createPublicKey, KeyObject } from "crypto";
import { SettingError, shown, shownSecret } from "./errors";

/**
 * OpenSSH public keys (`<type> <base64 blob> [comment]`, one line, as in `~/.ssh/id_ed25519.pub`),
 * parsed for real: the blob is decoded as the SSH wire format (RFC 4253 §6.6, RFC 5656 §3.1,
 * RFC 8709 §4, OpenSSH PROTOCOL.u2f) and the key material imported with Node's crypto, so a
 * truncated key, an ECDSA point off its curve or an RSA modulus of the wrong size is refused before
 * it reaches a server's authorized_keys.
 */

/**
 * The shortest RSA modulus accepted, in bits. 3072 is ssh-keygen's default since OpenSSH 8.0 (2019)
 * and NIST's 128-bit level; 2048 bits is only the 112-bit level, which NIST SP 800-131A retires for
 * signatures after 2030, within the life of a server created now. Anyone refused has a one-command
 * way out (`ssh-keygen -t ed25519`), and the login it guards is root-equivalent (group docker).
 */
export const MIN_RSA_BITS = 3072;

/** The key types accepted, as OpenSSH names them on the line and inside the blob. */
export const SSH_KEY_TYPES = [
  "ssh-ed25519",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "ssh-rsa",
  "sk-ssh-ed25519@openssh.com",
  "sk-ecdsa-sha2-nistp256@openssh.com",
] as const;
export type SshKeyType = (typeof SSH_KEY_TYPES)[number];

/** A parsed public key line. */
export interface SshPublicKey {
  readonly type: SshKeyType;
  /** Key size in bits: 256 for Ed25519, the curve size for ECDSA, the modulus length for RSA. */
  readonly bits: number;
  /** `SHA256:<base64 without padding>`, exactly as `ssh-keygen -l` prints it. */
  readonly fingerprint: string;
  /** The line normalised to `<type> <blob>[ <comment>]` (single spaces, no surrounding blanks). */
  readonly line: string;
}

const ECDSA_CURVES: Readonly<Record<string, { readonly jwk: string; readonly coordinateBytes: number; readonly bits: number }>> = {
  nistp256: { jwk: "P-256", coordinateBytes: 32, bits: 256 },
  nistp384: { jwk: "P-384", coordinateBytes: 48, bits: 384 },
  nistp521: { jwk: "P-521", coordinateBytes: 66, bits: 521 },
};

/** Reads the SSH wire format's length-prefixed strings (RFC 4251 §5) from a blob. */
class WireReader {
  private offset = 0;
  constructor(private readonly blob: Buffer) {}

  string(): Buffer {
    if (this.offset + 4 > this.blob.length) {
      throw new Error("the key data is truncated");
    }
    const length = this.blob.readUInt32BE(this.offset);
    const start = this.offset + 4;
    if (start + length > this.blob.length) {
      throw new Error("the key data is truncated");
    }
    this.offset = start + length;
    return this.blob.subarray(start, start + length);
  }

  /** An mpint (RFC 4251 §5) as unsigned big-endian bytes without leading zeros; negative values are refused. */
  unsignedMpint(): Buffer {
    const bytes = this.string();
    if (bytes.length > 0 && (bytes[0] & 0x80) !== 0) {
      throw new Error("the key data holds a negative number");
    }
    let start = 0;
    while (start < bytes.length && bytes[start] === 0) {
      start++;
    }
    return bytes.subarray(start);
  }

  end(): void {
    if (this.offset !== this.blob.length) {
      throw new Error("the key data has trailing bytes");
    }
  }
}

function base64url(bytes: Buffer): string {
  return bytes.toString("base64url");
}

function importJwk(jwk: Record<string, string>, what: string): KeyObject {
  try {
    return createPublicKey({ key: jwk, format: "jwk" });
  } catch {
    throw new Error(`the key data is not a valid ${what} public key`);
  }
}

function ed25519(reader: WireReader): number {
  const point = reader.string();
  if (point.length !== 32) {
    throw new Error("an Ed25519 key has 32 bytes");
  }
  importJwk({ kty: "OKP", crv: "Ed25519", x: base64url(point) }, "Ed25519");
  return 256;
}

function ecdsa(reader: WireReader, curveInType: string): number {
  const curveName = reader.string().toString("latin1");
  const curve = ECDSA_CURVES[curveName];
  if (curveName !== curveInType || curve === undefined) {
    throw new Error(`the key data names curve ${JSON.stringify(curveName)}, not ${curveInType}`);
  }
  const point = reader.string();
  // Uncompressed point (SEC 1 §2.3.3): 0x04, then X and Y at the curve's size.
  if (point.length !== 1 + 2 * curve.coordinateBytes || point[0] !== 0x04) {
    throw new Error(`the key data is not an uncompressed ${curveName} point`);
  }
  const x = point.subarray(1, 1 + curve.coordinateBytes);
  const y = point.subarray(1 + curve.coordinateBytes);
  importJwk({ kty: "EC", crv: curve.jwk, x: base64url(x), y: base64url(y) }, `ECDSA ${curveName}`);
  return curve.bits;
}

function rsa(reader: WireReader): number {
  const exponent = reader.unsignedMpint();
  const modulus = reader.unsignedMpint();
  const key = importJwk({ kty: "RSA", n: base64url(modulus), e: base64url(exponent) }, "RSA");
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < MIN_RSA_BITS) {
    throw new Error(`an RSA key of ${bits} bits is too short (at least ${MIN_RSA_BITS}; better: ssh-keygen -t ed25519)`);
  }
  return bits;
}

/** Reads the key material after the type name, returning the key size in bits. */
function keyBits(type: SshKeyType, reader: WireReader): number {
  switch (type) {
    case "ssh-ed25519":
      return ed25519(reader);
    case "sk-ssh-ed25519@openssh.com": {
      const bits = ed25519(reader);
      reader.string(); // the FIDO application, usually "ssh:"
      return bits;
    }
    case "ecdsa-sha2-nistp256":
    case "ecdsa-sha2-nistp384":
    case "ecdsa-sha2-nistp521":
      return ecdsa(reader, type.slice("ecdsa-sha2-".length));
    case "sk-ecdsa-sha2-nistp256@openssh.com": {
      const bits = ecdsa(reader, "nistp256");
      reader.string(); // the FIDO application
      return bits;
    }
    case "ssh-rsa":
      return rsa(reader);
  }
}

function looksPrivate(value: unknown): boolean {
  return typeof value === "string" && value.includes("PRIVATE KEY");
}

function isSshKeyType(value: string): value is SshKeyType {
  return (SSH_KEY_TYPES as readonly string[]).includes(value);
}

/**
 * Parses one OpenSSH public key line. Throws an Error saying what is wrong: an unknown or
 * unsupported type (`ssh-dss`, authorized_keys options such as `from="..."`), bad base64, a blob
 * whose inner type differs from the line's, truncated or invalid key material, a short RSA key.
 */
export function parseSshPublicKey(value: string): SshPublicKey {
  if (looksPrivate(value)) {
    throw new Error("is a private key; give the public key line (the .pub file)");
  }
  if (/[\r\n\0]/.test(value)) {
    throw new Error("must be a single line");
  }
  const [type, blobBase64, ...comment] = value.trim().split(/[ \t]+/);
  if (!isSshKeyType(type)) {
    throw new Error(`must start with a key type (${SSH_KEY_TYPES.join(", ")}), without authorized_keys options`);
  }
  if (blobBase64 === undefined || !/^[A-Za-z0-9+/]+={0,2}$/.test(blobBase64) || blobBase64.length % 4 !== 0) {
    throw new Error("must have the key data in base64 after the type");
  }
  const blob = Buffer.from(blobBase64, "base64");
  const reader = new WireReader(blob);
  const typeInBlob = reader.string().toString("latin1");
  if (typeInBlob !== type) {
    throw new Error(`the key data is a ${JSON.stringify(typeInBlob)} key, not ${type}`);
  }
  const bits = keyBits(type, reader);
  reader.end();
  const fingerprint = `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
  return { type, bits, fingerprint, line: [type, blobBase64, ...comment].join(" ") };
}

/**
 * Shows a key line in a one-line error message: public, so not hidden, but an RSA line runs to 700
 * characters, so only its start is shown. A private key pasted by mistake is not shown at all.
 */
function shownKeyLine(value: unknown): string {
  if (looksPrivate(value)) {
    return shownSecret(value as string);
  }
  return typeof value === "string" && value.length > 60 ? `${shown(value.slice(0, 40))}... (${value.length} characters)` : shown(value);
}

/** One authorized SSH public key line, validated; returns the normalised line. */
export function sshAuthorizedKey(key: string, value: unknown): string {
  if (typeof value !== "string") {
    throw new SettingError(key, shown(value), "must be an OpenSSH public key line such as the content of ~/.ssh/id_ed25519.pub");
  }
  try {
    return parseSshPublicKey(value).line;
  } catch (error) {
    throw new SettingError(
      key,
      shownKeyLine(value),
      `${(error as Error).message}; an OpenSSH public key line such as ~/.ssh/id_ed25519.pub is expected`,
    );
  }
}

/**
 * The list of keys allowed to log in: at least one, each valid, no key twice (compared by
 * fingerprint, so the same key with another comment counts as the same). Each key's error names its
 * index: `<key>[1]`.
 */
export function sshAuthorizedKeys(key: string, value: unknown): string[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new SettingError(key, shownKeyLine(value), "must be a non-empty list of OpenSSH public key lines");
  }
  const seen = new Map<string, number>();
  return value.map((item, index) => {
    const line = sshAuthorizedKey(`${key}[${index}]`, item);
    const { fingerprint } = parseSshPublicKey(line);
    const first = seen.get(fingerprint);
    if (first !== undefined) {
      throw new SettingError(`${key}[${index}]`, shownKeyLine(item), `is the same key as ${key}[${first}] (${fingerprint})`);
    }
    seen.set(fingerprint, index);
    return line;
  });
}
