/**
 * The end-to-end suite's harness: the real Pulumi CLI (scripts/pulumi-toolchain.sh) deploying the
 * project to the real Docker engine, with a local file backend and a passphrase, images pulled
 * from the local registry (scripts/build-images.sh).
 *
 * Each test file works on its own copy of the project (program, components, stack files) in a
 * temporary directory, so stack files can be edited freely, with its own state directory.
 */
import { execFile, spawn } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import { performance } from "perf_hooks";
import { promisify } from "util";
import { ROOT } from "../helpers/program";

const execFileAsync = promisify(execFile);

export const PASSPHRASE = "e2e-passphrase-not-a-secret";
export const PROJECT = "ai-gateway";

/** What the program needs at run time; everything else (tests, bench, docs) stays behind. */
const PROJECT_FILES = [
  "Pulumi.yaml",
  "Pulumi.small.yaml",
  "Pulumi.medium.yaml",
  "Pulumi.large.yaml",
  "Pulumi.preview.yaml",
  "index.ts",
  "package.json",
  "tsconfig.json",
];
const PROJECT_DIRS = ["components", "lib", "profiles", "runtime", "tools"];

/** The toolchain's environment (PATH, PULUMI_HOME and the no-download settings), read from the file the toolchain script writes. */
export function toolchainEnv(): Record<string, string> {
  const file = path.join(ROOT, ".cache", "pulumi-toolchain.env");
  if (!fs.existsSync(file)) {
    throw new Error(`${file} is missing: run scripts/pulumi-toolchain.sh`);
  }
  const env: Record<string, string> = {};
  for (const line of fs.readFileSync(file, "utf8").split("\n")) {
    const m = /^export ([A-Z_]+)="?(.*?)"?$/.exec(line.trim());
    if (m) {
      env[m[1]] = m[2].replace("$PATH", process.env.PATH ?? "");
    }
  }
  return env;
}

export function hasToolchain(): boolean {
  return fs.existsSync(path.join(ROOT, ".cache", "pulumi-toolchain.env"));
}

export interface CliResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number;
}

export class CliError extends Error {
  constructor(
    readonly args: readonly string[],
    readonly result: CliResult,
  ) {
    // Debug events of `--json` output carry the providers' debug logs, which print container
    // environments (passwords, keys): never into a test report or a CI log.
    const shown = (line: string) => !line.includes('"severity":"debug"');
    const tail = (text: string) => text.trim().split("\n").filter(shown).slice(-40).join("\n");
    super(`pulumi ${args.join(" ")} exited ${result.code}\n--- stdout ---\n${tail(result.stdout)}\n--- stderr ---\n${tail(result.stderr)}`);
    this.name = "CliError";
  }
}

/** A line of a command's stdout and when it arrived: performance.now() in this process, ms. */
export interface TimedLine {
  readonly atMs: number;
  readonly line: string;
}

/** A streamed command's result: also when it started and ended (performance.now(), ms) and its stdout line by line. */
export interface TimedCliResult extends CliResult {
  readonly startedMs: number;
  readonly endedMs: number;
  readonly lines: readonly TimedLine[];
}

/** One step of a preview or update, as the engine's JSON output reports it. */
export interface Step {
  readonly op: string;
  readonly urn: string;
  readonly type: string;
  /** The resource's name: the last URN component. */
  readonly name: string;
}

/** A copy of the project with its own backend: where stacks are deployed from. */
export class Workspace {
  readonly dir: string;
  readonly stateDir: string;
  readonly env: Record<string, string>;

