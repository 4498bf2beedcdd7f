/**
 * The one image every container test runs: the Debian sid root filesystem built by
 * scripts/build-test-rootfs.sh (nginx 1.30, python3, PostgreSQL, busybox wget). The program's own
 * images are mocked (their ids are fake), so tests substitute this image and, where the real
 * image's program cannot run here, a stand-in from tests/fixtures/docker.
 *
 * The rootfs is imported once, by `scripts/build-images.sh --base`, as the base layer the local
 * registry's images (scripts/build-images.sh, tests/helpers/registryImages.ts) are built on too, so
 * the engine stores it once. This image is that base plus the config below (no layer of its own),
 * built with the legacy builder. It is reused: its tag is derived from the base's (which changes
 * with the rootfs directory's name, i.e. the build script's package list) and from what this file
 * adds.
 */
import { execFile } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";
import { imageExists, sleep } from "./dockerEngine";
import { ROOT } from "./program";
import { testRootfs } from "./requirements";

const execFileAsync = promisify(execFile);

export const TEST_IMAGE_REPOSITORY = "ai-gateway-test/runtime";

/** Bumped when what this file adds to the rootfs changes, so a stale image is not reused. */
const RECIPE_VERSION = "4";

/** The PostgreSQL major version installed in the rootfs (the highest, if several). */
export function rootfsPostgresMajor(rootfs: string): string {
  const base = path.join(rootfs, "usr", "lib", "postgresql");
  const majors = fs
    .readdirSync(base)
    .filter((v) => fs.existsSync(path.join(base, v, "bin", "postgres")))
    .sort((a, b) => Number(b) - Number(a));
  if (majors.length === 0) {
    throw new Error(`no PostgreSQL server in ${base}`);
  }
  return majors[0];
}

/**
 * Image config the real images have and the base lacks. postgres:16 appends its bin
 * directory to PATH (runtime-facts.md D: "pg_isready and psql are available"); the nginx, LiteLLM
 * and Open WebUI images find wget and python3 on the standard PATH.
 */
function imageChanges(rootfs: string): string[] {
  const pgBin = `/usr/lib/postgresql/${rootfsPostgresMajor(rootfs)}/bin`;
  return [`ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:${pgBin}`, "LABEL ai-gateway-test.image=runtime"];
}

/**
 * The stand-ins and the program's LiteLLM and Open WebUI probes import urllib.request and
 * http.server, which python3-minimal lacks: the build script installs libpython3-stdlib. A rootfs
 * built before it did would fail those probes for a reason that has nothing to do with the program.
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
 * Serializes image builds across jest workers (test files run in parallel): a lock directory, stolen
 * when older than the longest an import takes.
 */
async function withLock<T>(name: string, body: () => Promise<T>): Promise<T> {
  const lock = path.join(os.tmpdir(), `${name}.lock`);
  const deadline = Date.now() + 10 * 60_000;
  while (!tryLock(lock)) {
    const held = fs.statSync(lock, { throwIfNoEntry: false });
    if (held && Date.now() - held.mtimeMs > 5 * 60_000) {
      fs.rmSync(lock, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${lock}`);
    }
    await sleep(500);
  }
  try {
    return await body();
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

function tryLock(lock: string): boolean {
  try {
    fs.mkdirSync(lock);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") {
      return false;
    }
    throw e;
  }
}

let cached: Promise<string> | undefined;

/**
 * Returns the test image's reference (`ai-gateway-test/runtime:<hash>`), building it first if no
 * image with that tag exists.
 */
export function testImage(): Promise<string> {
  cached ??= ensureTestImage();
  return cached;
}

/**
 * The rootfs imported as an image (`ai-gateway-images/base:<hash>`; without /proc, /sys and /dev
 * contents, which Docker provides, nor apt's caches), importing it if needed.
 */
export async function baseImage(rootfs: string): Promise<string> {
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

async function ensureTestImage(): Promise<string> {
  const rootfs = testRootfs();
  if (!rootfs) {
    throw new Error("no test rootfs: run scripts/build-test-rootfs.sh");
  }
  assertFullPython(rootfs);
  const base = await baseImage(rootfs);
  const changes = imageChanges(rootfs);
  const key = crypto
    .createHash("sha256")
    .update(JSON.stringify([base, changes, RECIPE_VERSION]))
    .digest("hex")
    .slice(0, 12);
  const ref = `${TEST_IMAGE_REPOSITORY}:${key}`;
  if (await imageExists(ref)) {
    return ref;
  }
  return withLock(`ai-gateway-test-image-${key}`, async () => {
    if (await imageExists(ref)) {
      return ref;
    }
    const context = fs.mkdtempSync(path.join(os.tmpdir(), "ai-gateway-test-image-"));
    try {
      fs.writeFileSync(path.join(context, "Dockerfile"), [`FROM ${base}`, ...changes].join("\n") + "\n");
      // The legacy builder: it needs no buildx plugin, and config-only steps add no layer.
      await execFileAsync("docker", ["build", "-q", "-t", ref, context], {
        env: { ...process.env, DOCKER_BUILDKIT: "0" },
        timeout: 600_000,
        maxBuffer: 16 * 1024 * 1024,
      });
    } finally {
      fs.rmSync(context, { recursive: true, force: true });
    }
    if (!(await imageExists(ref))) {
      throw new Error(`docker build did not produce ${ref}`);
    }
    return ref;
  });
}
