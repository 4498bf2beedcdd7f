import { createHash, createHmac, pbkdf2Sync } from "crypto";

/** PostgreSQL's default SCRAM iteration count (scram_iterations, PostgreSQL 16). */
export const SCRAM_ITERATIONS = 4096;

/**
 * The SCRAM-SHA-256 verifier PostgreSQL stores for `password` (RFC 5802/7677, PostgreSQL's
 * scram_build_secret): `ALTER ROLE ... PASSWORD '<verifier>'` stores it as given, so the server,
 * and anything that logs the statement, never sees the password itself.
 *
 * The salt is derived from the password rather than drawn at random, so the same password gives
 * the same verifier and a second `pulumi up` sees no change. A salt exists to make equal passwords
 * look different and precomputed tables useless; the passwords here are generated (32 random
 * letters and digits), so neither applies.
 *
 * Only printable ASCII is accepted: PostgreSQL runs the password through SASLprep, which leaves
 * such text unchanged but would normalise other characters.
 */
export function scramSha256Verifier(password: string, iterations: number = SCRAM_ITERATIONS): string {
  if (!/^[\x21-\x7e]+$/.test(password)) {
    throw new Error("scramSha256Verifier: the password must be printable ASCII without spaces");
  }
  const salt = createHmac("sha256", password).update("ai-gateway postgres role salt").digest().subarray(0, 16);
  const salted = pbkdf2Sync(password, salt, iterations, 32, "sha256");
  const clientKey = createHmac("sha256", salted).update("Client Key").digest();
  const storedKey = createHash("sha256").update(clientKey).digest();
  const serverKey = createHmac("sha256", salted).update("Server Key").digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString("base64")}$${storedKey.toString("base64")}:${serverKey.toString("base64")}`;
}