  constructor(label: string) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), `ai-gateway-e2e-${label}-`));
    this.stateDir = path.join(this.dir, ".state");
    fs.mkdirSync(this.stateDir);
    for (const file of PROJECT_FILES) {
      fs.copyFileSync(path.join(ROOT, file), path.join(this.dir, file));
    }
    for (const dir of PROJECT_DIRS) {
      fs.cpSync(path.join(ROOT, dir), path.join(this.dir, dir), { recursive: true });
    }
    fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(this.dir, "node_modules"));
    this.env = {
      ...(process.env as Record<string, string>),
      ...toolchainEnv(),
      PULUMI_BACKEND_URL: `file://${this.stateDir}`,
      PULUMI_CONFIG_PASSPHRASE: PASSPHRASE,
      // No colour codes, no interactive prompts, no progress animation in logs.
      PULUMI_SKIP_CONFIRMATIONS: "true",
      NO_COLOR: "1",
      CI: "true",
    };
  }

  async pulumi(args: readonly string[], options: { allowFailure?: boolean; timeoutMs?: number } = {}): Promise<CliResult> {
    const full = ["--non-interactive", "--color", "never", ...args];
    return this.run("pulumi", full, full, options);
  }

  /** Runs a command in the copy with the workspace's environment; a non-zero exit throws CliError(`shown`, …) unless `allowFailure`. */
  private async run(
    command: string,
    args: readonly string[],
    shown: readonly string[],
    options: { allowFailure?: boolean; timeoutMs?: number },
  ): Promise<CliResult> {
    let result: CliResult;
    try {
      const { stdout, stderr } = await execFileAsync(command, args, {
        cwd: this.dir,
        env: this.env,
        maxBuffer: 64 * 1024 * 1024,
        timeout: options.timeoutMs ?? 20 * 60_000,
      });
      result = { stdout, stderr, code: 0 };
    } catch (e) {
      const err = e as { stdout?: string; stderr?: string; code?: number | string };
      result = { stdout: err.stdout ?? "", stderr: err.stderr ?? String(e), code: typeof err.code === "number" ? err.code : 1 };
    }
    if (result.code !== 0 && !options.allowFailure) {
      throw new CliError(shown, result);
    }
    return result;
  }

  /**
   * pulumi(), streamed: also records when each line of stdout arrives, for timings finer than the
   * engine events' whole-second timestamps. `signal` (and the timeout) interrupt the CLI with
   * SIGINT, as Ctrl-C would, and again 10 s later, which makes it stop without waiting.
   */
  pulumiTimed(
    args: readonly string[],
    options: { allowFailure?: boolean; timeoutMs?: number; signal?: AbortSignal } = {},
  ): Promise<TimedCliResult> {
    const full = ["--non-interactive", "--color", "never", ...args];
    return new Promise((resolve, reject) => {
      const startedMs = performance.now();
      const child = spawn("pulumi", full, { cwd: this.dir, env: this.env, stdio: ["ignore", "pipe", "pipe"] });
      const lines: TimedLine[] = [];
      let partial = "";
      let stderr = "";
      child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
        const atMs = performance.now();
        const parts = (partial + chunk).split("\n");
        partial = parts.pop() ?? "";
        lines.push(...parts.map((line) => ({ atMs, line })));
      });
      child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
      const timers: NodeJS.Timeout[] = [];
      const interrupt = () => {
        child.kill("SIGINT");
        timers.push(setTimeout(() => child.kill("SIGINT"), 10_000));
      };
      timers.push(setTimeout(interrupt, options.timeoutMs ?? 20 * 60_000));
      if (options.signal?.aborted) {
        interrupt();
      }
      options.signal?.addEventListener("abort", interrupt, { once: true });
      child.on("error", (e) => {
        timers.forEach(clearTimeout);
        reject(e);
      });
      child.on("close", (code) => {
        timers.forEach(clearTimeout);
        options.signal?.removeEventListener("abort", interrupt);
        const endedMs = performance.now();
        if (partial) {
          lines.push({ atMs: endedMs, line: partial });
        }
        const result = { stdout: lines.map((l) => `${l.line}\n`).join(""), stderr, code: code ?? 1, startedMs, endedMs, lines };
        if (result.code !== 0 && !options.allowFailure) {
          reject(new CliError(full, result));
        } else {
          resolve(result);
        }
      });
    });
  }

  /**
   * `npm run --silent <script> -- <args>` in the copy, with the workspace's backend, passphrase and
   * toolchain (the project's own commands, e.g. preview-stack). Fails on a non-zero exit unless
   * `allowFailure`.
   */
  async npm(script: string, args: readonly string[], options: { allowFailure?: boolean; timeoutMs?: number } = {}): Promise<CliResult> {
    const full = ["run", "--silent", script, "--", ...args];
    return this.run("npm", full, ["npm", ...full], options);
  }

  stack(name: string): Stack {
    return new Stack(this, name);
  }

  remove(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

export class Stack {
  constructor(
    readonly workspace: Workspace,
    readonly name: string,
  ) {}

  private cli(args: readonly string[], options?: { allowFailure?: boolean; timeoutMs?: number }): Promise<CliResult> {
    return this.workspace.pulumi(["--stack", this.name, ...args], options);
  }

  /** Creates the stack (its settings come from Pulumi.<name>.yaml if the copy has one). */
  async init(): Promise<void> {
    await this.workspace.pulumi(["stack", "init", this.name]);
  }

  async set(key: string, value: string, options: { secret?: boolean; path?: boolean } = {}): Promise<void> {
    const flags = [...(options.secret ? ["--secret"] : ["--plaintext"]), ...(options.path ? ["--path"] : [])];
    await this.cli(["config", "set", ...flags, `${PROJECT}:${key}`, "--", value]);
  }

  async unset(key: string, options: { path?: boolean } = {}): Promise<void> {
    await this.cli(["config", "rm", ...(options.path ? ["--path"] : []), `${PROJECT}:${key}`]);
  }

  /** `pulumi preview` as a person reads it (diagnostics included). */
  async preview(extra: readonly string[] = []): Promise<CliResult> {
    return this.cli(["preview", ...extra]);
  }

  /** The engine's planned steps, from `pulumi preview --json`. */
  async previewSteps(extra: readonly string[] = []): Promise<Step[]> {
    const result = await this.cli(["preview", "--json", ...extra]);
    return parseSteps(result.stdout);
  }

  /** `pulumi up --yes --json`: the steps it took. */
  async up(extra: readonly string[] = [], options: { allowFailure?: boolean } = {}): Promise<{ steps: Step[]; result: CliResult }> {
    const result = await this.cli(["up", "--yes", "--skip-preview", "--json", ...extra], options);
    return { steps: result.code === 0 ? parseSteps(result.stdout) : [], result };
  }

  /** up(), streamed (Workspace.pulumiTimed): also when each engine event arrived. */
  async upTimed(
    extra: readonly string[] = [],
    options: { allowFailure?: boolean; signal?: AbortSignal } = {},
  ): Promise<{ steps: Step[]; result: TimedCliResult }> {
    const result = await this.workspace.pulumiTimed(["--stack", this.name, "up", "--yes", "--skip-preview", "--json", ...extra], options);
    return { steps: result.code === 0 ? parseSteps(result.stdout) : [], result };
  }

  /** Fails unless the engine plans nothing. */
  async expectNoChanges(): Promise<void> {
    await this.cli(["preview", "--expect-no-changes", "--diff"]);
  }

  async refresh(extra: readonly string[] = []): Promise<CliResult> {
    return this.cli(["refresh", "--yes", ...extra]);
  }

  async destroy(options: { allowFailure?: boolean } = {}): Promise<CliResult> {
    return this.cli(["destroy", "--yes"], options);
  }

  async rm(): Promise<void> {
    await this.cli(["stack", "rm", "--yes", "--force"]);
  }

  async outputs(): Promise<Record<string, any>> {
    const result = await this.cli(["stack", "output", "--json", "--show-secrets"]);
    return JSON.parse(result.stdout);
  }

  /** The stack's state as `pulumi stack export` writes it (secrets stay encrypted). */
  async exportState(): Promise<any> {
    const result = await this.cli(["stack", "export"]);
    return JSON.parse(result.stdout);
  }
}

/** A step from an engine event's or a preview step's metadata. */
function step(metadata: { op: string; urn: string }): Step {
  const urn = metadata.urn;
  const qualified = urn.split("::")[2] ?? "";
  // docker:index/container:Container -> Container; ai-gateway:index:Nginx -> Nginx.
  const type = qualified.split("$").pop()?.split(":").pop() ?? "";
  return { op: metadata.op, urn, type, name: urn.split("::").pop() ?? "" };
}

/**
 * Steps from the engine's JSON: `preview --json` prints one document with `steps`; `up --json`
 * streams one event per line, where each finished step is a `resOutputsEvent`.
 */
export function parseSteps(stdout: string): Step[] {
  const text = stdout.slice(stdout.indexOf("{"));
  if (!text.includes('"sequence":')) {
    return ((JSON.parse(text).steps ?? []) as { op: string; urn: string }[]).map(step);
  }
  return text
    .split("\n")
    .filter((line) => line.trim().startsWith("{"))
    .map((line) => JSON.parse(line))
    .filter((event) => event.resOutputsEvent)
    .map((event) => step(event.resOutputsEvent.metadata));
}

/**
 * Steps that change something, as sorted `op Type name` lines, e.g. "replace Container
 * ai-gateway-litellm" ("same" and reads left out; a replacement's several steps count once).
 */
export function changes(steps: readonly Step[]): string[] {
  const replaceOps = new Set(["replace", "create-replacement", "delete-replaced"]);
  const seen = new Set<string>();
  for (const s of steps) {
    if (s.op === "same" || s.op === "read" || s.op === "refresh") {
      continue;
    }
    seen.add(`${replaceOps.has(s.op) ? "replace" : s.op} ${s.type} ${s.name}`);
  }
  return [...seen].sort();
}

// ---------------------------------------------------------------------------------------------
// The Docker engine, through the docker CLI
// ---------------------------------------------------------------------------------------------

export async function docker(args: readonly string[], options: { allowFailure?: boolean; input?: string } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = execFile("docker", [...args], { maxBuffer: 64 * 1024 * 1024, timeout: 5 * 60_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof (error as any).code === "number" ? (error as any).code : 1) : 0;
      const result = { stdout, stderr, code };
      if (code !== 0 && !options.allowFailure) {
        reject(new Error(`docker ${args.join(" ")} exited ${code}: ${stderr.trim()}`));
      } else {
        resolve(result);
      }
    });
    if (options.input !== undefined) {
      child.stdin?.end(options.input);
    }
  });
}

