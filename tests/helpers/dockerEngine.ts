/**
 * A small Docker Engine API client (unix socket, the API version negotiated by lib/dockerExec as the
 * product's own client does, Node's http; no dependency) and a
 * sandbox that creates containers from the docker provider's recorded ContainerArgs the way
 * terraform-provider-docker does, so a test runs what the program declares rather than a retyped
 * copy:
 *
 * - Config: Env, Cmd (`command`), Entrypoint (`entrypoints`), User, Labels, StopTimeout and the
 *   Healthcheck with its Test verbatim (exec form stays exec form) and its Go durations in ns;
 * - HostConfig: Memory/MemorySwap/ShmSize from MB, SecurityOpt, RestartPolicy, LogConfig,
 *   PortBindings (HostIp/HostPort), Binds for named volumes, NetworkMode, Init;
 * - networks: created on `networkMode`, then disconnected from the default bridge and connected to
 *   each `networksAdvanced` network with its aliases (what the provider does after create);
 * - uploads: one tar per file, extracted at `/` with PUT /containers/{id}/archive before start.
 *
 * Everything a sandbox creates carries a random suffix and a run label, and `cleanup()` removes it
 * even when a test failed.
 *
 * `docker exec` and the engine's multiplexed output are lib/dockerExec's (the product's own client,
 * which the key registration runs), so the tests exercise the one implementation of that protocol.
 */
import { execFile } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";
import { demultiplex, DockerEndpoint, ExecResult as EngineExecResult, execInContainer, negotiateApiVersion } from "../../lib/dockerExec";

const execFileAsync = promisify(execFile);

export const DOCKER_SOCKET = process.env.AI_GATEWAY_DOCKER_SOCKET ?? "/var/run/docker.sock";
/** Label on everything the tests create: `docker rm -f $(docker ps -aq --filter label=ai-gateway-test.run)` cleans up by hand. */
export const RUN_LABEL = "ai-gateway-test.run";

// ---------------------------------------------------------------------------------------------
// Transport
// ---------------------------------------------------------------------------------------------

export class DockerApiError extends Error {
  constructor(
    readonly method: string,
    readonly apiPath: string,
    readonly status: number,
    readonly responseBody: string,
  ) {
    super(`Docker API ${method} ${apiPath} answered ${status}: ${responseBody.trim()}`);
    this.name = "DockerApiError";
  }
}

export interface RawResponse {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
}

type Query = Record<string, string | number | boolean | undefined>;

export interface RequestOptions {
  readonly query?: Query;
  readonly json?: unknown;
  readonly body?: Buffer;
  readonly contentType?: string;
  readonly timeoutMs?: number;
}

function queryString(query: Query | undefined): string {
  if (!query) {
    return "";
  }
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined) {
      params.set(key, String(value));
    }
  }
  const text = params.toString();
  return text ? `?${text}` : "";
}

let apiVersion: Promise<string> | undefined;

/** One request to the engine; resolves with whatever status it answered. */
export async function dockerRequest(method: string, apiPath: string, options: RequestOptions = {}): Promise<RawResponse> {
  apiVersion ??= negotiateApiVersion({ host: `unix://${DOCKER_SOCKET}` });
  const version = await apiVersion;
  const payload = options.json !== undefined ? Buffer.from(JSON.stringify(options.json)) : options.body;
  const headers: Record<string, string | number> = {};
  if (payload) {
    headers["Content-Type"] = options.json !== undefined ? "application/json" : (options.contentType ?? "application/octet-stream");
    headers["Content-Length"] = payload.length;
  }
  const requestPath = `/v${version}${apiPath}${queryString(options.query)}`;
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: DOCKER_SOCKET, method, path: requestPath, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on("error", reject);
    });
    req.setTimeout(options.timeoutMs ?? 60_000, () =>
      req.destroy(new Error(`Docker API ${method} ${apiPath}: no answer within ${options.timeoutMs ?? 60_000} ms`)),
    );
    req.on("error", reject);
    req.end(payload);
  });
}

