/**
 * `npm run bench:converge`: how long the real Pulumi CLI (scripts/pulumi-toolchain.sh) takes to
 * converge the gateway on the real Docker engine, per profile. A benchmark that prints figures, not
 * a test: it asserts no timing.
 *
 * For each profile, one after another, a stack `bench-<profile>` seeded from Pulumi.<profile>.yaml
 * (copied to Pulumi.bench-<profile>.yaml in a temporary copy of the project, tests/e2e/harness.ts's
 * Workspace, with its own file backend) is timed through:
 *
 *   first up        `pulumi up --yes --skip-preview --json` from nothing, with the images in the local
 *                   registry but not in the engine (so it includes the pulls from 127.0.0.1:5000)
 *   no-op preview   `pulumi preview --json` right after it
 *   no-op up        the same `pulumi up` again, and once more with PULUMI_NODEJS_TRANSPILE_ONLY=true
 *                   (ts-node compiles the program without type-checking it)
 *   profile change  `pulumi up` after `config set profile` to the next profile (small -> medium,
 *                   medium -> large, large -> medium), and back
 *   destroy         `pulumi destroy --yes` (the stack is ephemeral: its volumes go too)
 *
 * Each `up` is streamed (Workspace.pulumiTimed): the engine's JSON events carry a timestamp in whole
 * seconds only, so the bench also records when each event's line arrives on the CLI's stdout
 * (performance.now()). From them, beside each up's wall time: when the program registered its
 * stack resource and its first own resource (CLI start-up, language host, TypeScript compile,
 * config validation), and the health-gated chain: the PostgreSQL container's step (the provider
 * creates it and waits for it to be healthy), the LiteLLM container's, and the key registration's,
 * from resourcePreEvent to resOutputsEvent. Docker's own events (nanosecond times) show, inside
 * each container step, when the engine created, started and reported the container healthy.
 *
 * Isolation from the end-to-end suite, which may run on the same engine at the same time:
 * - stack names bench-small, bench-medium, bench-large; host ports those of Pulumi.<profile>.yaml
 *   plus BENCH_PORT_OFFSET (default 10000): small 18081/14002, medium 18080/14001, large 18082/14003;
 * - images: the four registry images (tests/helpers/registryImages.ts) copied inside the registry to
 *   127.0.0.1:5000/ai-gateway-bench/<repository>:<tag> (blob mounts and a manifest upload: no layer
 *   is uploaded), so that the bench can take its own tags out of the engine before a first `up`
 *   without removing or pulling the references the suite removes, pulls and checks;
 * - everything it removes is its own: its tags, and containers, networks and volumes of its stacks
 *   (label ai-gateway.gateway=ai-gateway-bench-<profile>).
 * Each stack is destroyed and its leftovers removed also when a step fails or the bench is
 * interrupted (Ctrl-C: cleanup first; a second Ctrl-C exits at once). The signal must reach the
 * bench's own node process: Ctrl-C in a terminal does, `kill -INT` of the npm process does not.
 *
 * Environment: BENCH_PROFILES (default small,medium,large), BENCH_PORT_OFFSET (default 10000),
 * BENCH_OUT (default .cache/bench/converge.json; a copy named after the start time is kept beside
 * it), BENCH_BUILD_IMAGES=1 to run scripts/build-images.sh first (off by default: when the engine
 * lacks the suite's image references the script pulls them, which a running suite would notice).
 */
import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { performance } from "perf_hooks";
import { parse as parseYaml } from "yaml";
import { IMAGES, names, removeLeftovers } from "../tests/e2e/gateway";
import { changes, docker, hasToolchain, PROJECT, Stack, Step, TimedCliResult, Workspace } from "../tests/e2e/harness";
import { ROOT } from "../tests/helpers/program";
import { REGISTRY, registryImages } from "../tests/helpers/registryImages";

const PROFILE_NAMES = ["small", "medium", "large"] as const;
type ProfileName = (typeof PROFILE_NAMES)[number];
/** The profile each stack changes to (and back from). */
const CHANGE_TO: Record<ProfileName, ProfileName> = { small: "medium", medium: "large", large: "medium" };

const BENCH_PROFILES = (process.env.BENCH_PROFILES ?? PROFILE_NAMES.join(","))
  .split(",")
  .map((p) => p.trim())
  .filter(Boolean) as ProfileName[];
const PORT_OFFSET = Number(process.env.BENCH_PORT_OFFSET ?? 10000);
const OUT = path.resolve(ROOT, process.env.BENCH_OUT ?? path.join(".cache", "bench", "converge.json"));
const BENCH_NAMESPACE = "ai-gateway-bench";

