/**
 * What the container tests share: the program's container specs for a stack (from runProgram, never
 * retyped), and how each service is run on the test image (with the program's spec plus only the
 * overrides a stand-in needs).
 */
import * as fs from "fs";
import * as path from "path";
import { ContainerInputs, DockerSandbox, SpecOverrides, TestContainer, Upload } from "../helpers/dockerEngine";
import { find, ProgramRun, PROJECT, ROOT, runProgram, stackConfig, TYPES } from "../helpers/program";
import { testImage } from "../helpers/testImage";

export const FIXTURES = path.join(ROOT, "tests", "fixtures", "docker");
/** Where the stand-ins are uploaded in a container. */
export const FIXTURE_DIR = "/opt/ai-gateway-test";

export interface StackSpecs {
  readonly stack: string;
  readonly run: ProgramRun;
  /** The program's network name (networksAdvanced[].name). */
  readonly network: string;
  /** The program's named volumes. */
  readonly volumes: string[];
  readonly postgres: ContainerInputs;
  readonly litellm: ContainerInputs;
  readonly openWebui: ContainerInputs;
  readonly nginx: ContainerInputs;
}

/**
 * Runs index.ts for `stack` (its Pulumi.<stack>.yaml, plus `settings` on top) under mocks and picks
 * out the four containers' provider inputs.
 */
export async function stackSpecs(stack: string, settings: Record<string, string> = {}): Promise<StackSpecs> {
  const config = { ...stackConfig(stack) };
  for (const [key, value] of Object.entries(settings)) {
    config[`${PROJECT}:${key}`] = value;
  }
  const run = await runProgram({ stack, config });
  if (run.error) {
    throw run.error;
  }
  const networks = run.resources.filter((r) => r.type === TYPES.network);
  if (networks.length !== 1) {
    throw new Error(`expected one network, found ${networks.length}`);
  }
  const container = (suffix: string) => find(run, TYPES.container, suffix).inputs as ContainerInputs;
  return {
    stack,
    run,
    network: networks[0].inputs.name,
    volumes: run.resources.filter((r) => r.type === TYPES.volume).map((r) => r.inputs.name as string),
    postgres: container("-postgres"),
    litellm: container("-litellm"),
    openWebui: container("-open-webui"),
    nginx: container("-nginx"),
  };
}

/** `KEY=value` from a spec's envs. */
export function envValue(spec: ContainerInputs, key: string): string {
  const entry = (spec.envs ?? []).find((e) => e.startsWith(`${key}=`));
  if (entry === undefined) {
    throw new Error(`${spec.name} has no ${key} in its envs`);
  }
  return entry.slice(key.length + 1);
}

function fixture(name: string, file: string, permissions: string): Upload {
  return { file, content: fs.readFileSync(path.join(FIXTURES, name), "utf8"), permissions };
}

/** The HTTP stand-ins (python3 scripts) for LiteLLM and Open WebUI. */
export function standinUploads(): Upload[] {
  return ["standin.py", "litellm_standin.py", "open_webui_standin.py"].map((name) => fixture(name, `${FIXTURE_DIR}/${name}`, "0755"));
}

/** The postgres image's entrypoint, at the path the image has it on PATH. */
export function postgresEntrypointUpload(): Upload {
  return fixture("postgres-entrypoint.sh", "/usr/local/bin/docker-entrypoint.sh", "0755");
}

export const ENTRYPOINTS = {
  /** postgres:16's ENTRYPOINT ["docker-entrypoint.sh"]; the program's command is its CMD. */
  postgres: ["docker-entrypoint.sh"],
  litellm: ["python3", `${FIXTURE_DIR}/litellm_standin.py`],
  openWebui: ["python3", `${FIXTURE_DIR}/open_webui_standin.py`],
} as const;

/** nginx:alpine's CMD, which the program leaves alone (it sets no command for nginx). */
export const NGINX_IMAGE_CMD = ["nginx", "-g", "daemon off;"];

/** The newest LiteLLM images run as 65532 (runtime-facts.md A1); the stand-in does too. */
export const LITELLM_IMAGE_USER = "65532:65532";