/** A request that must answer one of `ok`; parses a JSON body. */
async function api<T>(method: string, apiPath: string, options: RequestOptions = {}, ok: number[] = [200, 201, 204]): Promise<T> {
  const res = await dockerRequest(method, apiPath, options);
  if (!ok.includes(res.status)) {
    throw new DockerApiError(method, apiPath, res.status, res.body.toString("utf8"));
  }
  const text = res.body.toString("utf8");
  return (text.length > 0 && String(res.headers["content-type"] ?? "").includes("json") ? JSON.parse(text) : undefined) as T;
}

// ---------------------------------------------------------------------------------------------
// Engine objects
// ---------------------------------------------------------------------------------------------

export interface HealthLogEntry {
  readonly Start: string;
  readonly End: string;
  readonly ExitCode: number;
  readonly Output: string;
}

/** The parts of GET /containers/{id}/json the tests read; everything else is still there. */
export interface ContainerInspect {
  readonly Id: string;
  readonly Name: string;
  readonly RestartCount: number;
  readonly State: {
    readonly Status: string;
    readonly Running: boolean;
    readonly ExitCode: number;
    readonly Pid: number;
    readonly Health?: { readonly Status: string; readonly FailingStreak: number; readonly Log: HealthLogEntry[] | null };
  };
  readonly Config: {
    readonly Hostname: string;
    readonly User: string;
    readonly Env: string[];
    readonly Cmd: string[] | null;
    readonly Entrypoint: string[] | null;
    readonly Labels: Record<string, string>;
    readonly StopTimeout?: number;
    readonly Healthcheck?: { Test: string[]; Interval: number; Timeout: number; StartPeriod: number; Retries: number };
  };
  readonly HostConfig: {
    readonly Memory: number;
    readonly MemorySwap: number;
    readonly ShmSize: number;
    readonly SecurityOpt: string[] | null;
    readonly RestartPolicy: { Name: string; MaximumRetryCount: number };
    readonly LogConfig: { Type: string; Config: Record<string, string> };
    readonly PortBindings: Record<string, { HostIp: string; HostPort: string }[]> | null;
    readonly Binds: string[] | null;
    readonly NetworkMode: string;
  };
  readonly Mounts: { Type: string; Name?: string; Source: string; Destination: string }[];
  readonly NetworkSettings: {
    readonly Ports: Record<string, { HostIp: string; HostPort: string }[] | null>;
    readonly Networks: Record<string, { IPAddress: string; Aliases: string[] | null; NetworkID: string }>;
  };
}

export async function ping(): Promise<boolean> {
  try {
    return (await dockerRequest("GET", "/_ping", { timeoutMs: 5000 })).status === 200;
  } catch {
    return false;
  }
}

export async function imageExists(ref: string): Promise<boolean> {
  const res = await dockerRequest("GET", `/images/${encodeURIComponent(ref)}/json`);
  if (res.status === 404) {
    return false;
  }
  if (res.status !== 200) {
    throw new DockerApiError("GET", `/images/${ref}/json`, res.status, res.body.toString("utf8"));
  }
  return true;
}

export async function createNetwork(name: string, labels: Record<string, string>): Promise<string> {
  const created = await api<{ Id: string }>("POST", "/networks/create", {
    json: { Name: name, Driver: "bridge", CheckDuplicate: true, Labels: labels },
  });
  return created.Id;
}

/** Removes a network; a missing one is not an error. */
export async function removeNetwork(idOrName: string): Promise<void> {
  await api("DELETE", `/networks/${encodeURIComponent(idOrName)}`, {}, [200, 204, 404]);
}