const TYPE_CONTAINER = "docker:index/container:Container";
const TYPE_IMAGE = "docker:index/remoteImage:RemoteImage";
const TYPE_STACK = "pulumi:pulumi:Stack";
const SERVICES = ["postgres", "litellm", "open-webui", "nginx", "redis"] as const;

// ---------------------------------------------------------------------------------------------
// Interruption: the first SIGINT/SIGTERM stops the running `pulumi up` and lets cleanup run.
// ---------------------------------------------------------------------------------------------

const abort = new AbortController();
function onSignal(signal: NodeJS.Signals): void {
  if (abort.signal.aborted) {
    console.error(`${signal} again: exiting without cleanup; remove what is left with: docker ps -a --filter label=ai-gateway.gateway`);
    process.exit(130);
  }
  console.error(`${signal}: stopping, then destroying the bench's stack (again to exit at once)`);
  abort.abort();
}
process.on("SIGINT", onSignal);
process.on("SIGTERM", onSignal);

function checkpoint(): void {
  if (abort.signal.aborted) {
    throw new Error("interrupted");
  }
}

// ---------------------------------------------------------------------------------------------
// The bench's own copies of the images, inside the registry
// ---------------------------------------------------------------------------------------------

const MANIFEST_TYPES = ["application/vnd.docker.distribution.manifest.v2+json", "application/vnd.oci.image.manifest.v1+json"];

interface Reply {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
}

function registryCall(method: string, urlPath: string, headers: http.OutgoingHttpHeaders = {}, body?: Buffer): Promise<Reply> {
  const [host, port] = REGISTRY.split(":");
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host,
        port: Number(port),
        method,
        path: urlPath,
        headers: body ? { ...headers, "content-length": body.length } : headers,
        timeout: 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`registry ${method} ${urlPath}: no answer within 30 s`)));
    req.on("error", reject);
    req.end(body);
  });
}

interface BenchImage {
  /** The stack setting it is for, e.g. litellmImage. */
  readonly key: string;
  /** The suite's reference it was copied from, and the bench's copy. */
  readonly source: string;
  readonly ref: string;
  readonly digest: string;
  /** The image id (its config's digest): present in the engine when any tag of it is. */
  readonly imageId: string;
  /** Compressed size of its layers, as the manifest lists them. */
  readonly bytes: number;
}

/** Copies a registry image to the bench's namespace in the same registry (mounting its blobs). */
async function copyInRegistry(key: string, source: string): Promise<BenchImage> {
  const name = source.slice(REGISTRY.length + 1);
  const repository = name.slice(0, name.lastIndexOf(":"));
  const tag = name.slice(name.lastIndexOf(":") + 1);
  const target = `${BENCH_NAMESPACE}/${repository}`;
  const got = await registryCall("GET", `/v2/${repository}/manifests/${tag}`, { accept: MANIFEST_TYPES.join(", ") });
  if (got.status !== 200) {
    throw new Error(
      `the registry has no ${source} (HTTP ${got.status}): run scripts/build-images.sh, or the bench with BENCH_BUILD_IMAGES=1`,
    );
  }
  const manifest = JSON.parse(got.body.toString("utf8")) as { config: { digest: string }; layers: { digest: string; size: number }[] };
  for (const blob of [manifest.config, ...manifest.layers]) {
    if ((await registryCall("HEAD", `/v2/${target}/blobs/${blob.digest}`)).status === 200) {
      continue;
    }
    const mounted = await registryCall("POST", `/v2/${target}/blobs/uploads/?mount=${blob.digest}&from=${repository}`);
    if (mounted.status !== 201) {
      throw new Error(`registry: mounting ${blob.digest} from ${repository} into ${target} answered ${mounted.status}`);
    }
  }
  const contentType = String(got.headers["content-type"]);
  const put = await registryCall("PUT", `/v2/${target}/manifests/${tag}`, { "content-type": contentType }, got.body);
  if (put.status !== 201) {
    throw new Error(`registry: PUT ${target}:${tag} answered ${put.status}: ${put.body.toString("utf8")}`);
  }
  return {
    key,
    source,
    ref: `${REGISTRY}/${target}:${tag}`,
    digest: String(got.headers["docker-content-digest"]),
    imageId: manifest.config.digest,
    bytes: manifest.layers.reduce((sum, layer) => sum + layer.size, 0),
  };
}

/**
 * Takes the bench's tags out of the engine (untagging only, where another tag or a container holds
 * the image) and says, per image, whether its content stays in the engine under another name.
 */
