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

const API = "/v1.41";

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
}

function request(endpoint: DockerEndpoint, method: string, path: string, body?: unknown): Promise<{ status: number; body: EngineAnswer }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(
      {
        method,
        path: API + path,
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

function dockerError(what: string, answer: { status: number; body: EngineAnswer }): Error {
  const message = answer.body.message ?? JSON.stringify(answer.body);
  return new Error(`Docker ${what} failed (${answer.status}): ${message}`);
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
function startAndAttach(endpoint: DockerEndpoint, execId: string, stdin: string, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const payload = JSON.stringify({ Detach: false, Tty: false });
    const chunks: Buffer[] = [];
    const request = http.request({
      method: "POST",
      path: `${API}/exec/${execId}/start`,
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
        res.on("end", () => fail(new Error(`Docker exec start failed (${res.statusCode}): ${Buffer.concat(body).toString()}`)));
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
  const created = await request(endpoint, "POST", `/containers/${encodeURIComponent(container)}/exec`, {
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
  const output = demultiplex(await startAndAttach(endpoint, execId, stdin, timeoutMs));
  for (let attempt = 0; attempt < 50; attempt++) {
    const inspected = await request(endpoint, "GET", `/exec/${execId}/json`);
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
