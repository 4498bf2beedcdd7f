/**
 * Runs a command inside a container through the Docker Engine API, with stdin, the way
 * `docker exec -i` does, but without a Docker CLI on this machine: it reaches the engine on the
 * same endpoint the docker provider uses (unix socket, tcp with TLS, or ssh:// through the local
 * ssh client and `docker system dial-stdio` on the host, which is what the provider itself does),
 * authenticated the same way: the engine's TLS certificate checked against the given CA with the
 * client certificate presented, or the ssh host's key checked against the pinned one.
 *
 * Plain functions over Node built-ins only: the key registration's dynamic provider captures them,
 * and Pulumi serializes them by value into the stack's state.
 */
import { spawn } from "child_process";
import * as http from "http";
import * as net from "net";
import * as tls from "tls";
import { Duplex } from "stream";
import { isLoopbackHost, parseDockerHost, pinnedSshOptions, sshKeyFingerprint } from "./dockerHost";

/** PEM material for a tcp:// engine with TLS: the CA its certificate must chain to, and our client certificate and key. */
export interface DockerTlsMaterial {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

export interface DockerEndpoint {
  /** unix:///path, tcp://host:port or ssh://user@host[:port]. */
  readonly host: string;
  /** Extra ssh options for an ssh:// host (allow-listed by validation). */
  readonly sshOpts?: readonly string[];
  /** The ssh host's public key, `<type> <base64>`: the only key accepted for an ssh:// host. */
  readonly sshHostKey?: string;
  /** TLS material for a tcp:// host; without it only a loopback tcp:// host is spoken to. */
  readonly tls?: DockerTlsMaterial;
}

/** How a dynamic provider keeps its endpoint in its inputs and state (dockerTls secret). */
export interface EndpointState {
  readonly dockerHost: string;
  readonly sshOpts: string[];
  readonly sshHostKey?: string;
  readonly dockerTls?: DockerTlsMaterial;
}

export function endpointOf(state: EndpointState): DockerEndpoint {
  return { host: state.dockerHost, sshOpts: state.sshOpts, sshHostKey: state.sshHostKey, tls: state.dockerTls };
}

/**
 * The endpoint as part of a step's declaration: a changed host, key or TLS material is an update
 * (stored for the next run and for destroy) without connecting first.
 */
export function endpointDeclaration(state: EndpointState): unknown[] {
  return [state.dockerHost, state.sshOpts, state.sshHostKey, state.dockerTls];
}

export interface ExecResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * The last `count` non-empty lines a command wrote, stderr's before stdout's, joined with " / " for
 * a one-line error; "no message" when it wrote nothing.
 */
export function lastLines(result: { readonly stdout: string; readonly stderr: string }, count: number): string {
  return (
    [...result.stderr.split("\n"), ...result.stdout.split("\n")]
      .map((line) => line.trim())
      .filter(Boolean)
      .slice(-count)
      .join(" / ") || "no message"
  );
}

/**
 * The newest Engine API version this client was checked against (Docker 28.5 serves 1.51). The
 * engine is asked what it speaks on every exec: an older engine is spoken to at its own version,
 * a newer one at this one, which it still accepts unless it no longer supports it (Docker 29
 * refuses anything below 1.44; 30 may raise that again), in which case the error says so.
 */
export const CLIENT_API_VERSION = "1.51";

/**
 * The ssh arguments for an ssh:// endpoint, in the docker provider's order (docker/cli connhelper:
 * `-l user -p port <sshOpts> -- host <command>`): the pinned-key options first, so that ssh, which
 * keeps the first value it reads for an option, lets neither the user's options nor ssh_config
 * override them.
 */
export function sshArgs(endpoint: DockerEndpoint, command: readonly string[]): string[] {
  const parts = parseDockerHost(endpoint.host);
  if (parts?.kind !== "ssh") {
    throw new Error(`not an ssh:// Docker host: ${endpoint.host}`);
  }
  if (!endpoint.sshHostKey) {
    throw new Error(`refusing to connect to ${endpoint.host} without a pinned host key (dockerSshHostKey)`);
  }
  return [
    "-l",
    parts.user,
    ...(parts.port ? ["-p", parts.port] : []),
    ...pinnedSshOptions(endpoint.sshHostKey),
    ...(endpoint.sshOpts ?? []),
    "--",
    parts.host,
    ...command,
  ];
}

/**
 * ssh's failure in one line: for a host key that is not the pinned one, which host offered which
 * key (ssh prints the offered key's fingerprint when it differs from the known one), else ssh's own
 * last words.
 */
export function sshFailure(endpoint: DockerEndpoint, exitCode: number, stderr: string): string {
  const [type, blob] = (endpoint.sshHostKey ?? "").split(" ");
  const pinned = `the key pinned in dockerSshHostKey (${type} ${blob ? sshKeyFingerprint(blob) : "none"})`;
  const offered = /The fingerprint for the (\S+) key sent by the remote host is\s+(SHA256:[A-Za-z0-9+/=]+)/.exec(stderr);
  if (offered) {
    return (
      `ssh host key verification failed for ${endpoint.host}: the host offered the ${offered[1]} key ${offered[2]}, ` +
      `not ${pinned}. Refusing to connect: this may be another machine. If the host's key was changed on ` +
      `purpose, set dockerSshHostKey to its new public key (on the host: cat /etc/ssh/ssh_host_*_key.pub).`
    );
  }
  const noType = /no matching host key type found\. Their offer: (\S+)/.exec(stderr);
  if (noType) {
    return (
      `ssh host key verification failed for ${endpoint.host}: the host has no ${type} key (it offers ${noType[1]}), ` +
      `so it cannot be ${pinned}. Refusing to connect; set dockerSshHostKey to the host's own public key.`
    );
  }
  const said = stderr
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean)
    .slice(-5)
    .join(" / ");
  return `ssh to ${endpoint.host} failed (exit ${exitCode}): ${said || "no message"}`;
}

