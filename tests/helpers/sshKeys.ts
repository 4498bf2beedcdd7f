/** Real OpenSSH keys for tests, made by ssh-keygen in a temporary directory. */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

export interface GeneratedKey {
  /** The OpenSSH private key file's text. */
  readonly privateKey: string;
  /** The `.pub` line, without its newline. */
  readonly publicKey: string;
}

/** `ssh-keygen -t <type> [-b <bits>]` with the given comment, in a fresh temporary directory. */
export function generateSshKey(type: string, bits?: number, comment = "test@ai-gateway"): GeneratedKey {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ai-gateway-sshkey-"));
  const file = path.join(dir, "key");
  try {
    execFileSync("ssh-keygen", ["-q", "-t", type, ...(bits ? ["-b", String(bits)] : []), "-N", "", "-C", comment, "-f", file]);
    return { privateKey: fs.readFileSync(file, "utf8"), publicKey: fs.readFileSync(`${file}.pub`, "utf8").trim() };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** What `ssh-keygen -l` reports for a public key line: its size in bits and SHA256 fingerprint. */
export function sshKeygenFingerprint(line: string): { bits: number; fingerprint: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ai-gateway-sshkey-"));
  const file = path.join(dir, "key.pub");
  try {
    fs.writeFileSync(file, `${line}\n`);
    const [bits, fingerprint] = execFileSync("ssh-keygen", ["-l", "-f", file], { encoding: "utf8" }).split(" ");
    return { bits: Number(bits), fingerprint };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
