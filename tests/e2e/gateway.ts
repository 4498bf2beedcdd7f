/**
 * What the end-to-end tests know about a deployed gateway: its Docker names, its images in the
 * local registry, and checks of what users see (healthy containers, nginx's routes, kept data).
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { HOSTNAMES } from "../../lib/constants";
import { ROOT_FILESYSTEMS, ServiceKey } from "../../lib/containerSecurity";
import { pollUntil } from "../helpers/dockerEngine";
import { ImageName, pinned, REGISTRY_IMAGES, registryImages } from "../helpers/registryImages";
import { ROOT } from "../helpers/program";
import { Answer, docker, dockerExec, inspect, psql, request, Stack, Workspace } from "./harness";

/** The stack settings that point the gateway at the local registry's images. */
export const IMAGES = {
  litellmImage: REGISTRY_IMAGES.litellm,
  openWebuiImage: REGISTRY_IMAGES.openWebui,
  postgresImage: REGISTRY_IMAGES.postgres,
  nginxImage: REGISTRY_IMAGES.nginx,
  redisImage: REGISTRY_IMAGES.redis,
} as const;

/**
 * Makes sure the registry serves the program's images as this checkout builds them, and that the
 * engine holds no copy of them, so that the next `up` pulls them (RemoteImage pulls only what the
 * engine lacks). Copies used by a container are left (`docker image rm` refuses them).
 */
export async function freshRegistryImages(): Promise<void> {
  await registryImages();
  await docker(["image", "rm", ...Object.values(REGISTRY_IMAGES)], { allowFailure: true });
}

/**
 * Points a stack at the local registry's images (the only change to a stack file the suite needs).
 * `byDigest`: as `repo:tag@sha256:…`, the form of the program's default pins for Docker Hub's
 * images, with the registry's own digests.
 */
export async function useLocalImages(stack: Stack, options: { byDigest?: boolean } = {}): Promise<void> {
  const images = options.byDigest ? await registryImages() : undefined;
  for (const [key, value] of Object.entries(IMAGES)) {
    const name = IMAGE_SETTINGS[key as keyof typeof IMAGES];
    await stack.set(key, images ? pinned(images[name]) : value);
  }
}

const IMAGE_SETTINGS: Record<keyof typeof IMAGES, ImageName> = {
  litellmImage: "litellm",
  openWebuiImage: "openWebui",
  postgresImage: "postgres",
  nginxImage: "nginx",
  redisImage: "redis",
};

export const SERVICES = ["postgres", "litellm", "open-webui", "nginx", "redis"] as const;
export type Service = (typeof SERVICES)[number];
/** Redis runs only on the profiles with more than one LiteLLM worker (medium, large). */
const OPTIONAL_SERVICES: readonly Service[] = ["redis"];

/** The gateway's Docker names for a stack of the `ai-gateway` program. */
export function names(stack: string) {
  const prefix = `ai-gateway-${stack}`;
  return {
    prefix,
    container: (service: Service) => `${prefix}-${service}`,
    /** The data volumes: Open WebUI's, PostgreSQL's and the backups' (components/backups.ts). */
    volumes: [`${prefix}-open-webui-data`, `${prefix}-postgres-data`, `${prefix}-backups`],
    /** The backend network: PostgreSQL and Redis, and LiteLLM, their only client. */
    network: `${prefix}-backend`,
    /** Every network of the stack (lib/containerSecurity.ts NETWORK_ROLES). */
    networks: ["backend", "frontend", "egress", "edge"].map((role) => `${prefix}-${role}`),
    label: `ai-gateway.gateway=${prefix}`,
  };
}

/** The services a stack runs now, as Docker has them: every profile's four, and Redis where the profile has it. */
export async function servicesOf(stack: string): Promise<Service[]> {
  const listed = await docker(["ps", "-a", "--filter", `label=${names(stack).label}`, "--format", '{{.Label "ai-gateway.service"}}']);
  const present = new Set(listed.stdout.split("\n").filter(Boolean));
  return SERVICES.filter((service) => !OPTIONAL_SERVICES.includes(service) || present.has(service));
}