/** Where a stack's services run in a test: the image, and the test's network and volumes. */
export interface StackTarget {
  readonly sandbox: DockerSandbox;
  readonly image: string;
  readonly specs: StackSpecs;
  /** Program network name -> test network. */
  readonly networks: Record<string, string>;
  /** Program volume name -> test volume. */
  readonly volumes: Record<string, string>;
}

/** Creates the stack's network and volumes (with the sandbox's suffix); its services run on the test image. */
export async function prepareStack(sandbox: DockerSandbox, specs: StackSpecs, options: { volumes?: boolean } = {}): Promise<StackTarget> {
  const image = await testImage();
  const networks = { [specs.network]: await sandbox.network(specs.network) };
  const volumes: Record<string, string> = {};
  if (options.volumes ?? true) {
    for (const volume of specs.volumes) {
      volumes[volume] = await sandbox.volume(volume);
    }
  }
  return { sandbox, image, specs, networks, volumes };
}

export function testNetwork(target: StackTarget): string {
  return target.networks[target.specs.network];
}

export interface RunOptions {
  /** Extra env (stand-in or fixture knobs). */
  readonly env?: string[];
  /** Container name; default the spec's name with the sandbox suffix. */
  readonly name?: string;
  /** Container port -> host port; default: Docker picks free ones. */
  readonly hostPorts?: Record<number, number>;
}

/** The program's spec for one service, with the test's image, network and volumes, plus `overrides`. */
function runService(
  target: StackTarget,
  spec: ContainerInputs,
  options: RunOptions,
  overrides: Omit<SpecOverrides, "image" | "networks">,
): Promise<TestContainer> {
  return target.sandbox.run(spec, {
    image: target.image,
    networks: target.networks,
    volumes: target.volumes,
    env: options.env,
    name: options.name,
    hostPorts: options.hostPorts,
    ...overrides,
  });
}

export function runPostgres(target: StackTarget, options: RunOptions = {}): Promise<TestContainer> {
  return runService(target, target.specs.postgres, options, {
    entrypoint: [...ENTRYPOINTS.postgres],
    extraUploads: [postgresEntrypointUpload()],
  });
}

/**
 * LiteLLM with its keys in memory: these container tests start it without waiting for (or without)
 * PostgreSQL, which the real LiteLLM, like the stand-in in its default mode, refuses at start. The
 * end-to-end suite runs the stand-in with its keys in PostgreSQL, in the order the program sets.
 */
export function runLitellm(target: StackTarget, options: RunOptions = {}): Promise<TestContainer> {
  return runService(
    target,
    target.specs.litellm,
    { ...options, env: ["STANDIN_KEYS=memory", ...(options.env ?? [])] },
    {
      entrypoint: [...ENTRYPOINTS.litellm],
      user: LITELLM_IMAGE_USER,
      extraUploads: standinUploads(),
    },
  );
}

export function runOpenWebui(target: StackTarget, options: RunOptions = {}): Promise<TestContainer> {
  return runService(target, target.specs.openWebui, options, { entrypoint: [...ENTRYPOINTS.openWebui], extraUploads: standinUploads() });
}

/** The program's nginx spec with the real nginx from the test image and its generated nginx.conf. */
export function runNginx(target: StackTarget, options: RunOptions = {}): Promise<TestContainer> {
  return runService(target, target.specs.nginx, options, { cmd: NGINX_IMAGE_CMD });
}

/** The headers LiteLLM's API wants (runtime-facts.md A5): the master key, from the program's LiteLLM env. */
export function litellmAuth(specs: StackSpecs): Record<string, string> {
  return { Authorization: `Bearer ${envValue(specs.litellm, "LITELLM_MASTER_KEY")}` };
}

/** nginx re-resolves upstream names every 10 s (`resolver ... valid=10s`); allow for that twice, plus slack. */
export const RERESOLVE_WITHIN_MS = 30_000;

/** Health waits: the program's healthcheck turns healthy at its first probe, one interval after start. */
export const HEALTHY_WITHIN_MS = 45_000;
