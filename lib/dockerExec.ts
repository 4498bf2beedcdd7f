/**
 * Runs a command inside a container through the Docker Engine API, with stdin, the way
 * `docker exec -i` does, but without a Docker CLI on this machine: it reaches the engine on the
 * same endpoint the docker provider uses (unix socket, tcp, or ssh:// through the local ssh client
 * and `docker system dial-stdio` on the host, which is what the provider itself does).
 *
 * Plain functions over Node built-ins only: the key registration's dynamic provider captures them,
 * and Pulumi serializes them by value into the stack's state.
 */
import { spawn } from "child_process";
import * as http from "http";
import * as net from "net";
import { Duplex } from "stream";
import { parseDockerHost } from "./dockerHost";

export interface DockerEndpoint {
  /** unix:///path, tcp://host:port or ssh://user@host[:port]. */
  readonly host: string;
  /** Extra ssh options for an ssh:// host. */
  readonly sshOpts?: readonly string[];
}

export interface ExecResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * The newest Engine API version this client was checked against (Docker 28.5 serves 1.51). The
 * engine is asked what it speaks on every exec: an older engine is spoken to at its own version,
 * a newer one at this one, which it still accepts unless it no longer supports it (Docker 29
 * refuses anything below 1.44; 30 may raise that again), in which case the error says so.
 */
export const CLIENT_API_VERSION = "1.51";

/** A fresh connection to the Docker engine. */
export function dockerConnection(endpoint: DockerEndpoint): Duplex {
  const parts = parseDockerHost(endpoint.host);
  if (parts?.kind === "unix") {
    return net.connect(parts.path);
  }
  if (parts?.kind === "tcp") {
    return net.connect(Number(parts.port), parts.host);
  }
  if (parts?.kind === "ssh") {
    const destination = `${parts.user}@${parts.host}`;
    const args = [
      ...(endpoint.sshOpts ?? []),
      ...(parts.port ? ["-p", parts.port] : []),
      "-o",
      "BatchMode=yes",
      destination,
      "--",
      "docker",
      "system",
      "dial-stdio",
    ];
    const child = spawn("ssh", args, { stdio: ["pipe", "pipe", "pipe"] });
    let sshErrors = "";
    child.stderr.on("data", (chunk: Buffer) => (sshErrors += chunk.toString()));
    const duplex = Duplex.from({ readable: child.stdout, writable: child.stdin });
    child.on("exit", (code) => {
      if (code !== 0 && code !== null) {
        duplex.destroy(new Error(`ssh to ${destination} failed (exit ${code}): ${sshErrors.trim()}`));
      }
    });
    child.on("error", (e) => duplex.destroy(new Error(`cannot run ssh for ${endpoint.host}: ${e.message}`)));
    duplex.on("close", () => child.kill());
    return duplex;
  }
  throw new Error(`unsupported Docker host ${endpoint.host}`);
}

/** The engine's JSON answers, as far as this module reads them. */
interface EngineAnswer {
  readonly Id?: string;
  readonly Running?: boolean;
  readonly ExitCode?: number;
  readonly message?: string;
  readonly ApiVersion?: string;
  readonly MinAPIVersion?: string;
}

/** An error answer of the engine, with its HTTP status (404: no such container; 409: not running). */
export class DockerEngineError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    // Set again: in the provider as Pulumi serializes it, super() is Error called as a function,
    // which leaves `this` without a message (the engine would report "undefined").
    this.message = message;
    this.name = "DockerEngineError";
  }
}

function compareVersions(a: string, b: string): number {
  const [aMajor, aMinor] = a.split(".").map(Number);
  const [bMajor, bMinor] = b.split(".").map(Number);
  return aMajor - bMajor || aMinor - bMinor;
}

/**
 * The API version to speak with this engine, as `docker` negotiates it: the engine's own when it is
 * older than ours, else ours; refused with a clear message when the engine no longer accepts ours.
 * `GET /version` is served unversioned by every engine.
 */
export async function negotiateApiVersion(endpoint: DockerEndpoint): Promise<string> {
  const answer = await request(endpoint, "GET", "/version");
  if (answer.status !== 200 || !answer.body.ApiVersion) {
    throw dockerError("version query", answer);
  }
  const server = answer.body.ApiVersion;
  const chosen = compareVersions(server, CLIENT_API_VERSION) < 0 ? server : CLIENT_API_VERSION;
  const minimum = answer.body.MinAPIVersion;
  if (minimum && compareVersions(chosen, minimum) < 0) {
    throw new Error(`Docker engine at ${endpoint.host} requires API ${minimum} or newer; this client speaks up to ${CLIENT_API_VERSION}`);
  }
  return chosen;
}

function request(endpoint: DockerEndpoint, method: string, path: string, body?: unknown): Promise<{ status: number; body: EngineAnswer }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(
      {
        method,
        path,
        host: "docker",
        headers: payload ? { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(payload) } : {},
        createConnection: () => dockerConnection(endpoint) as net.Socket,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let parsed: EngineAnswer;
          try {
            parsed = text ? (JSON.parse(text) as EngineAnswer) : {};
          } catch {
            parsed = { message: text };
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(payload);
  });
}