/** The host's address on a bridge network (its gateway): a host address that is not loopback. */
export async function networkGateway(idOrName: string): Promise<string> {
  const info = await api<{ IPAM: { Config: { Gateway?: string }[] | null } }>("GET", `/networks/${encodeURIComponent(idOrName)}`);
  const gateway = (info.IPAM.Config ?? []).map((c) => c.Gateway).find((g) => g && g.includes("."));
  if (!gateway) {
    throw new Error(`network ${idOrName} has no IPv4 gateway`);
  }
  return gateway;
}

export async function connectNetwork(network: string, container: string, aliases: readonly string[]): Promise<void> {
  await api("POST", `/networks/${encodeURIComponent(network)}/connect`, {
    json: { Container: container, EndpointConfig: { Aliases: [...aliases] } },
  });
}

export async function disconnectNetwork(network: string, container: string): Promise<void> {
  await api("POST", `/networks/${encodeURIComponent(network)}/disconnect`, { json: { Container: container, Force: false } });
}

export async function createVolume(name: string, labels: Record<string, string>): Promise<string> {
  const created = await api<{ Name: string }>("POST", "/volumes/create", { json: { Name: name, Driver: "local", Labels: labels } });
  return created.Name;
}

/** Removes a volume; a missing one is not an error. */
export async function removeVolume(name: string): Promise<void> {
  await api("DELETE", `/volumes/${encodeURIComponent(name)}`, { query: { force: true } }, [200, 204, 404]);
}

export async function createContainer(name: string, body: EngineContainerBody): Promise<string> {
  const created = await api<{ Id: string; Warnings: string[] | null }>("POST", "/containers/create", { query: { name }, json: body });
  return created.Id;
}

export async function startContainer(id: string): Promise<void> {
  await api("POST", `/containers/${id}/start`, {}, [204, 304]);
}

export async function stopContainer(id: string, seconds: number): Promise<void> {
  await api("POST", `/containers/${id}/stop`, { query: { t: seconds }, timeoutMs: (seconds + 30) * 1000 }, [204, 304]);
}

export async function inspectContainer(id: string): Promise<ContainerInspect> {
  return api<ContainerInspect>("GET", `/containers/${id}/json`);
}

/** Force-removes a container and its anonymous volumes; a missing one is not an error. */
export async function removeContainer(id: string): Promise<void> {
  await api("DELETE", `/containers/${id}`, { query: { force: true, v: true }, timeoutMs: 60_000 }, [204, 404]);
}

export async function putArchive(id: string, destination: string, tar: Buffer): Promise<void> {
  await api("PUT", `/containers/${id}/archive`, { query: { path: destination }, body: tar, contentType: "application/x-tar" }, [200]);
}

export async function containerLogs(id: string, tail = 60): Promise<string> {
  const res = await dockerRequest("GET", `/containers/${id}/logs`, { query: { stdout: true, stderr: true, tail } });
  if (res.status !== 200) {
    return `(no logs: ${res.status} ${res.body.toString("utf8").trim()})`;
  }
  const { stdout, stderr } = demultiplex(res.body);
  return stdout + stderr;
}

/** Containers carrying every one of `labels`, running or not. */
export async function listContainers(
  labels: Record<string, string>,
): Promise<{ Id: string; Names: string[]; Labels: Record<string, string> }[]> {
  const filters = JSON.stringify({ label: Object.entries(labels).map(([k, v]) => `${k}=${v}`) });
  return api("GET", "/containers/json", { query: { all: true, filters } });
}

/** The engine endpoint of DOCKER_SOCKET, for lib/dockerExec (the one exec implementation, the product's). */
export const DOCKER_ENDPOINT: DockerEndpoint = { host: `unix://${DOCKER_SOCKET}` };

export interface ExecResult extends EngineExecResult {
  /** stdout then stderr. */
  readonly output: string;
}

/**
 * Runs `cmd` in a running container (like `docker exec -i`, as the container's user) through the
 * product's execInContainer, with `stdin` (default none), and returns its exit code and output.
 */