/** A Duplex over ssh's stdio, which ends only after ssh exited, so that ssh's failure is what callers see. */
function sshConnection(endpoint: DockerEndpoint): Duplex {
  const child = spawn("ssh", sshArgs(endpoint, ["docker", "system", "dial-stdio"]), { stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const duplex = new Duplex({
    read() {
      child.stdout.resume();
    },
    write(chunk: Buffer, _encoding, callback) {
      // A write to a dead ssh fails with EPIPE; its exit (below) says why, so that is reported instead.
      child.stdin.write(chunk, () => callback());
    },
    final(callback) {
      child.stdin.end(() => callback());
    },
    destroy(error, callback) {
      child.kill();
      callback(error);
    },
  });
  child.stdin.on("error", () => undefined);
  child.stdout.on("data", (chunk: Buffer) => {
    if (!duplex.push(chunk)) {
      child.stdout.pause();
    }
  });
  // The end of the stream waits for ssh to exit: an HTTP client that saw EOF first would report
  // "socket hang up" and lose ssh's reason ("Host key verification failed").
  child.on("close", (code) => {
    if (code === 0) {
      duplex.push(null);
    } else if (code !== null) {
      duplex.destroy(new Error(sshFailure(endpoint, code, stderr)));
    }
  });
  child.on("error", (e) => duplex.destroy(new Error(`cannot run ssh for ${endpoint.host}: ${e.message}`)));
  return duplex;
}

/** A fresh connection to the Docker engine. */
export function dockerConnection(endpoint: DockerEndpoint): Duplex {
  const parts = parseDockerHost(endpoint.host);
  if (parts?.kind === "unix") {
    return net.connect(parts.path);
  }
  if (parts?.kind === "tcp") {
    if (endpoint.tls) {
      return tls.connect({
        host: parts.host,
        port: Number(parts.port),
        ca: endpoint.tls.ca,
        cert: endpoint.tls.cert,
        key: endpoint.tls.key,
        // SNI takes names only; an IP address is still checked against the certificate's IP SANs.
        ...(net.isIP(parts.host) ? {} : { servername: parts.host }),
      });
    }
    // A plain tcp:// engine is an unauthenticated root API, and the exec carries the master key.
    if (!isLoopbackHost(parts.host)) {
      throw new Error(
        `refusing plain tcp:// to ${endpoint.host}: a remote Docker engine needs TLS (dockerTlsCa, dockerTlsCert, dockerTlsKey)`,
      );
    }
    return net.connect(Number(parts.port), parts.host);
  }
  if (parts?.kind === "ssh") {
    return sshConnection(endpoint);
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

/** What the restore tools read of a container (`docker inspect`). */
export interface ContainerInspection {
  /** The container's image id (sha256:...), as the docker provider creates it. */
  readonly imageId: string;
  /** created, running, restarting, exited, ... */
  readonly status: string;
  readonly running: boolean;
  /** healthy, unhealthy or starting; absent for a container without a healthcheck. */
  readonly health?: string;
  /** The last healthcheck's output, for saying why a container is not healthy. */
  readonly lastHealthOutput?: string;
  /** When the engine created the container, ISO 8601. */
  readonly created: string;
}

/** `docker inspect <container>`, as far as the restore tools need it; a DockerEngineError with status 404 when there is none. */
export async function inspectContainer(endpoint: DockerEndpoint, container: string): Promise<ContainerInspection> {
  const api = `/v${await negotiateApiVersion(endpoint)}`;
  const answer = await request(endpoint, "GET", `${api}/containers/${encodeURIComponent(container)}/json`);
  if (answer.status !== 200) {
    throw dockerError(`inspect of ${container}`, answer);
  }
  const body = answer.body as {
    Image?: string;
    Created?: string;
    State?: { Status?: string; Running?: boolean; Health?: { Status?: string; Log?: { Output?: string }[] } };
  };
  const log = body.State?.Health?.Log ?? [];
  return {
    imageId: body.Image ?? "",
    status: body.State?.Status ?? "unknown",
    running: body.State?.Running === true,
    ...(body.State?.Health?.Status ? { health: body.State.Health.Status } : {}),
    ...(log.length > 0 ? { lastHealthOutput: String(log[log.length - 1].Output ?? "").trim() } : {}),
    created: body.Created ?? "",
  };
}

/** The id (sha256:...) of the image `reference` on the engine, or undefined when the engine does not have it. */
export async function imageId(endpoint: DockerEndpoint, reference: string): Promise<string | undefined> {
  const api = `/v${await negotiateApiVersion(endpoint)}`;
  const answer = await request(endpoint, "GET", `${api}/images/${encodeURIComponent(reference)}/json`);
  if (answer.status === 404) {
    return undefined;
  }
  if (answer.status !== 200) {
    throw dockerError(`inspect of image ${reference}`, answer);
  }
  return answer.body.Id;
}

/**
 * `docker stop -t <graceSeconds> <container>`: SIGTERM, then SIGKILL after the grace period. A
 * container that is already stopped is not an error (304). A stopped container with the restart
 * policy unless-stopped stays stopped, also across an engine restart, until it is started again.
 */
export async function stopContainer(endpoint: DockerEndpoint, container: string, graceSeconds: number): Promise<void> {
  const api = `/v${await negotiateApiVersion(endpoint)}`;
  const answer = await request(endpoint, "POST", `${api}/containers/${encodeURIComponent(container)}/stop?t=${graceSeconds}`);
  if (answer.status !== 204 && answer.status !== 304) {
    throw dockerError(`stop of ${container}`, answer);
  }
}

/** `docker start <container>`; one that is already running is not an error (304). */
export async function startContainer(endpoint: DockerEndpoint, container: string): Promise<void> {
  const api = `/v${await negotiateApiVersion(endpoint)}`;
  const answer = await request(endpoint, "POST", `${api}/containers/${encodeURIComponent(container)}/start`);
  if (answer.status !== 204 && answer.status !== 304) {
    throw dockerError(`start of ${container}`, answer);
  }
}

/** A container to run once and remove (`docker run --rm` without the CLI): what the engine needs. */
export interface OneShotContainerSpec {
  /** The container's name; one left over by an interrupted run is removed first. */
  readonly name: string;
  /** The image, by id (`sha256:...`) or reference; it must be on the engine already. */
  readonly image: string;
  /** Arguments to the image's entrypoint. */
  readonly cmd: readonly string[];
  /** KEY=VALUE; they exist only as long as the container does. */
  readonly env: readonly string[];
  /** The one network it joins. */
  readonly network: string;
  /** `uid:gid` or a name; default the image's user. */
  readonly user?: string;
  /** Capabilities kept after all are dropped, with their CAP_ prefix. */
  readonly capAdd?: readonly string[];
  readonly memoryMb: number;
  readonly labels?: Readonly<Record<string, string>>;
}

/** How a one-shot container ended: its exit code and the last lines it wrote (stdout and stderr, interleaved). */
export interface OneShotResult {
  readonly exitCode: number;
  readonly logs: string;
}

/** The Engine API body of `docker create` for a one-shot container (hardened as the gateway's services are). */
export function oneShotCreateBody(spec: OneShotContainerSpec): Record<string, unknown> {
  return {
    Image: spec.image,
    Cmd: [...spec.cmd],
    Env: [...spec.env],
    ...(spec.user !== undefined ? { User: spec.user } : {}),
    Labels: { ...spec.labels },
    Tty: false,
    AttachStdin: false,
    AttachStdout: false,
    AttachStderr: false,
    HostConfig: {
      NetworkMode: spec.network,
      CapDrop: ["ALL"],
      CapAdd: [...(spec.capAdd ?? [])],
      SecurityOpt: ["no-new-privileges=true"],
      Memory: spec.memoryMb * 1024 * 1024,
      MemorySwap: spec.memoryMb * 1024 * 1024,
      RestartPolicy: { Name: "no" },
      LogConfig: { Type: "json-file", Config: {} },
    },
  };
}

/** `docker rm -f -v`: gone or never there is success. */
export async function removeContainer(endpoint: DockerEndpoint, container: string): Promise<void> {
  const api = `/v${await negotiateApiVersion(endpoint)}`;
  const answer = await request(endpoint, "DELETE", `${api}/containers/${encodeURIComponent(container)}?force=1&v=1`);
  if (answer.status !== 204 && answer.status !== 404) {
    throw dockerError(`removal of ${container}`, answer);
  }
}

/** The container's image id (`sha256:...`), or undefined when there is no such container. */
export async function containerImageId(endpoint: DockerEndpoint, container: string): Promise<string | undefined> {
  try {
    return (await inspectContainer(endpoint, container)).imageId;
  } catch (e) {
    if ((e as Partial<DockerEngineError>).status === 404) {
      return undefined;
    }
    throw e;
  }
}

/** The last `tail` lines the container wrote, stdout and stderr demultiplexed and joined. */
async function containerLogs(endpoint: DockerEndpoint, api: string, container: string, tail: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        method: "GET",
        path: `${api}/containers/${encodeURIComponent(container)}/logs?stdout=1&stderr=1&tail=${tail}`,
        host: "docker",
        createConnection: () => dockerConnection(endpoint) as net.Socket,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const data = Buffer.concat(chunks);
          if ((res.statusCode ?? 0) !== 200) {
            reject(
              new DockerEngineError(`Docker logs of ${container} failed (${res.statusCode}): ${data.toString()}`, res.statusCode ?? 0),
            );
            return;
          }
          const { stdout, stderr } = demultiplex(data);
          resolve([stdout, stderr].filter((s) => s.length > 0).join(""));
        });
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end();
  });
}

