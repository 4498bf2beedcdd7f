/**
 * The image the fast suite's plain test containers run (tests/docker/engine.test.ts, and the LiteLLM
 * stand-in of tests/keys/registration.test.ts): the Debian sid root filesystem built by
 * scripts/build-test-rootfs.sh (nginx 1.30, python3, PostgreSQL, busybox wget), imported once by
 * `scripts/build-images.sh --base` as the base layer the local registry's images are built on too,
 * so the engine stores it once.
 *
 * The gateway's own containers are not run on it: the end-to-end suite deploys them with the real
 * Pulumi CLI from the local registry's images (tests/helpers/registryImages.ts).
 */
import { execFile } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { promisify } from "util";
import { ROOT } from "./program";
import { testRootfs } from "./requirements";

const execFileAsync = promisify(execFile);

/**
 * The LiteLLM stand-in imports urllib.request and http.server, which python3-minimal lacks: the
 * build script installs libpython3-stdlib. A rootfs built before it did would fail the stand-in for
 * a reason that has nothing to do with the program.
 */
function assertFullPython(rootfs: string): void {
  const lib = path.join(rootfs, "usr", "lib");
  const full = fs
    .readdirSync(lib)
    .filter((d) => /^python3\.[0-9]+$/.test(d))
    .some((d) => ["urllib/request.py", "http/server.py"].every((f) => fs.existsSync(path.join(lib, d, f))));
  if (!full) {
    throw new Error(`${rootfs} has python3-minimal only (no urllib.request, http.server): rerun scripts/build-test-rootfs.sh`);
  }
}

/**
 * The rootfs imported as an image (`ai-gateway-images/base:<hash>`; without /proc, /sys and /dev
 * contents, which Docker provides, nor apt's caches), importing it if needed.
 */
async function baseImage(rootfs: string): Promise<string> {
  const { stdout } = await execFileAsync("bash", [path.join(ROOT, "scripts", "build-images.sh"), "--base"], {
    env: { ...process.env, AI_GATEWAY_TEST_ROOTFS: rootfs },
    timeout: 600_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  const ref = stdout.trim().split("\n").pop() ?? "";
  if (!ref.startsWith("ai-gateway-images/base:")) {
    throw new Error(`scripts/build-images.sh --base printed no base image reference: ${stdout}`);
  }
  return ref;
}

let cached: Promise<string> | undefined;

/** Returns the test image's reference (`ai-gateway-images/base:<hash>`), importing the rootfs first if needed. */
export function testImage(): Promise<string> {
  cached ??= (async () => {
    const rootfs = testRootfs();
    if (!rootfs) {
      throw new Error("no test rootfs: run scripts/build-test-rootfs.sh");
    }
    assertFullPython(rootfs);
    return baseImage(rootfs);
  })();
  return cached;
}