async function untagBenchImages(images: readonly BenchImage[]): Promise<Record<string, boolean>> {
  const contentInEngine: Record<string, boolean> = {};
  for (const image of images) {
    await docker(["image", "rm", image.ref], { allowFailure: true });
    contentInEngine[image.key] = (await docker(["image", "inspect", image.imageId], { allowFailure: true })).code === 0;
  }
  return contentInEngine;
}

// ---------------------------------------------------------------------------------------------
// Reading an `up`: engine events with their arrival times, and Docker's events
// ---------------------------------------------------------------------------------------------

interface StepEventMetadata {
  readonly op: string;
  readonly urn: string;
  readonly type: string;
}

interface EngineEvent {
  readonly sequence: number;
  readonly timestamp: number;
  readonly resourcePreEvent?: { metadata: StepEventMetadata };
  readonly resOutputsEvent?: { metadata: StepEventMetadata };
  readonly resOpFailedEvent?: { metadata: StepEventMetadata };
}

/** One step of an up. Times are ms after the CLI was spawned: `*Ms` when the event's line arrived, `*TsMs` from its timestamp. */
interface StepTiming {
  readonly op: string;
  readonly urn: string;
  readonly type: string;
  readonly name: string;
  readonly startMs: number;
  readonly startTsMs: number;
  endMs?: number;
  endTsMs?: number;
  failed?: boolean;
}

/** A container's life in Docker's events, ms after the CLI was spawned (the last create in the up). */
interface ContainerTimes {
  createdMs?: number;
  startedMs?: number;
  healthyMs?: number;
}

interface UpFigures {
  readonly wallMs: number;
  readonly events: number;
  /** The stack resource's registration (CLI, language host and SDK started). */
  readonly stackRegisteredMs?: number;
  /** The first resource the program registers after the stack (its TypeScript compiled and evaluated up to there). */
  readonly firstResourceMs?: number;
  readonly firstResource?: string;
  /** The last step's end: after it, the CLI writes outputs and state and exits. */
  readonly lastStepEndMs?: number;
  /** Arrival of each line minus the start of its timestamp's second: within [0, 1000) when lines are written as events happen. */
  readonly lineLagMs: { readonly min: number; readonly max: number };
  readonly changes: string[];
  readonly chain: Chain;
  readonly providers: Record<string, number>;
  readonly imagePulls: Record<string, number>;
  readonly containers: Record<string, ContainerTimes>;
  /** The steps that decided when the last one ended (criticalPath()). */
  readonly criticalPath: PathLink[];
  readonly steps: StepTiming[];
}

interface PathLink {
  readonly op: string;
  readonly type: string;
  readonly name: string;
  readonly startMs: number;
  readonly endMs: number;
}

interface ChainLink {
  readonly op: string;
  readonly ms: number;
  /** The same step from the events' whole-second timestamps. */
  readonly tsMs: number;
  readonly startMs: number;
  readonly endMs: number;
}

interface Chain {
  readonly postgres?: ChainLink;
  readonly litellm?: ChainLink;
  readonly registration?: ChainLink;
  readonly sumMs?: number;
  readonly sumTsMs?: number;
}

function nameOf(urn: string): string {
  return urn.split("::").pop() ?? "";
}

/** The step that did the work for a resource: its longest one that is not "same" (e.g. create, create-replacement, update). */
function mainStep(steps: readonly StepTiming[], match: (s: StepTiming) => boolean): ChainLink | undefined {
  const candidates = steps.filter((s) => match(s) && s.op !== "same" && s.endMs !== undefined && !s.failed);
  const longest = candidates.sort((a, b) => b.endMs! - b.startMs - (a.endMs! - a.startMs))[0];
  if (!longest) {
    return undefined;
  }
  return {
    op: longest.op,
    ms: longest.endMs! - longest.startMs,
    tsMs: longest.endTsMs! - longest.startTsMs,
    startMs: longest.startMs,
    endMs: longest.endMs!,
  };
}

/** Each resource's dependencies and provider, from the stack's state: what the engine waits for before its step. */
async function dependencyGraph(stack: Stack): Promise<Record<string, string[]>> {
  const state = await stack.exportState();
  const graph: Record<string, string[]> = {};
  for (const r of state.deployment?.resources ?? []) {
    const provider = typeof r.provider === "string" ? [r.provider.slice(0, r.provider.lastIndexOf("::"))] : [];
    graph[r.urn] = [...(r.dependencies ?? []), ...provider];
  }
  return graph;
}

/**
 * The steps that decided when an up's last step ended: from that step back through the dependency
 * (or provider) whose step ended last, until one that waited for no other step. A replacement's
 * create waits for its own delete-replaced step (deleteBeforeReplace). Components, the stack and
 * "same" steps are left out.
 */