/** Each container's id and start time, and the backend network's id: unchanged means not re-created and not restarted. */
export async function fingerprint(stackName: string): Promise<Record<string, string>> {
  const n = names(stackName);
  const result: Record<string, string> = {};
  for (const service of await servicesOf(stackName)) {
    const info = await inspect(n.container(service));
    result[service] = `${info.Id} ${info.State.StartedAt}`;
  }
  result.network = (await docker(["network", "inspect", n.network, "--format", "{{.Id}}"])).stdout.trim();
  return result;
}

/** Creates a small, ephemeral stack on the given host ports, pointed at the local images; deploys nothing. */
export async function initSmallEphemeral(stack: Stack, ports: { readonly httpPort: number; readonly adminPort: number }): Promise<void> {
  await stack.init();
  await useLocalImages(stack);
  await stack.set("profile", "small");
  await stack.set("httpPort", String(ports.httpPort));
  await stack.set("adminPort", String(ports.adminPort));
  await stack.set("ephemeral", "true");
}

/** Waits until every container of the stack reports healthy (they already did once `up` returned). */
export async function allHealthy(stack: string): Promise<Partial<Record<Service, string>>> {
  const n = names(stack);
  const states: Partial<Record<Service, string>> = {};
  for (const service of await servicesOf(stack)) {
    states[service] = await pollUntil(`${n.container(service)} healthy`, 120_000, async () => {
      const info = await inspect(n.container(service));
      return info.State.Health?.Status === "healthy" ? "healthy" : undefined;
    });
  }
  return states;
}

/** A row in PostgreSQL and a file in Open WebUI's data volume, to show a change kept them. */
export async function writeMarkers(stack: string, marker: string): Promise<void> {
  const n = names(stack);
  await psql(n.container("postgres"), "CREATE TABLE IF NOT EXISTS e2e_marker (name text PRIMARY KEY)");
  await psql(n.container("postgres"), `INSERT INTO e2e_marker VALUES ('${marker}') ON CONFLICT DO NOTHING`);
  await dockerExec(n.container("open-webui"), ["sh", "-c", `echo ${marker} >> /app/backend/data/e2e-marker`]);
}

export async function readMarkers(stack: string): Promise<{ postgres: string[]; openWebui: string[] }> {
  const n = names(stack);
  const rows = await psql(n.container("postgres"), "SELECT name FROM e2e_marker ORDER BY name");
  const file = await dockerExec(n.container("open-webui"), ["cat", "/app/backend/data/e2e-marker"]);
  return { postgres: rows.split("\n").filter(Boolean), openWebui: file.split("\n").filter(Boolean).sort() };
}

export interface PublicChecks {
  readonly openWebui: Answer;
  readonly withKey: Record<string, number>;
  readonly missingKey: number;
  readonly wrongKey: number;
  readonly management: number;
}

/** What a user sees through nginx's public listener. `keys` are the virtual keys by consumer. */
export async function publicChecks(baseUrl: string, keys: Record<string, string>): Promise<PublicChecks> {
  const models = (key?: string) =>
    request(`${baseUrl}/api/litellm/v1/models`, { headers: key === undefined ? {} : { Authorization: `Bearer ${key}` } });
  // nginx resolves LiteLLM at request time; right after a replacement allow it to follow.
  const openWebui = await pollUntil("Open WebUI through nginx", 60_000, async () => {
    const answer = await request(`${baseUrl}/`);
    return answer.status === 200 ? answer : undefined;
  });
  const withKey: Record<string, number> = {};
  for (const [name, key] of Object.entries(keys)) {
    withKey[name] = await pollUntil(`the API with ${name}'s key`, 60_000, async () => {
      const status = (await models(key)).status;
      return status === 502 ? undefined : status;
    });
  }
  return {
    openWebui,
    withKey,
    missingKey: (await models()).status,
    wrongKey: (await models("sk-not-a-key-of-this-gateway-0000000000000000")).status,
    management: (await request(`${baseUrl}/api/litellm/key/generate`, { method: "POST", body: "{}" })).status,
  };
}

/** Every virtual key the stack outputs, by consumer (Open WebUI's included). */
export function virtualKeys(outputs: Record<string, any>): Record<string, string> {
  return { "open-webui": outputs.openWebuiApiKey, ...outputs.apiKeys };
}