export async function exec(id: string, cmd: readonly string[], options: { stdin?: string; timeoutMs?: number } = {}): Promise<ExecResult> {
  const result = await execInContainer(DOCKER_ENDPOINT, id, cmd, options.stdin ?? "", options.timeoutMs ?? 60_000);
  return { ...result, output: result.stdout + result.stderr };
}

/** How Docker runs a healthcheck test: exec form as is, CMD-SHELL through /bin/sh -c. */
export function probeCommand(tests: readonly string[]): string[] {
  const [kind, ...rest] = tests;
  if (kind === "CMD") {
    return rest;
  }
  if (kind === "CMD-SHELL") {
    return ["/bin/sh", "-c", rest.join(" ")];
  }
  throw new Error(`healthcheck test ${JSON.stringify(tests)} has no command (kind ${kind})`);
}

export async function sleep(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` until it returns something other than undefined; throws, naming `what`, at the deadline. */
export async function pollUntil<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>, intervalMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) {
        return value;
      }
    } catch (e) {
      lastError = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`${what}: not within ${timeoutMs} ms${lastError ? ` (last error: ${(lastError as Error).message})` : ""}`);
    }
    await sleep(intervalMs);
  }
}

// ---------------------------------------------------------------------------------------------
// Provider inputs -> Engine API
// ---------------------------------------------------------------------------------------------

/** The docker provider's ContainerArgs as recorded by runProgram (plain JSON). */
export interface ContainerInputs {
  readonly name: string;
  readonly image: string;
  readonly command?: string[];
  readonly entrypoints?: string[];
  readonly envs?: string[];
  readonly user?: string;
  readonly healthcheck?: { tests: string[]; interval?: string; timeout?: string; startPeriod?: string; retries?: number };
  readonly memory?: number;
  readonly memorySwap?: number;
  readonly shmSize?: number;
  readonly securityOpts?: string[];
  readonly restart?: string;
  readonly maxRetryCount?: number;
  readonly logDriver?: string;
  readonly logOpts?: Record<string, string>;
  readonly networkMode?: string;
  readonly networksAdvanced?: { name: string; aliases?: string[] }[];
  readonly ports?: { internal: number; external?: number; ip?: string; protocol?: string }[];
  readonly volumes?: { volumeName?: string; hostPath?: string; containerPath?: string; readOnly?: boolean }[];
  readonly uploads?: Upload[];
  readonly labels?: { label: string; value: string }[];
  readonly stopTimeout?: number;
  readonly init?: boolean;
  readonly [other: string]: unknown;
}

export interface Upload {
  readonly file: string;
  readonly content?: string;
  readonly contentBase64?: string;
  readonly permissions?: string;
  readonly executable?: boolean;
}

/** The body of POST /containers/create. */
export interface EngineContainerBody {
  Image: string;
  Cmd?: string[];
  Entrypoint?: string[];
  Env?: string[];
  User?: string;
  Labels: Record<string, string>;
  StopTimeout?: number;
  ExposedPorts?: Record<string, object>;
  Healthcheck?: { Test: string[]; Interval: number; Timeout: number; StartPeriod: number; Retries: number };
  HostConfig: {
    Memory?: number;
    MemorySwap?: number;
    ShmSize?: number;
    SecurityOpt?: string[];
    RestartPolicy: { Name: string; MaximumRetryCount: number };
    LogConfig: { Type: string; Config: Record<string, string> };
    PortBindings?: Record<string, { HostIp: string; HostPort: string }[]>;
    Binds?: string[];
    NetworkMode: string;
    Init: boolean;
  };
}

/** What differs from the program's spec when a test runs it. */
export interface SpecOverrides {
  /** The program's image ids are fake: the test image (required). */
  readonly image: string;
  /** Docker's container name. Default: the spec's name with the sandbox's suffix. */
  readonly name?: string;
  /** Entrypoint for a stand-in (the real images' entrypoints are not in the test image). */
  readonly entrypoint?: string[];
  /** Replaces the spec's `command` (e.g. the image's default CMD the program leaves alone). */
  readonly cmd?: string[];
  /** User the process runs as, when the real image sets one. */
  readonly user?: string;
  /** Appended to the spec's envs (test knobs for stand-ins). */
  readonly env?: string[];
  /** Program network name -> network the test created. Every network in the spec must be mapped. */
  readonly networks: Readonly<Record<string, string>>;
  /** Program volume name -> volume the test created. Every named volume in the spec must be mapped. */
  readonly volumes?: Readonly<Record<string, string>>;
  /** Container port -> host port. Default "" (Docker picks a free port), so tests never clash with the host. */
  readonly hostPorts?: Readonly<Record<number, number>>;
  /** Files (fixtures) uploaded before the spec's own uploads. */
  readonly extraUploads?: readonly Upload[];
  /** Labels added to the spec's. */
  readonly labels?: Readonly<Record<string, string>>;
}

/** Go's time.ParseDuration for the units the provider accepts, in nanoseconds. */
export function goDurationNs(text: string): number {
  if (text === "0") {
    return 0;
  }
  if (text.length === 0) {
    throw new Error("not a Go duration: empty string");
  }
  const units: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, μs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
  const part = /([0-9]*\.?[0-9]+)(ns|us|µs|μs|ms|s|m|h)/y;
  let total = 0;
  let index = 0;
  while (index < text.length) {
    part.lastIndex = index;
    const match = part.exec(text);
    if (!match) {
      throw new Error(`not a Go duration: ${JSON.stringify(text)}`);
    }
    total += Number(match[1]) * units[match[2]];
    index = part.lastIndex;
  }
  return Math.round(total);
}

const MB = 1024 * 1024;

/**
 * Maps recorded provider inputs to the Engine API, as terraform-provider-docker's create does.
 * Returns the create body, the networks to connect (with aliases) and the files to upload.
 */
export function engineContainer(
  spec: ContainerInputs,
  overrides: SpecOverrides,
): { body: EngineContainerBody; networks: { name: string; aliases: string[] }[]; uploads: Upload[] } {
  const exposed: Record<string, object> = {};
  const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const port of spec.ports ?? []) {
    const key = `${port.internal}/${port.protocol ?? "tcp"}`;
    exposed[key] = {};
    const hostPort = overrides.hostPorts?.[port.internal];
    (bindings[key] ??= []).push({ HostIp: port.ip ?? "0.0.0.0", HostPort: hostPort === undefined ? "" : String(hostPort) });
  }
  const binds = (spec.volumes ?? []).map((volume) => {
    if (!volume.volumeName || !volume.containerPath) {
      throw new Error(`only named volumes are mapped; got ${JSON.stringify(volume)}`);
    }
    const actual = overrides.volumes?.[volume.volumeName];
    if (!actual) {
      throw new Error(`volume ${volume.volumeName} of ${spec.name} has no test volume (overrides.volumes)`);
    }
    return `${actual}:${volume.containerPath}${volume.readOnly ? ":ro" : ""}`;
  });
  const networks = (spec.networksAdvanced ?? []).map((network) => {
    const actual = overrides.networks[network.name];
    if (!actual) {
      throw new Error(`network ${network.name} of ${spec.name} has no test network (overrides.networks)`);
    }
    return { name: actual, aliases: [...(network.aliases ?? [])] };
  });
  const labels: Record<string, string> = {};
  for (const { label, value } of spec.labels ?? []) {
    labels[label] = value;
  }
  const hc = spec.healthcheck;
  const body: EngineContainerBody = {
    Image: overrides.image,
    Cmd: overrides.cmd ?? spec.command,
    Entrypoint: overrides.entrypoint ?? spec.entrypoints,
    Env: [...(spec.envs ?? []), ...(overrides.env ?? [])],
    User: overrides.user ?? spec.user,
    Labels: { ...labels, ...overrides.labels },
    StopTimeout: spec.stopTimeout,
    ExposedPorts: Object.keys(exposed).length > 0 ? exposed : undefined,
    Healthcheck: hc
      ? {
          Test: [...hc.tests],
          Interval: goDurationNs(hc.interval ?? "0s"),
          Timeout: goDurationNs(hc.timeout ?? "0s"),
          StartPeriod: goDurationNs(hc.startPeriod ?? "0s"),
          Retries: hc.retries ?? 0,
        }
      : undefined,
    HostConfig: {
      Memory: spec.memory !== undefined ? spec.memory * MB : undefined,
      MemorySwap: spec.memorySwap !== undefined ? (spec.memorySwap > 0 ? spec.memorySwap * MB : spec.memorySwap) : undefined,
      ShmSize: spec.shmSize !== undefined ? spec.shmSize * MB : undefined,
      SecurityOpt: spec.securityOpts,
      RestartPolicy: { Name: spec.restart ?? "no", MaximumRetryCount: spec.maxRetryCount ?? 0 },
      LogConfig: { Type: spec.logDriver ?? "json-file", Config: { ...spec.logOpts } },
      PortBindings: Object.keys(bindings).length > 0 ? bindings : undefined,
      Binds: binds.length > 0 ? binds : undefined,
      NetworkMode: spec.networkMode ?? "bridge",
      Init: spec.init ?? false,
    },
  };
  return { body, networks, uploads: [...(overrides.extraUploads ?? []), ...(spec.uploads ?? [])] };
}

/** The mode of an upload: `permissions` (octal) wins over `executable` (0744); default 0644. */
export function uploadMode(upload: Upload): number {
  if (upload.permissions !== undefined) {
    return parseInt(upload.permissions, 8);
  }
  return upload.executable ? 0o744 : 0o644;
}

/**
 * A tar holding just the file (no directory entries, owner root, the upload's mode), built with the
 * `tar` CLI; extracted at `/` it lands at `upload.file`, as the provider's upload does.
 */
export async function uploadTar(upload: Upload): Promise<Buffer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ai-gateway-upload-"));
  try {
    const relative = upload.file.replace(/^\/+/, "");
    const local = path.join(dir, relative);
    fs.mkdirSync(path.dirname(local), { recursive: true });
    const content =
      upload.contentBase64 !== undefined ? Buffer.from(upload.contentBase64, "base64") : Buffer.from(upload.content ?? "", "utf8");
    fs.writeFileSync(local, content);
    fs.chmodSync(local, uploadMode(upload));
    const { stdout } = await execFileAsync(
      "tar",
      ["-C", dir, "--numeric-owner", "--owner=0", "--group=0", "--no-recursion", "-cf", "-", relative],
      {
        encoding: "buffer",
        maxBuffer: 64 * MB,
      },
    );
    return stdout;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Uploads each file into a created container, as the provider does before start. */
async function putUploads(id: string, uploads: readonly Upload[]): Promise<void> {
  for (const upload of uploads) {
    await putArchive(id, "/", await uploadTar(upload));
  }
}

// ---------------------------------------------------------------------------------------------
// Sandbox
// ---------------------------------------------------------------------------------------------

/** A container a sandbox created. */
export class TestContainer {
  constructor(
    readonly id: string,
    readonly name: string,
    readonly spec: ContainerInputs | undefined,
  ) {}

  start(): Promise<void> {
    return startContainer(this.id);
  }

  inspect(): Promise<ContainerInspect> {
    return inspectContainer(this.id);
  }

  exec(cmd: readonly string[], options?: { stdin?: string; timeoutMs?: number }): Promise<ExecResult> {
    return exec(this.id, cmd, options);
  }

  /** Runs the spec's healthcheck test once, exactly as Docker does, via docker exec. */
  probe(): Promise<ExecResult> {
    if (!this.spec?.healthcheck) {
      throw new Error(`${this.name} has no healthcheck in its spec`);
    }
    return exec(this.id, probeCommand(this.spec.healthcheck.tests), {
      timeoutMs: goDurationNs(this.spec.healthcheck.timeout ?? "30s") / 1e6 + 5000,
    });
  }

  logs(tail?: number): Promise<string> {
    return containerLogs(this.id, tail);
  }

  async ipOn(network: string): Promise<string> {
    const info = await this.inspect();
    const endpoint = info.NetworkSettings.Networks[network];
    if (!endpoint?.IPAddress) {
      throw new Error(`${this.name} has no address on ${network}`);
    }
    return endpoint.IPAddress;
  }

  /** The host port Docker bound for a container port (e.g. 8080/tcp). */
  async hostPort(containerPort: number, protocol = "tcp"): Promise<{ ip: string; port: number }> {
    const info = await this.inspect();
    const bound = info.NetworkSettings.Ports[`${containerPort}/${protocol}`];
    if (!bound || bound.length === 0) {
      throw new Error(`${this.name}: port ${containerPort}/${protocol} is not published`);
    }
    return { ip: bound[0].HostIp, port: Number(bound[0].HostPort) };
  }

  /**
   * Waits until Docker reports the container healthy. Fails early, with the health log and the
   * container's output, when it stops, restarts or turns unhealthy.
   */
  async waitHealthy(timeoutMs: number): Promise<ContainerInspect> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const info = await this.inspect();
      const health = info.State.Health?.Status;
      if (health === "healthy") {
        return info;
      }
      const broken = !info.State.Running || info.RestartCount > 0 || health === "unhealthy";
      if (broken || Date.now() > deadline) {
        const why = broken
          ? `is ${health ?? info.State.Status} (running: ${info.State.Running}, restarts: ${info.RestartCount})`
          : `not healthy within ${timeoutMs} ms`;
        const probes = (info.State.Health?.Log ?? []).map((l) => `  exit ${l.ExitCode}: ${l.Output.trim()}`).join("\n");
        throw new Error(`${this.name} ${why}\nhealth log:\n${probes || "  (none)"}\nlogs:\n${await this.logs(40)}`);
      }
      await sleep(250);
    }
  }

  remove(): Promise<void> {
    return removeContainer(this.id);
  }
}

/**
 * Creates Docker objects for one test file and removes them all in `cleanup()`. Names get a random
 * suffix, so parallel runs (and a real gateway on the same host) never collide.
 */
export class DockerSandbox {
  readonly runId = crypto.randomBytes(4).toString("hex");
  readonly labels: Record<string, string>;
  private readonly containers = new Set<string>();
  private readonly networks = new Set<string>();
  private readonly volumes = new Set<string>();

  constructor(readonly suite: string) {
    this.labels = { [RUN_LABEL]: this.runId, "ai-gateway-test.suite": suite };
  }

  /** `base` with this sandbox's suffix. */
  name(base: string): string {
    return `${base}-t${this.runId}`;
  }

  async network(base: string): Promise<string> {
    const name = this.name(base);
    this.networks.add(name);
    await createNetwork(name, this.labels);
    return name;
  }

  async volume(base: string): Promise<string> {
    const name = this.name(base);
    this.volumes.add(name);
    await createVolume(name, this.labels);
    return name;
  }

  /**
   * Creates (does not start) a container from the program's spec: create, move it from the default
   * bridge to the spec's networks with their aliases, upload files; the provider's order.
   */
  async fromSpec(spec: ContainerInputs, overrides: SpecOverrides): Promise<TestContainer> {
    const { body, networks, uploads } = engineContainer(spec, { ...overrides, labels: { ...overrides.labels, ...this.labels } });
    const name = overrides.name ?? this.name(spec.name);
    const id = await createContainer(name, body);
    this.containers.add(id);
    if (networks.length > 0) {
      try {
        await disconnectNetwork("bridge", id);
      } catch (e) {
        if (!String((e as Error).message).includes("is not connected")) {
          throw e;
        }
      }
      for (const network of networks) {
        await connectNetwork(network.name, id, network.aliases);
      }
    }
    await putUploads(id, uploads);
    return new TestContainer(id, name, spec);
  }

  /** fromSpec, then start. */
  async run(spec: ContainerInputs, overrides: SpecOverrides): Promise<TestContainer> {
    const container = await this.fromSpec(spec, overrides);
    await container.start();
    return container;
  }

  /**
   * A plain helper container (a client, a placeholder, a stand-in) on `network` (default: Docker's
   * bridge), running `cmd` with `env` and the files `uploads`.
   */
  async helper(
    base: string,
    options: { image: string; network?: string; cmd?: string[]; env?: string[]; uploads?: readonly Upload[]; aliases?: string[] },
  ): Promise<TestContainer> {
    const name = this.name(base);
    const network = options.network ?? "bridge";
    const id = await createContainer(name, {
      Image: options.image,
      Cmd: options.cmd ?? ["sleep", "infinity"],
      Env: options.env,
      Labels: { ...this.labels },
      HostConfig: {
        NetworkMode: network,
        RestartPolicy: { Name: "no", MaximumRetryCount: 0 },
        LogConfig: { Type: "json-file", Config: {} },
        Init: true,
      },
    });
    this.containers.add(id);
    if (options.aliases) {
      // NetworkMode attached the network without aliases; reconnect with them.
      await disconnectNetwork(network, id);
      await connectNetwork(network, id, options.aliases);
    }
    await putUploads(id, options.uploads ?? []);
    await startContainer(id);
    return new TestContainer(id, name, undefined);
  }

  /** Removes a container now (it is no longer cleaned up later). */
  async remove(container: TestContainer): Promise<void> {
    await container.remove();
    this.containers.delete(container.id);
  }

  /** Removes every container, then every network and volume, this sandbox created. */
  async cleanup(): Promise<void> {
    const errors: string[] = [];
    const attempt = async (what: string, action: () => Promise<void>) => {
      try {
        await action();
      } catch (e) {
        errors.push(`${what}: ${(e as Error).message}`);
      }
    };
    await Promise.all([...this.containers].map((id) => attempt(`container ${id}`, () => removeContainer(id))));
    this.containers.clear();
    await Promise.all([...this.networks].map((name) => attempt(`network ${name}`, () => removeNetwork(name))));
    this.networks.clear();
    await Promise.all([...this.volumes].map((name) => attempt(`volume ${name}`, () => removeVolume(name))));
    this.volumes.clear();
    if (errors.length > 0) {
      throw new Error(`cleanup left things behind:\n${errors.join("\n")}`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Host-side HTTP (published ports)
// ---------------------------------------------------------------------------------------------

export interface HttpAnswer {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

/** A GET from the host, e.g. to a port nginx publishes; rejects on connection errors and timeouts. */
export function httpGet(url: string, timeoutMs = 10_000, headers: http.OutgoingHttpHeaders = {}): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, timeout: timeoutMs, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`GET ${url}: no answer within ${timeoutMs} ms`)));
    req.on("error", reject);
  });
}

/** Whether a TCP connection from the host to host:port succeeds; otherwise the error code (e.g. ECONNREFUSED). */
export function tcpConnect(host: string, port: number, timeoutMs = 5000): Promise<"connected" | string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (result: string) => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(timeoutMs, () => done("ETIMEDOUT"));
    socket.once("connect", () => done("connected"));
    socket.once("error", (e: NodeJS.ErrnoException) => done(e.code ?? e.message));
  });
}

/** A TCP port free on every host address right now (for tests that must pick the host port themselves). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "0.0.0.0", () => {
      const address = server.address() as net.AddressInfo;
      server.close(() => resolve(address.port));
    });
  });
}