function criticalPath(steps: readonly StepTiming[], graph: Record<string, string[]>): PathLink[] {
  const real = steps.filter((s) => s.endMs !== undefined && s.op !== "same" && s.type !== TYPE_STACK && !s.type.startsWith(`${PROJECT}:`));
  /** What a resource's dependents wait for: its longest step (a replacement's create rather than its delete). */
  const byUrn = new Map<string, StepTiming>();
  for (const s of real) {
    const previous = byUrn.get(s.urn);
    if (!previous || s.endMs! - s.startMs > previous.endMs! - previous.startMs) {
      byUrn.set(s.urn, s);
    }
  }
  const latest = (candidates: StepTiming[]) => candidates.sort((a, b) => b.endMs! - a.endMs!)[0] as StepTiming | undefined;
  const path: PathLink[] = [];
  let current = latest([...byUrn.values()]);
  while (current && !path.some((l) => l.name === current!.name && l.op === current!.op && l.type === current!.type)) {
    const step: StepTiming = current;
    path.unshift({ op: step.op, type: step.type, name: step.name, startMs: step.startMs, endMs: step.endMs! });
    const ownDelete = step.op === "create-replacement" ? real.filter((s) => s.urn === step.urn && s.op === "delete-replaced") : [];
    const dependencies = (graph[step.urn] ?? []).map((urn) => byUrn.get(urn)).filter((s): s is StepTiming => s !== undefined);
    current = latest([...dependencies, ...ownDelete].filter((s) => s.endMs! <= step.startMs));
  }
  return path;
}

function analyseUp(result: TimedCliResult, upSteps: readonly Step[], graph: Record<string, string[]>): Omit<UpFigures, "containers"> {
  const spawnEpochMs = performance.timeOrigin + result.startedMs;
  const open = new Map<string, StepTiming>();
  const steps: StepTiming[] = [];
  let events = 0;
  let minLag = Infinity;
  let maxLag = -Infinity;
  for (const { atMs, line } of result.lines) {
    if (!line.trim().startsWith("{")) {
      continue;
    }
    let event: EngineEvent;
    try {
      event = JSON.parse(line);
    } catch {
      continue;
    }
    if (typeof event.timestamp !== "number") {
      continue;
    }
    events++;
    const arrivedMs = atMs - result.startedMs;
    const tsMs = event.timestamp * 1000 - spawnEpochMs;
    minLag = Math.min(minLag, arrivedMs - tsMs);
    maxLag = Math.max(maxLag, arrivedMs - tsMs);
    const pre = event.resourcePreEvent?.metadata;
    if (pre) {
      const step: StepTiming = { op: pre.op, urn: pre.urn, type: pre.type, name: nameOf(pre.urn), startMs: arrivedMs, startTsMs: tsMs };
      open.set(`${pre.op} ${pre.urn}`, step);
      steps.push(step);
    }
    const done = event.resOutputsEvent?.metadata ?? event.resOpFailedEvent?.metadata;
    if (done) {
      const step = open.get(`${done.op} ${done.urn}`);
      if (step) {
        step.endMs = arrivedMs;
        step.endTsMs = tsMs;
        step.failed = event.resOpFailedEvent !== undefined;
        open.delete(`${done.op} ${done.urn}`);
      }
    }
  }
  const stackStep = steps.find((s) => s.type === TYPE_STACK);
  const first = steps.find((s) => s.type !== TYPE_STACK && !s.type.startsWith("pulumi:providers:"));
  const container = (service: string) => (s: StepTiming) => s.type === TYPE_CONTAINER && s.name === `ai-gateway-${service}`;
  const postgres = mainStep(steps, container("postgres"));
  const litellm = mainStep(steps, container("litellm"));
  const registration = mainStep(steps, (s) => s.type.endsWith(":LitellmKeyRegistration"));
  const links = [postgres, litellm, registration].filter((l): l is ChainLink => l !== undefined);
  const durations = (filter: (s: StepTiming) => boolean) =>
    Object.fromEntries(steps.filter((s) => filter(s) && s.endMs !== undefined).map((s) => [s.name, s.endMs! - s.startMs]));
  return {
    wallMs: result.endedMs - result.startedMs,
    events,
    stackRegisteredMs: stackStep?.startMs,
    firstResourceMs: first?.startMs,
    firstResource: first ? `${first.type.split(":").pop()} ${first.name}` : undefined,
    lastStepEndMs: Math.max(...steps.map((s) => s.endMs ?? 0)),
    lineLagMs: { min: minLag, max: maxLag },
    changes: changes(upSteps),
    chain: {
      postgres,
      litellm,
      registration,
      sumMs: links.length > 0 ? links.reduce((sum, l) => sum + l.ms, 0) : undefined,
      sumTsMs: links.length > 0 ? links.reduce((sum, l) => sum + l.tsMs, 0) : undefined,
    },
    providers: durations((s) => s.type.startsWith("pulumi:providers:") && s.op !== "same"),
    imagePulls: durations((s) => s.type === TYPE_IMAGE && s.op === "create"),
    criticalPath: criticalPath(steps, graph),
    steps,
  };
}

