/**
 * Runs the Open WebUI stand-in (tests/fixtures/docker/open_webui_standin.py, which lists the
 * Open WebUI 0.11.4 behaviours it follows) from the test rootfs under bubblewrap, as the image runs
 * it: Debian's python3-socketio/python3-aiohttp, so the websocket's Origin check is
 * python-engineio's own. It listens on a free loopback port of this host's network.
 */
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { inRootfs } from "../fixtures/nginx/nginxRunner";
import { ROOT } from "./program";
import { Requirement, testRootfs } from "./requirements";

const FIXTURES = path.join(ROOT, "tests", "fixtures", "docker");
const SCRIPT = path.join(FIXTURES, "open_webui_standin.py");

/** The rootfs must have python-socketio and aiohttp (scripts/build-test-rootfs.sh installs them). */
export function socketioRequirement(): Requirement {
  const rootfs = testRootfs();
  const met =
    rootfs !== undefined &&
    ["socketio", "engineio", "aiohttp"].every((m) => fs.existsSync(path.join(rootfs, "usr/lib/python3/dist-packages", m)));
  return {
    name: "python3-socketio and python3-aiohttp in the test rootfs",
    met,
    hint: "rebuild it: `sudo scripts/build-test-rootfs.sh` (the package list now has them)",
  };
}

export interface OpenWebuiStandin {
  readonly url: string;
  readonly port: number;
  /** The data directory (webui.db), kept by stop() so a restart can reuse it. */
  readonly dataDir: string;
  /** stdout and stderr so far (engineio logs refused origins there). */
  output(): string;
  stop(): Promise<void>;
}

function command(dir: string, dataDir: string, env: Record<string, string>): { args: string[]; env: NodeJS.ProcessEnv } {
  return {
    args: inRootfs(dir, ["python3", SCRIPT], ["--ro-bind", FIXTURES, FIXTURES, "--bind", dataDir, dataDir]),
    // Nothing of this process's environment: only what the container would get.
    env: { PATH: "/usr/bin:/bin", HOST: "127.0.0.1", PORT: "0", DATA_DIR: dataDir, STANDIN_RUN_DIR: dir, ...env },
  };
}

/** The data directories of this test file, removed when it ends (a test restarts the stand-in on one). */
const dataDirs: string[] = [];
afterAll(() => {
  for (const dir of dataDirs.splice(0)) {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

/** A fresh data directory (a new volume), removed when the test file ends. */
export function newDataDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "aigw-owui-data-"));
  dataDirs.push(dir);
  return dir;
}

/** Starts the stand-in with `env` on `dataDir`; resolves once it listens. */
export async function startOpenWebuiStandin(env: Record<string, string>, dataDir = newDataDir()): Promise<OpenWebuiStandin> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "aigw-owui-run-"));
  const { args, env: childEnv } = command(dir, dataDir, env);
  const child: ChildProcess = spawn("bwrap", args, { env: childEnv, stdio: ["ignore", "pipe", "pipe"] });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let out = "";
  child.stdout!.on("data", (chunk) => (out += chunk));
  child.stderr!.on("data", (chunk) => (out += chunk));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      // bwrap owns the stand-in's PID namespace: ending it ends supervisor and server alike.
      child.kill();
      await exited;
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Open WebUI stand-in did not listen within 20 s:\n${out}`)), 20_000);
    const check = () => {
      const match = /listening on [^:]+:(\d+)/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    };
    child.stdout!.on("data", check);
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`Open WebUI stand-in exited with ${code}:\n${out}`));
    });
  }).catch(async (e) => {
    await stop();
    throw e;
  });
  return { url: `http://127.0.0.1:${port}`, port, dataDir, output: () => out, stop };
}

/** Runs the stand-in expecting it to stop at start-up; its exit code and output. */
export function failedStart(env: Record<string, string>): { status: number | null; output: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "aigw-owui-run-"));
  const dataDir = newDataDir();
  try {
    const { args, env: childEnv } = command(dir, dataDir, env);
    const result = spawnSync("bwrap", args, { env: childEnv, encoding: "utf8", timeout: 20_000 });
    return { status: result.status, output: `${result.stdout}${result.stderr}` };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