/**
 * `docker run --rm` of a one-shot container, without the CLI: created, started, waited for (at most
 * `timeoutMs`, then killed), its last `tail` log lines read, and removed in every case, so that the
 * environment it was given (a database URL) exists only while it runs. Demultiplexed logs are in
 * the order of the two streams, each whole (a container without a TTY has no common order).
 */
export async function runOneShotContainer(
  endpoint: DockerEndpoint,
  spec: OneShotContainerSpec,
  timeoutMs: number,
  tail = 40,
): Promise<OneShotResult> {
  const api = `/v${await negotiateApiVersion(endpoint)}`;
  await removeContainer(endpoint, spec.name);
  const created = await request(
    endpoint,
    "POST",
    `${api}/containers/create?name=${encodeURIComponent(spec.name)}`,
    oneShotCreateBody(spec),
  );
  if (created.status !== 201) {
    throw dockerError(`create of ${spec.name}`, created);
  }
  try {
    const started = await request(endpoint, "POST", `${api}/containers/${encodeURIComponent(spec.name)}/start`);
    if (started.status !== 204 && started.status !== 304) {
      throw dockerError(`start of ${spec.name}`, started);
    }
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), timeoutMs);
    });
    const waited = await Promise.race([request(endpoint, "POST", `${api}/containers/${encodeURIComponent(spec.name)}/wait`), timedOut]);
    clearTimeout(timer);
    if (waited === "timeout") {
      const logs = await containerLogs(endpoint, api, spec.name, tail).catch(() => "");
      throw new Error(`${spec.name} did not finish within ${timeoutMs / 1000} s; its last lines: ${logs.trim() || "none"}`);
    }
    if (waited.status !== 200) {
      throw dockerError(`wait for ${spec.name}`, waited);
    }
    const exitCode = (waited.body as { StatusCode?: number }).StatusCode ?? -1;
    return { exitCode, logs: await containerLogs(endpoint, api, spec.name, tail) };
  } finally {
    await removeContainer(endpoint, spec.name);
  }
}