/** Docker's container events for a stack between two instants, as ms after `originMs` (performance.now()). */
async function containerTimes(
  label: string,
  prefix: string,
  fromMs: number,
  toMs: number,
  originMs: number,
): Promise<Record<string, ContainerTimes>> {
  const epoch = (ms: number) => ((performance.timeOrigin + ms) / 1000).toFixed(3);
  const { stdout } = await docker([
    "events",
    "--since",
    epoch(fromMs - 1000),
    "--until",
    epoch(toMs + 1000),
    "--filter",
    "type=container",
    "--filter",
    `label=${label}`,
    "--format",
    "{{json .}}",
  ]);
  const times: Record<string, ContainerTimes> = {};
  for (const line of stdout.split("\n").filter((l) => l.startsWith("{"))) {
    const event = JSON.parse(line) as { Action: string; timeNano: number; Actor: { Attributes: Record<string, string> } };
    const service = (event.Actor.Attributes.name ?? "").slice(prefix.length + 1);
    const atMs = event.timeNano / 1e6 - performance.timeOrigin - originMs;
    if (event.Action === "create") {
      times[service] = { createdMs: atMs };
    } else if (event.Action === "start" && times[service]) {
      times[service].startedMs = atMs;
    } else if (/^health_status: ?healthy$/.test(event.Action) && times[service] && times[service].healthyMs === undefined) {
      times[service].healthyMs = atMs;
    }
  }
  return times;
}

/** A streamed `pulumi up`, read. The dependency graph is the state's after the up unless given. */
async function timedUp(stack: Stack, label: string, prefix: string, graph?: Record<string, string[]>): Promise<UpFigures> {
  const { steps, result } = await stack.upTimed([], { signal: abort.signal });
  const figures = analyseUp(result, steps, graph ?? (await dependencyGraph(stack)));
  const containers = await containerTimes(label, prefix, result.startedMs, result.endedMs, result.startedMs);
  return { ...figures, containers };
}

async function timed<T>(run: () => Promise<T>): Promise<{ wallMs: number; value: T }> {
  const started = performance.now();
  const value = await run();
  return { wallMs: performance.now() - started, value };
}

// ---------------------------------------------------------------------------------------------
// One stack
// ---------------------------------------------------------------------------------------------

interface StackResult {
  readonly stack: string;
  /** `pulumi version` and the toolchain's PULUMI_HOME. */
  readonly pulumi: string;
  /** What else the host was doing when the stack's runs started. */
  readonly loadavgAtStart: number[];
  readonly otherGatewayContainersAtStart: string[];
  readonly profile: ProfileName;
  readonly changeTo: ProfileName;
  readonly httpPort: number;
  readonly adminPort: number;
  /** Per image: whether its content was in the engine under another name before the first up (then the pull fetched only the manifest). */
  readonly contentInEngineBeforeFirstUp: Record<string, boolean>;
  readonly firstUp: UpFigures;
  readonly noopPreview: { readonly wallMs: number; readonly changes: string[] };
  readonly noopUp: UpFigures;
  /** The no-op up again with PULUMI_NODEJS_TRANSPILE_ONLY=true: ts-node compiles the program without type-checking it. */
  readonly noopUpTranspileOnly: UpFigures;
  readonly changeUp: UpFigures;
  readonly changeBackUp: UpFigures;
  readonly destroy: { readonly wallMs: number };
}

/** Running containers of gateways other than the bench's (the end-to-end suite's, say). */
async function otherGatewayContainers(): Promise<string[]> {
  const { stdout } = await docker(["ps", "--filter", "label=ai-gateway.gateway", "--format", "{{.Names}}"]);
  return stdout
    .split("\n")
    .filter((c) => c && !c.startsWith("ai-gateway-bench-"))
    .sort();
}

function portsOf(profile: ProfileName): { httpPort: number; adminPort: number } {
  const config = parseYaml(fs.readFileSync(path.join(ROOT, `Pulumi.${profile}.yaml`), "utf8")).config as Record<string, number>;
  return { httpPort: Number(config["ai-gateway:httpPort"]) + PORT_OFFSET, adminPort: Number(config["ai-gateway:adminPort"]) + PORT_OFFSET };
}

