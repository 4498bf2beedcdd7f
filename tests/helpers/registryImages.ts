/**
 * The four images the gateway deploys, as the local registry on 127.0.0.1:5000 serves them
 * (scripts/start-registry.sh): built here by scripts/build-images.sh from the test rootfs and the
 * stand-ins in tests/fixtures/docker, under the repository paths and tags the program pins
 * (lib/settings.ts), so a real `pulumi up` can pull them with the registry prefix in front:
 *
 * - postgres: PostgreSQL from Debian sid (18.x; Debian has no 16.x) with the image's entrypoint
 *   (tests/fixtures/docker/postgres-entrypoint.sh), ENTRYPOINT/CMD/PGDATA/STOPSIGNAL as upstream;
 * - nginx: nginx 1.30 from Debian sid, nginx:alpine's config, entrypoint, user and signals;
 * - litellm: the LiteLLM stand-in behind the newest image's /app/docker-entrypoint.sh, USER 65532;
 * - openWebui: the Open WebUI stand-in behind backend/start.sh, PORT 8080, its HEALTHCHECK;
 * - redis: Redis from Debian sid (the real server) behind the official image's entrypoint rules,
 *   user redis 999, WORKDIR /data.
 *
 * `registryImages()` runs the build script (idempotent: it rebuilds an image only when the base or
 * one of its files, e.g. a stand-in, changed, and re-pushes, which uploads nothing the registry
 * already has) once per process and returns what it recorded: each image's reference, its digest
 * in the registry and its content hash (also the image's `ai-gateway.content` label).
 */
import { execFile, execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { promisify } from "util";
import { DEFAULTS } from "../../lib/settings";
import { ROOT } from "./program";
import { Requirement } from "./requirements";

const execFileAsync = promisify(execFile);

export const REGISTRY = "127.0.0.1:5000";

/**
 * A pinned reference moved to the local registry: its registry host, if any, replaced by
 * REGISTRY; Docker Hub's official images live under library/ (postgres:16 -> library/postgres:16).
 */
export function localImage(reference: string): string {
  // The registry's copies are built here, so their digests are not Docker Hub's: the tag only.
  const tagged = reference.replace(/@sha256:[0-9a-f]{64}$/, "");
  const [first] = tagged.split("/");
  const hasRegistry = tagged.includes("/") && (first.includes(".") || first.includes(":") || first === "localhost");
  const repository = hasRegistry ? tagged.slice(first.length + 1) : tagged.includes("/") ? tagged : `library/${tagged}`;
  return `${REGISTRY}/${repository}`;
}

/** The program's pins (lib/settings.ts) in the local registry; scripts/build-images.sh must push exactly these. */
export const REGISTRY_IMAGES = {
  postgres: localImage(DEFAULTS.images.postgres),
  nginx: localImage(DEFAULTS.images.nginx),
  litellm: localImage(DEFAULTS.images.litellm),
  openWebui: localImage(DEFAULTS.images.openWebui),
  redis: localImage(DEFAULTS.images.redis),
} as const;

export type ImageName = keyof typeof REGISTRY_IMAGES;

export interface RegistryImage {
  /** `127.0.0.1:5000/<repository>:<tag>`, as in REGISTRY_IMAGES. */
  readonly ref: string;
  /** The manifest digest in the registry, `sha256:...`. */
  readonly digest: string;
  /** The hash of what the image was built from (its `ai-gateway.content` label). */
  readonly content: string;
}

/** The reference pinned to its digest: `127.0.0.1:5000/<repository>:<tag>@sha256:...`. */
export function pinned(image: RegistryImage): string {
  return `${image.ref}@${image.digest}`;
}

/** Where scripts/build-images.sh records the images; its keys are the script's image names. */
export const REGISTRY_IMAGES_FILE = path.join(ROOT, ".cache", "images", "registry-images.json");
const SCRIPT_NAMES: Record<ImageName, string> = {
  postgres: "postgres",
  nginx: "nginx",
  litellm: "litellm",
  openWebui: "open-webui",
  redis: "redis",
};

let cached: Promise<Record<ImageName, RegistryImage>> | undefined;

/**
 * Makes sure the registry serves the four images as the checkout's files build them, and returns
 * them. As root the script also starts the engine and the registry when they are not running;
 * otherwise both must be up already.
 */
export function registryImages(): Promise<Record<ImageName, RegistryImage>> {
  cached ??= ensureRegistryImages();
  return cached;
}

async function ensureRegistryImages(): Promise<Record<ImageName, RegistryImage>> {
  try {
    await execFileAsync("bash", [path.join(ROOT, "scripts", "build-images.sh")], { timeout: 20 * 60_000, maxBuffer: 16 * 1024 * 1024 });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`scripts/build-images.sh failed: ${err.stderr ?? err.message}`, { cause: e });
  }
  const recorded = JSON.parse(fs.readFileSync(REGISTRY_IMAGES_FILE, "utf8")) as Record<string, RegistryImage>;
  const images = {} as Record<ImageName, RegistryImage>;
  for (const name of Object.keys(REGISTRY_IMAGES) as ImageName[]) {
    const image = recorded[SCRIPT_NAMES[name]];
    if (!image || image.ref !== REGISTRY_IMAGES[name] || !/^sha256:[0-9a-f]{64}$/.test(image.digest)) {
      throw new Error(
        `${REGISTRY_IMAGES_FILE} has no valid entry for ${REGISTRY_IMAGES[name]} (the program's pin): scripts/build-images.sh must push it`,
      );
    }
    images[name] = image;
  }
  return images;
}

function registryAnswers(): boolean {
  try {
    // GET /v2/ answers 200 with Docker-Distribution-Api-Version: registry/2.0.
    const reply = execFileSync(
      "bash",
      ["-c", 'exec 3<>/dev/tcp/127.0.0.1/5000 && printf "GET /v2/ HTTP/1.0\\r\\nHost: 127.0.0.1:5000\\r\\n\\r\\n" >&3 && cat <&3'],
      { timeout: 5000, encoding: "utf8" },
    );
    return /^HTTP\/1\.. 200/.test(reply) && /docker-distribution-api-version: *registry\/2\.0/i.test(reply);
  } catch {
    return false;
  }
}

/** For describeWith: a registry answers on 127.0.0.1:5000 (or this process may start one: root). */
export function registryRequirement(): Requirement {
  return {
    name: "the local image registry on 127.0.0.1:5000",
    met: registryAnswers() || process.getuid?.() === 0,
    hint: "run `sudo scripts/start-registry.sh` (or `sudo scripts/build-images.sh`, which also builds the images)",
  };
}