/** Removes whatever a failed test left of a stack: containers, network, and (if asked) volumes. */
export async function removeLeftovers(stack: string, options: { volumes: boolean }): Promise<void> {
  const n = names(stack);
  const containers = (await docker(["ps", "-aq", "--filter", `label=${n.label}`])).stdout.split("\n").filter(Boolean);
  if (containers.length > 0) {
    await docker(["rm", "-f", ...containers], { allowFailure: true });
  }
  for (const network of n.networks) {
    await docker(["network", "rm", network], { allowFailure: true });
  }
  if (options.volumes) {
    await docker(["volume", "rm", ...n.volumes], { allowFailure: true });
  }
}

/** The README's "what a change replaces" table, row by row: first cell -> [replaced, updated in place]. */
export function readmeChangeTable(readme: string): Record<string, [string, string]> {
  const table = readme.split("<!-- change-table")[1]?.split("<!-- end change-table")[0];
  if (!table) {
    throw new Error("README.md has no change-table");
  }
  const rows: Record<string, [string, string]> = {};
  for (const line of table.split("\n").filter((l) => l.startsWith("|"))) {
    const cells = line
      .split("|")
      .slice(1, -1)
      .map((c) => c.trim());
    if (cells[0] === "Change" || /^-+$/.test(cells[0])) {
      continue;
    }
    rows[cells[0]] = [cells[1], cells[2]];
  }
  return rows;
}

const CONTAINER_WORDS: Record<string, string> = {
  PostgreSQL: "Container ai-gateway-postgres",
  LiteLLM: "Container ai-gateway-litellm",
  "Open WebUI": "Container ai-gateway-open-webui",
  nginx: "Container ai-gateway-nginx",
  Redis: "Container ai-gateway-redis",
};

/**
 * The changes plus the pids-limit steps they bring: a new container (created or a replacement) gets
 * its limit set again, and a deleted one's step goes with it; an in-place update keeps the container.
 */
export function withPidsLimits(changes: readonly string[]): string[] {
  const steps = [...changes];
  for (const change of changes) {
    // A config volume's filling container (ai-gateway-<service>-config) never runs and has no limit.
    const m = /^(replace|create|delete) Container ai-gateway-(\S+)$/.exec(change);
    if (m?.[2].endsWith("-config")) {
      continue;
    }
    if (m) {
      steps.push(`${m[1] === "replace" ? "update" : m[1]} ContainerPidsLimit ai-gateway-${m[2]}-pids`);
    }
  }
  return steps.sort();
}

/** "<service> and its image are added/removed": its container, image and component created or deleted. */
const ADDED_OR_REMOVED = /(\w[\w ]*?) and its image are (added|removed)/;