function portTaken(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

async function benchStack(profile: ProfileName, images: readonly BenchImage[]): Promise<StackResult> {
  const name = `bench-${profile}`;
  const n = names(name);
  const { httpPort, adminPort } = portsOf(profile);
  // What an earlier run of this bench, killed before its cleanup, may have left of this stack.
  await removeLeftovers(name, { volumes: true });
  for (const port of [httpPort, adminPort]) {
    if (await portTaken(port)) {
      throw new Error(`127.0.0.1:${port} is taken: choose another BENCH_PORT_OFFSET (now ${PORT_OFFSET})`);
    }
  }
  // A workspace per stack: each reads the toolchain's environment afresh.
  const workspace = new Workspace(`bench-converge-${profile}`);
  const stack = workspace.stack(name);
  let deployed = false;
  try {
    const pulumi = `${(await workspace.pulumi(["version"])).stdout.trim()} (${workspace.env.PULUMI_HOME})`;
    fs.copyFileSync(path.join(workspace.dir, `Pulumi.${profile}.yaml`), path.join(workspace.dir, `Pulumi.${name}.yaml`));
    await stack.init();
    await stack.set("httpPort", String(httpPort));
    await stack.set("adminPort", String(adminPort));
    await stack.set("ephemeral", "true");
    for (const image of images) {
      await stack.set(image.key, image.ref);
    }
    const contentInEngineBeforeFirstUp = await untagBenchImages(images);
    const loadavgAtStart = os.loadavg();
    const otherGatewayContainersAtStart = await otherGatewayContainers();
    checkpoint();

    deployed = true;
    const firstUp = await timedUp(stack, n.label, n.prefix);
    checkpoint();
    const preview = await timed(() => stack.previewSteps());
    checkpoint();
    const noopUp = await timedUp(stack, n.label, n.prefix);
    checkpoint();
    workspace.env.PULUMI_NODEJS_TRANSPILE_ONLY = "true";
    const noopUpTranspileOnly = await timedUp(stack, n.label, n.prefix).finally(() => delete workspace.env.PULUMI_NODEJS_TRANSPILE_ONLY);
    checkpoint();
    await stack.set("profile", CHANGE_TO[profile]);
    const changeUp = await timedUp(stack, n.label, n.prefix);
    checkpoint();
    await stack.set("profile", profile);
    const changeBackUp = await timedUp(stack, n.label, n.prefix);
    checkpoint();
    const destroy = await timed(() => stack.destroy());
    deployed = false;
    return {
      stack: name,
      pulumi,
      loadavgAtStart,
      otherGatewayContainersAtStart,
      profile,
      changeTo: CHANGE_TO[profile],
      httpPort,
      adminPort,
      contentInEngineBeforeFirstUp,
      firstUp,
      noopPreview: { wallMs: preview.wallMs, changes: changes(preview.value) },
      noopUp,
      noopUpTranspileOnly,
      changeUp,
      changeBackUp,
      destroy: { wallMs: destroy.wallMs },
    };
  } finally {
    if (deployed) {
      await stack.destroy({ allowFailure: true });
    }
    await removeLeftovers(name, { volumes: true });
    await untagBenchImages(images);
    workspace.remove();
  }
}

// ---------------------------------------------------------------------------------------------
// Printing
// ---------------------------------------------------------------------------------------------

const s1 = (ms: number | undefined) => (ms === undefined ? "-" : (ms / 1000).toFixed(1));
const s0 = (ms: number | undefined) => (ms === undefined ? "-" : String(Math.round(ms / 1000)));

function upRow(label: string, up: UpFigures): string[] {
  const c = up.chain;
  return [
    label,
    s1(up.wallMs),
    String(up.steps.length),
    String(up.changes.length),
    s1(up.stackRegisteredMs),
    s1(up.firstResourceMs),
    c.postgres ? `${s1(c.postgres.ms)}` : "-",
    c.litellm ? `${s1(c.litellm.ms)}` : "-",
    c.registration ? `${s1(c.registration.ms)}` : "-",
    s1(c.sumMs),
    c.sumTsMs === undefined ? "-" : `${s0(c.postgres?.tsMs)}+${s0(c.litellm?.tsMs)}+${s0(c.registration?.tsMs)}=${s0(c.sumTsMs)}`,
  ];
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  return rows.map((r) => "  " + r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join("  ")).join("\n");
}

/** Where a gated container's step went: Docker created, started and reported it healthy; the provider noticed. */
function containerLine(service: string, link: ChainLink | undefined, times: ContainerTimes | undefined): string {
  if (!link || !times?.createdMs) {
    return `${service} -`;
  }
  const rel = (ms: number | undefined) => (ms === undefined ? "?" : `${s1(ms - link.startMs)}`);
  const noticed = times.healthyMs === undefined ? "?" : s1(link.endMs - times.healthyMs);
  return `${service} ${s1(link.ms)} s (created +${rel(times.createdMs)}, started +${rel(times.startedMs)}, healthy +${rel(times.healthyMs)}, step ended ${noticed} s later)`;
}

/** `name start-end` of each step on the critical path, then when the CLI exited (s after it was spawned). */
function pathText(up: UpFigures): string {
  const links = up.criticalPath.map((l) => {
    const what = l.type.startsWith("pulumi:providers:") ? `provider ${l.type.split(":").pop()}` : l.name.replace(/^ai-gateway-/, "");
    return `${what} ${l.op} ${s1(l.startMs)}-${s1(l.endMs)}`;
  });
  return `stack registered ${s1(up.stackRegisteredMs)}, first resource ${s1(up.firstResourceMs)} -> ${links.join(" -> ")} -> CLI exited ${s1(up.wallMs)} s`;
}

function printStack(r: StackResult): void {
  const pulled = Object.values(r.contentInEngineBeforeFirstUp).filter((v) => !v).length;
  console.log(
    `\n${r.stack} (profile ${r.profile}, ports ${r.httpPort}/${r.adminPort}; pulumi ${r.pulumi}; before the first up the engine had none of the bench's tags, ` +
      `and the content of ${4 - pulled} of the 4 images under other names; load ${r.loadavgAtStart.map((l) => l.toFixed(2)).join(" ")}, ` +
      `other gateway containers running: ${r.otherGatewayContainersAtStart.length})`,
  );
  const header = [
    "",
    "wall s",
    "steps",
    "changed",
    "stack reg s",
    "1st resource s",
    "postgres s",
    "litellm s",
    "keys s",
    "chain s",
    "chain (event ts, s)",
  ];
  const rows = [
    header,
    upRow("first up", r.firstUp),
    ["no-op preview", s1(r.noopPreview.wallMs), "-", String(r.noopPreview.changes.length), "", "", "", "", "", "", ""],
    upRow("no-op up", r.noopUp),
    upRow("no-op up, transpile only", r.noopUpTranspileOnly),
    upRow(`up ${r.profile} -> ${r.changeTo}`, r.changeUp),
    upRow(`up ${r.changeTo} -> ${r.profile}`, r.changeBackUp),
    ["destroy", s1(r.destroy.wallMs), "", "", "", "", "", "", "", "", ""],
  ];
  console.log(table(rows));
  const first = r.firstUp;
  const pulls = Object.values(first.imagePulls);
  console.log(
    `  first up: CLI start to stack registered ${s1(first.stackRegisteredMs)} s, to ${first.firstResource} ${s1(first.firstResourceMs)} s; ` +
      `image pulls ${s1(Math.min(...pulls))}-${s1(Math.max(...pulls))} s`,
  );
  console.log(`    critical path: ${pathText(first)}`);
  for (const [service, link] of [
    ["postgres", first.chain.postgres],
    ["litellm", first.chain.litellm],
  ] as const) {
    console.log(`    ${containerLine(service, link, first.containers[service])}`);
  }
  const offChain = SERVICES.filter((service) => service !== "postgres" && service !== "litellm")
    .map(
      (service) =>
        `${service} created ${s1(first.containers[service]?.createdMs)} s, healthy ${s1(first.containers[service]?.healthyMs)} s`,
    )
    .join("; ");
  console.log(`    beside the chain (Docker's events; Redis, where the profile has it, gates LiteLLM with PostgreSQL): ${offChain}`);
  for (const [label, up] of [
    [`up ${r.profile} -> ${r.changeTo}`, r.changeUp],
    [`up ${r.changeTo} -> ${r.profile}`, r.changeBackUp],
  ] as const) {
    console.log(`  ${label}: ${up.changes.join(", ")}`);
    console.log(`    critical path: ${pathText(up)}`);
  }
  for (const [label, changed] of [
    ["no-op preview", r.noopPreview.changes],
    ["no-op up", r.noopUp.changes],
  ] as const) {
    if (changed.length > 0) {
      console.log(`  ${label} was not a no-op: ${changed.join(", ")}`);
    }
  }
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const missing: string[] = [];
  if (!hasToolchain()) {
    missing.push("the Pulumi toolchain (run scripts/pulumi-toolchain.sh)");
  }
  if ((await docker(["info"], { allowFailure: true })).code !== 0) {
    missing.push("a Docker engine (run `sudo scripts/start-dockerd.sh`)");
  }
  if ((await registryCall("GET", "/v2/").catch(() => ({ status: 0 }))).status !== 200) {
    missing.push(`the local registry on ${REGISTRY} (run \`sudo scripts/start-registry.sh\`)`);
  }
  if (missing.length > 0) {
    console.error(`bench:converge needs ${missing.join("; ")}`);
    process.exit(2);
  }
  if (process.env.BENCH_BUILD_IMAGES === "1") {
    await registryImages();
  }
  const images: BenchImage[] = [];
  for (const [key, source] of Object.entries(IMAGES)) {
    images.push(await copyInRegistry(key, source));
  }

  const startedAt = new Date();
  const others = await otherGatewayContainers();
  const dockerVersion = (await docker(["version", "--format", "{{.Server.Version}}"])).stdout.trim();
  console.log(
    `bench:converge ${startedAt.toISOString()}: ${os.cpus().length} CPUs, ${(os.totalmem() / 2 ** 30).toFixed(1)} GB, load ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}; Docker ${dockerVersion}; ` + `other gateway containers running: ${others.length > 0 ? others.join(", ") : "none"}`,
  );
  console.log(
    "  wall: from spawning the CLI to its exit; up = `pulumi up --yes --skip-preview --json`. stack reg / 1st resource: when the engine " +
      "reported the stack resource and the program's first own resource. postgres, litellm: their container's step (create + wait " +
      "for healthy), keys: the key registration's step, from the arrival of resourcePreEvent to resOutputsEvent on stdout; chain: " +
      "their sum; chain (event ts): the same steps from the events' own timestamps, which have a resolution of 1 s.",
  );

  const results: StackResult[] = [];
  let failure: unknown;
  try {
    for (const profile of BENCH_PROFILES) {
      if (!PROFILE_NAMES.includes(profile)) {
        throw new Error(`BENCH_PROFILES: unknown profile ${profile}`);
      }
      checkpoint();
      const result = await benchStack(profile, images);
      results.push(result);
      printStack(result);
    }
  } catch (e) {
    failure = e;
  }

  const lags = results.flatMap((r) => [r.firstUp, r.noopUp, r.noopUpTranspileOnly, r.changeUp, r.changeBackUp].map((u) => u.lineLagMs));
  if (lags.length > 0) {
    console.log(
      `\nclocks: event timestamps are whole seconds; each line arrived ${Math.min(...lags.map((l) => l.min)).toFixed(0)} to ` +
        `${Math.max(...lags.map((l) => l.max)).toFixed(0)} ms after the start of its timestamp's second (0-999 when the CLI writes each event as it happens)`,
    );
  }
  const summary = results
    .map(
      (r) =>
        `${r.stack}: first up ${s1(r.firstUp.wallMs)} s (chain ${s1(r.firstUp.chain.sumMs)} s, first resource at ${s1(r.firstUp.firstResourceMs)} s), ` +
        `no-op preview ${s1(r.noopPreview.wallMs)} s, no-op up ${s1(r.noopUp.wallMs)} s, ${r.profile}->${r.changeTo} ${s1(r.changeUp.wallMs)} s, ` +
        `back ${s1(r.changeBackUp.wallMs)} s, destroy ${s1(r.destroy.wallMs)} s`,
    )
    .join("; ");
  if (summary) {
    console.log(`summary: ${summary}`);
  }
  const document = {
    bench: "converge",
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    host: {
      cpus: os.cpus().length,
      memoryGb: os.totalmem() / 2 ** 30,
      loadavgAtEnd: os.loadavg(),
      docker: dockerVersion,
    },
    otherGatewayContainersAtStart: others,
    portOffset: PORT_OFFSET,
    images,
    units:
      "ms after the CLI was spawned (arrival of each event's line on stdout, performance.now()); *TsMs from the events' 1 s timestamps",
    error: failure === undefined ? undefined : String((failure as Error).message ?? failure).split("\n")[0],
    summary,
    stacks: results,
  };
  fs.mkdirSync(path.dirname(OUT), { recursive: true });
  fs.writeFileSync(OUT, JSON.stringify(document, null, 2) + "\n");
  const copy = OUT.replace(/\.json$/, `-${startedAt.toISOString().replace(/[:.]/g, "-")}.json`);
  fs.copyFileSync(OUT, copy);
  console.log(`results: ${path.relative(process.cwd(), OUT)} (and ${path.relative(process.cwd(), copy)})`);
  if (failure !== undefined) {
    throw failure;
  }
}

main().catch((e) => {
  if (abort.signal.aborted) {
    console.error("bench:converge interrupted; its stacks were destroyed and their leftovers removed");
    process.exit(130);
  }
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