export async function inspect(container: string): Promise<any> {
  return JSON.parse((await docker(["inspect", container])).stdout)[0];
}

/** Names of containers, volumes or networks carrying a label (e.g. ai-gateway.gateway=<prefix>). */
export async function dockerObjects(kind: "container" | "volume" | "network", filter: string): Promise<string[]> {
  const args =
    kind === "container"
      ? ["ps", "-a", "--filter", filter, "--format", "{{.Names}}"]
      : [kind, "ls", "--filter", filter, "--format", "{{.Name}}"];
  return (await docker(args)).stdout.split("\n").filter(Boolean).sort();
}

export async function volumeExists(name: string): Promise<boolean> {
  return (await docker(["volume", "inspect", name], { allowFailure: true })).code === 0;
}

/** Runs a command in a container as the image's user, with optional stdin. */
export async function dockerExec(container: string, cmd: readonly string[], input?: string): Promise<string> {
  return (await docker(["exec", ...(input !== undefined ? ["-i"] : []), container, ...cmd], { input })).stdout;
}

/** SQL run as the superuser over PostgreSQL's local socket inside its container. */
export async function psql(container: string, sql: string): Promise<string> {
  return (await dockerExec(container, ["psql", "-U", "litellm", "-d", "litellm", "-tAc", sql])).trim();
}

// ---------------------------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------------------------

export interface Answer {
  readonly status: number;
  readonly body: string;
  readonly headers: http.IncomingHttpHeaders;
}

export function request(
  url: string,
  options: { method?: string; headers?: http.OutgoingHttpHeaders; body?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: options.method ?? "GET", headers: options.headers, timeout: 15_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8"), headers: res.headers }));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`${url} did not answer within 15 s`)));
    req.on("error", reject);
    req.end(options.body);
  });
}
