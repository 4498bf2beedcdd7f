/**
 * A small Docker Engine API client (unix socket, the API version negotiated by lib/dockerExec as the
 * product's own client does, Node's http; no dependency) and a sandbox for plain test containers (a
 * stand-in, a client) with explicit engine settings, for what a deployment cannot reach: the engine
 * itself (tests/docker/engine.test.ts) and the key registration's exec over the socket and ssh://
 * (tests/keys/registration.test.ts). The gateway's own containers are tested as the real Pulumi CLI
 * and docker provider create them, in the end-to-end suite (tests/e2e).
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
import { DockerEndpoint, ExecResult as EngineExecResult, execInContainer, negotiateApiVersion } from "../../lib/dockerExec";

const execFileAsync = promisify(execFile);

export const DOCKER_SOCKET = process.env.AI_GATEWAY_DOCKER_SOCKET ?? "/var/run/docker.sock";
/** Label on everything the tests create: `docker rm -f $(docker ps -aq --filter label=ai-gateway-test.run)` cleans up by hand. */
export const RUN_LABEL = "ai-gateway-test.run";

// ---------------------------------------------------------------------------------------------
// Transport
// ---------------------------------------------------------------------------------------------

class DockerApiError extends Error {
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

interface RawResponse {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
}

type Query = Record<string, string | number | boolean | undefined>;

interface RequestOptions {
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
async function dockerRequest(method: string, apiPath: string, options: RequestOptions = {}): Promise<RawResponse> {
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

/** The body of POST /containers/create, as far as the sandbox sets it. */
interface ContainerCreateBody {
  Image: string;
  Cmd?: string[];
  Env?: string[];
  Labels: Record<string, string>;
  HostConfig: {
    NetworkMode: string;
    RestartPolicy: { Name: string; MaximumRetryCount: number };
    LogConfig: { Type: string; Config: Record<string, string> };
    Init: boolean;
  };
}

async function createContainer(name: string, body: ContainerCreateBody): Promise<string> {
  const created = await api<{ Id: string; Warnings: string[] | null }>("POST", "/containers/create", { query: { name }, json: body });
  return created.Id;
}

async function startContainer(id: string): Promise<void> {
  await api("POST", `/containers/${id}/start`, {}, [204, 304]);
}

/** Force-removes a container and its anonymous volumes; a missing one is not an error. */
async function removeContainer(id: string): Promise<void> {
  await api("DELETE", `/containers/${id}`, { query: { force: true, v: true }, timeoutMs: 60_000 }, [204, 404]);
}

async function putArchive(id: string, destination: string, tar: Buffer): Promise<void> {
  await api("PUT", `/containers/${id}/archive`, { query: { path: destination }, body: tar, contentType: "application/x-tar" }, [200]);
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

async function sleep(ms: number): Promise<void> {
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
// Files into a container
// ---------------------------------------------------------------------------------------------

/** A file put into a container before it starts. */
export interface Upload {
  /** Absolute path in the container. */
  readonly file: string;
  readonly content: string;
  /** Octal mode, e.g. "0755". */
  readonly permissions: string;
}

/**
 * A tar holding just the file (no directory entries, owner root, the upload's mode), built with the
 * `tar` CLI; extracted at `/` it lands at `upload.file`.
 */
async function uploadTar(upload: Upload): Promise<Buffer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ai-gateway-upload-"));
  try {
    const relative = upload.file.replace(/^\/+/, "");
    const local = path.join(dir, relative);
    fs.mkdirSync(path.dirname(local), { recursive: true });
    fs.writeFileSync(local, upload.content, "utf8");
    fs.chmodSync(local, parseInt(upload.permissions, 8));
    const { stdout } = await execFileAsync(
      "tar",
      ["-C", dir, "--numeric-owner", "--owner=0", "--group=0", "--no-recursion", "-cf", "-", relative],
      { encoding: "buffer", maxBuffer: 64 * 1024 * 1024 },
    );
    return stdout;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
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
  ) {}

  exec(cmd: readonly string[], options?: { stdin?: string; timeoutMs?: number }): Promise<ExecResult> {
    return exec(this.id, cmd, options);
  }
}

/**
 * Creates containers for one test file and removes them all in `cleanup()`. Names get a random
 * suffix, so parallel runs (and a real gateway on the same host) never collide.
 */
export class DockerSandbox {
  readonly runId = crypto.randomBytes(4).toString("hex");
  readonly labels: Record<string, string>;
  private readonly containers = new Set<string>();

  constructor(readonly suite: string) {
    this.labels = { [RUN_LABEL]: this.runId, "ai-gateway-test.suite": suite };
  }

  /** `base` with this sandbox's suffix. */
  name(base: string): string {
    return `${base}-t${this.runId}`;
  }

  /**
   * A plain container (a client, a stand-in) on Docker's default bridge, running `cmd` with `env`
   * and the files `uploads` (put in before it starts), under tini (`Init`), never restarted.
   */
  async helper(
    base: string,
    options: { image: string; cmd?: string[]; env?: string[]; uploads?: readonly Upload[] },
  ): Promise<TestContainer> {
    const name = this.name(base);
    const id = await createContainer(name, {
      Image: options.image,
      Cmd: options.cmd ?? ["sleep", "infinity"],
      Env: options.env,
      Labels: { ...this.labels },
      HostConfig: {
        NetworkMode: "bridge",
        RestartPolicy: { Name: "no", MaximumRetryCount: 0 },
        LogConfig: { Type: "json-file", Config: {} },
        Init: true,
      },
    });
    this.containers.add(id);
    for (const upload of options.uploads ?? []) {
      await putArchive(id, "/", await uploadTar(upload));
    }
    await startContainer(id);
    return new TestContainer(id, name);
  }

  /** Removes every container this sandbox created. */
  async cleanup(): Promise<void> {
    const errors: string[] = [];
    await Promise.all(
      [...this.containers].map(async (id) => {
        try {
          await removeContainer(id);
        } catch (e) {
          errors.push(`container ${id}: ${(e as Error).message}`);
        }
      }),
    );
    this.containers.clear();
    if (errors.length > 0) {
      throw new Error(`cleanup left things behind:\n${errors.join("\n")}`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Host-side network
// ---------------------------------------------------------------------------------------------

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