/** The services whose files are on a config volume: a read-only root with a config directory. */
const WITH_CONFIG_VOLUME = new Set<string>(
  (Object.keys(ROOT_FILESYSTEMS) as ServiceKey[])
    .filter((key) => {
      const root = ROOT_FILESYSTEMS[key];
      return root.readOnly && root.configDir !== undefined;
    })
    .map((key) => HOSTNAMES[key]),
);
/** The README's words for the backup containers with their config volumes, and their Pulumi names (components/backups.ts). */
const BACKUP_CONTAINERS_PHRASE = "the backup containers and their config volumes";
const BACKUP_CONTAINER_RESOURCES = ["ai-gateway-backups-litellm-database", "ai-gateway-backups-open-webui-volume"];
/** "nginx's and Redis's config volumes": each volume and the container that fills it. */
const CONFIG_VOLUMES = /((?:(?:nginx|Redis)'s(?: and )?)+) config volumes?/;

function configVolumeChanges(op: string, service: string): string[] {
  return WITH_CONFIG_VOLUME.has(service)
    ? [`${op} Volume ai-gateway-${service}-config`, `${op} Container ai-gateway-${service}-config`]
    : [];
}

/**
 * The changes (as harness.changes() writes them) a README row promises: services named in the
 * "Replaced" cell are replaced, in the "Updated in place" cell updated; "key registration", "its
 * key is created/deleted" and "that image and its container" refer to `subject` (a consumer or a
 * service).
 */
export function promisedChanges(row: [string, string], subject?: { service?: Service; consumer?: string }): string[] {
  const promised: string[] = [];
  const read = (text: string, op: "replace" | "update") => {
    let cell = text;
    const whole = ADDED_OR_REMOVED.exec(cell);
    if (whole) {
      const resource = CONTAINER_WORDS[whole[1]];
      const service = resource.slice("Container ai-gateway-".length);
      const wholeOp = whole[2] === "added" ? "create" : "delete";
      // The service's component (e.g. "Redis ai-gateway-redis") comes and goes with it.
      const component = `${whole[1].replace(/ /g, "")} ai-gateway-${service}`;
      promised.push(`${wholeOp} ${resource}`, `${wholeOp} RemoteImage ai-gateway-${service}-image`, `${wholeOp} ${component}`);
      promised.push(...configVolumeChanges(wholeOp, service));
      cell = cell.replace(whole[0], "");
    }
    const configs = CONFIG_VOLUMES.exec(cell);
    if (configs) {
      for (const [word, resource] of Object.entries(CONTAINER_WORDS)) {
        if (configs[1].includes(`${word}'s`)) {
          promised.push(...configVolumeChanges(op, resource.slice("Container ai-gateway-".length)));
        }
      }
      cell = cell.replace(configs[0], "");
    }
    // The two backup containers (components/backups.ts), named after what they back up.
    if (cell.includes(BACKUP_CONTAINERS_PHRASE)) {
      for (const container of BACKUP_CONTAINER_RESOURCES) {
        promised.push(`${op} Container ${container}`, `${op} Volume ${container}-config`, `${op} Container ${container}-config`);
      }
      cell = cell.replace(BACKUP_CONTAINERS_PHRASE, "");
    }
    // A step named after its service is not that service's container.
    if (cell.includes("LiteLLM migration step")) {
      promised.push(`${op} LitellmMigration ai-gateway-litellm-migration`);
      cell = cell.replace("LiteLLM migration step", "");
    }
    if (cell.includes("Open WebUI settings step")) {
      promised.push(`${op} OpenWebuiSettings ai-gateway-open-webui-settings`);
      cell = cell.replace("Open WebUI settings step", "");
    }
    for (const [word, resource] of Object.entries(CONTAINER_WORDS)) {
      if (new RegExp(`\\b${word}\\b`).test(cell)) {
        promised.push(`${op} ${resource}`);
      }
    }

    if (cell.includes("key registration")) {
      promised.push(`${op} LitellmKeyRegistration ai-gateway-keys-registration`);
    }
    if (cell.includes("its key is created")) {
      promised.push(`create RandomPassword ai-gateway-keys-${subject?.consumer}`);
    }
    if (cell.includes("its key is deleted")) {
      promised.push(`delete RandomPassword ai-gateway-keys-${subject?.consumer}`);
    }
    if (cell.includes("that image and its container")) {
      promised.push(`${op} RemoteImage ai-gateway-${subject?.service}-image`, `${op} Container ai-gateway-${subject?.service}`);
      // The container that fills its config volume is of the same image; the files, and so the volume, stay.
      if (subject?.service !== undefined && WITH_CONFIG_VOLUME.has(subject.service)) {
        promised.push(`${op} Container ai-gateway-${subject.service}-config`);
      }
    }
  };
  read(row[0], "replace");
  read(row[1], "update");
  return withPidsLimits(promised).sort();
}

/** What a workspace's copy of the program is made of. */
const PROGRAM_PATHS = ["components", "lib", "profiles", "runtime", "index.ts", "Pulumi.yaml"];

/** Puts the program as of `commit` (or the checkout's, without one) into the workspace's copy: a stack deployed by an earlier release. */
export function useProgram(workspace: Workspace, commit?: string): void {
  for (const p of PROGRAM_PATHS) {
    fs.rmSync(path.join(workspace.dir, p), { recursive: true, force: true });
  }
  if (commit === undefined) {
    for (const p of PROGRAM_PATHS) {
      fs.cpSync(path.join(ROOT, p), path.join(workspace.dir, p), { recursive: true });
    }
    return;
  }
  const archive = execFileSync("git", ["-C", ROOT, "archive", commit, ...PROGRAM_PATHS]);
  execFileSync("tar", ["-x", "-C", workspace.dir], { input: archive });
}
