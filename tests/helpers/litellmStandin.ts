/**
 * Starts the LiteLLM stand-in (tests/fixtures/docker/litellm_standin.py, which lists the LiteLLM
 * behaviours it reproduces) on the host, on a free loopback port. Its keys live in memory unless
 * the options give it a DATABASE_URL (then in PostgreSQL, as LiteLLM's do).
 */
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ROOT } from "./program";

export const STANDIN_SCRIPT = path.join(ROOT, "tests", "fixtures", "docker", "litellm_standin.py");

export interface Standin {
  readonly url: string;
  readonly masterKey: string;
  /** The stand-in's own state and call log (test controls, not LiteLLM's API). */
  control(body: Record<string, unknown>): Promise<{ db: string; keys: number }>;
  calls(): Promise<{ method: string; path: string }[]>;
  /** Each request target as it arrived (path and query), in the order of calls(). */
  targets(): Promise<string[]>;
  info(key: string): Promise<{ status: number; body: any }>;
  /** Stops the process (supervisor and server); resolves once it has exited. */
  stop(): Promise<void>;
}

export interface StandinOptions {
  /** Environment on top of this process's, e.g. DATABASE_URL. */
  readonly env?: Record<string, string>;
  /** Command-line arguments, as the container's command gives them. Default none. */
  readonly args?: readonly string[];
}

/** The stand-in's environment: this process's, less any key-store setting of its own, plus `env`. */
export function standinEnv(masterKey: string, env: Record<string, string> = {}): NodeJS.ProcessEnv {
  const inherited = { ...process.env };
  delete inherited.DATABASE_URL;
  delete inherited.STANDIN_KEYS;
  return { ...inherited, LITELLM_MASTER_KEY: masterKey, PORT: "0", HOST: "127.0.0.1", ...env };
}

export async function startStandin(masterKey = "sk-master-key-for-tests-0123456789abcdef", options: StandinOptions = {}): Promise<Standin> {
  // Its knob files (health override, server pid) in a directory of its own, not the host's /tmp.
  const runDir = fs.mkdtempSync(path.join(os.tmpdir(), "aigw-litellm-standin-"));
  const child: ChildProcess = spawn("python3", [STANDIN_SCRIPT, ...(options.args ?? [])], {
    env: { ...standinEnv(masterKey, options.env), STANDIN_RUN_DIR: runDir },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill();
      await exited;
    }
    fs.rmSync(runDir, { recursive: true, force: true });
  };
  // stderr is the request log: kept for an error message, never printed.
  let log = "";
  child.stderr!.on("data", (chunk) => (log = (log + chunk).slice(-4000)));
  const port = await new Promise<number>((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`stand-in did not listen within 10 s:\n${log}`)), 10_000);
    child.stdout!.on("data", (chunk) => {
      out += chunk;
      const match = /listening on [^:]+:(\d+)/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`stand-in exited with ${code}:\n${log}`));
    });
  }).catch(async (e) => {
    await stop();
    throw e;
  });
  const url = `http://127.0.0.1:${port}`;
  const json = async (p: string, init?: RequestInit) => {
    const response = await fetch(url + p, init);
    return { status: response.status, body: (await response.json()) as any };
  };
  return {
    url,
    masterKey,
    control: async (body) => (await json("/__standin/state", { method: "POST", body: JSON.stringify(body) })).body,
    calls: async () => (await json("/__standin/calls")).body.calls,
    targets: async () => (await json("/__standin/calls")).body.targets,
    info: (key) => json(`/key/info?key=${encodeURIComponent(key)}`, { headers: { Authorization: `Bearer ${masterKey}` } }),
    stop,
  };
}