function dockerError(what: string, answer: { status: number; body: EngineAnswer }): DockerEngineError {
  const message = answer.body.message ?? JSON.stringify(answer.body);
  return new DockerEngineError(`Docker ${what} failed (${answer.status}): ${message}`, answer.status);
}

/** Splits Docker's multiplexed attach stream (8-byte frame headers) into stdout and stderr. */
export function demultiplex(data: Buffer): { stdout: string; stderr: string } {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let offset = 0;
  while (offset + 8 <= data.length) {
    const stream = data[offset];
    const size = data.readUInt32BE(offset + 4);
    const frame = data.subarray(offset + 8, offset + 8 + size);
    (stream === 2 ? err : out).push(frame);
    offset += 8 + size;
  }
  return { stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") };
}

/** Starts an exec instance, writes `stdin` and closes it, and collects the multiplexed output. */
function startAndAttach(endpoint: DockerEndpoint, api: string, execId: string, stdin: string, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const payload = JSON.stringify({ Detach: false, Tty: false });
    const chunks: Buffer[] = [];
    const request = http.request({
      method: "POST",
      path: `${api}/exec/${execId}/start`,
      host: "docker",
      headers: { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(payload), Connection: "Upgrade", Upgrade: "tcp" },
      createConnection: () => dockerConnection(endpoint) as net.Socket,
    });
    const timer = setTimeout(
      () => request.destroy(new Error(`command in container did not finish within ${timeoutMs / 1000} s`)),
      timeoutMs,
    );
    const fail = (e: Error) => {
      clearTimeout(timer);
      reject(e);
    };
    const collect = (stream: NodeJS.ReadableStream, head?: Buffer) => {
      if (head && head.length > 0) chunks.push(head);
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        clearTimeout(timer);
        resolve(Buffer.concat(chunks));
      });
      stream.on("error", fail);
    };
    // The engine hijacks the connection (101): stdin goes up the same socket, output comes down.
    request.on("upgrade", (_res, socket, head) => {
      collect(socket, head);
      socket.end(stdin);
    });
    request.on("response", (res) => {
      if ((res.statusCode ?? 0) >= 300) {
        const body: Buffer[] = [];
        res.on("data", (c: Buffer) => body.push(c));
        res.on("end", () =>
          fail(
            new DockerEngineError(`Docker exec start failed (${res.statusCode}): ${Buffer.concat(body).toString()}`, res.statusCode ?? 0),
          ),
        );
        return;
      }
      collect(res);
    });
    request.on("error", fail);
    request.end(payload);
  });
}

/** `docker exec -i <container> <cmd...> < stdin`, returning the exit code and both outputs. */
export async function execInContainer(
  endpoint: DockerEndpoint,
  container: string,
  cmd: readonly string[],
  stdin: string,
  timeoutMs = 120000,
): Promise<ExecResult> {
  const api = `/v${await negotiateApiVersion(endpoint)}`;
  const created = await request(endpoint, "POST", `${api}/containers/${encodeURIComponent(container)}/exec`, {
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
    Tty: false,
    Cmd: cmd,
  });
  if (created.status !== 201) {
    throw dockerError(`exec in ${container}`, created);
  }
  const execId = created.body.Id ?? "";
  const output = demultiplex(await startAndAttach(endpoint, api, execId, stdin, timeoutMs));
  for (let attempt = 0; attempt < 50; attempt++) {
    const inspected = await request(endpoint, "GET", `${api}/exec/${execId}/json`);
    if (inspected.status !== 200) {
      throw dockerError("exec inspect", inspected);
    }
    if (!inspected.body.Running) {
      return { exitCode: inspected.body.ExitCode ?? -1, ...output };
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`command in ${container} still running after its output ended`);
}

/** The container's pids limit as the engine has it: 0 (or absent) means none. */
export async function containerPidsLimit(endpoint: DockerEndpoint, container: string): Promise<number> {
  const api = `/v${await negotiateApiVersion(endpoint)}`;
  const answer = await request(endpoint, "GET", `${api}/containers/${encodeURIComponent(container)}/json`);
  if (answer.status !== 200) {
    throw dockerError(`inspect of ${container}`, answer);
  }
  const hostConfig = (answer.body as { HostConfig?: { PidsLimit?: number | null } }).HostConfig;
  return hostConfig?.PidsLimit ?? 0;
}

/**
 * `docker update --pids-limit`: the engine applies it to the running container at once and keeps
 * it in the container's configuration, so it holds across restarts.
 */
export async function setContainerPidsLimit(endpoint: DockerEndpoint, container: string, pidsLimit: number): Promise<void> {
  const api = `/v${await negotiateApiVersion(endpoint)}`;
  const answer = await request(endpoint, "POST", `${api}/containers/${encodeURIComponent(container)}/update`, { PidsLimit: pidsLimit });
  if (answer.status !== 200) {
    throw dockerError(`update of ${container}`, answer);
  }
}
