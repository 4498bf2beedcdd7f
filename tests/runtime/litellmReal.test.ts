/**
 * Real LiteLLM 1.110.1 (the venv from scripts/python-packages.sh), started with the arguments
 * lib/services.ts gives the container and the config.yaml lib/litellmConfig.ts renders, without a
 * database (DATABASE_URL unset, which LiteLLM allows). It shows review finding F2 for real: a request
 * limit on a single uvicorn worker ends the process, the container's PID 1, so the gateway gives one
 * worker none; several workers are replaced one by one by uvicorn's manager while the process serves.
 */
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { BUDGETS } from "../../profiles";
import { renderLitellmConfig } from "../../lib/litellmConfig";
import { litellmArgs } from "../../lib/services";
import { freePort } from "../fixtures/nginx/nginxRunner";
import { describeWith, litellmVenv, requirements } from "../helpers/requirements";

const MASTER_KEY = "sk-real-litellm-test-0123456789abcdef0123456789ab";
const STARTUP_MS = 120_000;

/** `args` with the value after `flag` replaced: the container's paths and port do not exist here. */
function withFlag(args: string[], flag: string, value: string): string[] {
  const index = args.indexOf(flag);
  expect(index).toBeGreaterThanOrEqual(0);
  return [...args.slice(0, index + 1), value, ...args.slice(index + 2)];
}

interface Proxy {
  readonly child: ChildProcess;
  readonly url: string;
  readonly exited: Promise<number | null>;
  /** stdout and stderr so far (the master key is never in them: LiteLLM reads it from the env). */
  log(): string;
}

async function startLitellm(dir: string, args: string[]): Promise<Proxy> {
  const port = await freePort();
  const config = path.join(dir, "config.yaml");
  fs.writeFileSync(
    config,
    renderLitellmConfig({ models: [{ name: "gpt-test", model: "openai/gpt-test" }], budget: BUDGETS.test, spendLogRetention: "30d" }),
  );
  const argv = withFlag(withFlag(args, "--config", config), "--port", String(port));
  const env: NodeJS.ProcessEnv = { ...process.env, LITELLM_MASTER_KEY: MASTER_KEY, LITELLM_MODE: "PRODUCTION", HOST: "127.0.0.1" };
  // Offline: the bundled model cost map instead of a fetch from GitHub on every start.
  env.LITELLM_LOCAL_MODEL_COST_MAP = "True";
  delete env.DATABASE_URL;
  const child = spawn(path.join(litellmVenv()!, "bin", "litellm"), argv, { cwd: dir, env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout!.on("data", (chunk) => (output += chunk));
  child.stderr!.on("data", (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const proxy: Proxy = { child, url: `http://127.0.0.1:${port}`, exited, log: () => output };
  const deadline = Date.now() + STARTUP_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(`litellm exited with ${child.exitCode} before listening:\n${output.slice(-3000)}`);
    }
    if ((await probe(proxy.url)) === 200) {
      return proxy;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  child.kill("SIGKILL");
  throw new Error(`litellm did not answer within ${STARTUP_MS / 1000} s:\n${output.slice(-3000)}`);
}

/** The container healthcheck's request; a refused or reset connection is 0. */
async function probe(url: string): Promise<number> {
  try {
    const response = await fetch(`${url}/health/liveliness`, { signal: AbortSignal.timeout(30_000) });
    await response.text();
    return response.status;
  } catch {
    return 0;
  }
}

async function stop(proxy: Proxy | undefined): Promise<void> {
  if (proxy && proxy.child.exitCode === null && proxy.child.signalCode === null) {
    proxy.child.kill("SIGTERM");
    const timer = setTimeout(() => proxy.child.kill("SIGKILL"), 20_000);
    await proxy.exited;
    clearTimeout(timer);
  }
}

describeWith("real LiteLLM 1.110.1: worker recycling (review F2)", [requirements.litellmVenv()], () => {
  let dir: string;
  let proxy: Proxy | undefined;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "aigw-litellm-real-"));
  });
  afterEach(async () => {
    await stop(proxy);
    proxy = undefined;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("the gateway's single-worker arguments have no request limit: after 30 probes the same process still serves", async () => {
    proxy = await startLitellm(dir, litellmArgs(1, { maxRequests: 5, jitter: 2 }));
    for (let i = 0; i < 30; i++) {
      expect(await probe(proxy.url)).toBe(200);
    }
    expect(proxy.child.exitCode).toBeNull();
    expect(proxy.child.signalCode).toBeNull();
    // LiteLLM warns when one worker is given a limit (proxy_cli.py:single_worker_max_requests_warning).
    expect(proxy.log()).not.toContain("does not recycle a worker");
    expect(proxy.log().match(/Started server process \[\d+\]/g)).toHaveLength(1);
  });

  test("contrast: one worker with a request limit (the gateway's old MAX_REQUESTS_BEFORE_RESTART) ends the process", async () => {
    proxy = await startLitellm(dir, [...litellmArgs(1), "--max_requests_before_restart", "5"]);
    expect(proxy.log()).toContain("does not recycle a worker");
    for (let i = 0; i < 30 && proxy.child.exitCode === null; i++) {
      await new Promise((r) => setTimeout(r, 250));
      await probe(proxy.url);
    }
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([proxy.exited, new Promise<string>((r) => (timer = setTimeout(() => r("still running"), 30_000)))]);
    clearTimeout(timer);
    expect(code).toBe(0);
    expect(proxy.log()).toContain("Maximum request limit of");
    expect(await probe(proxy.url)).toBe(0);
  });

  // Each recycle starts a new worker (imports LiteLLM: seconds, more on a loaded machine), so the
  // probes are few enough for a few recycles and the time limit is generous.
  const PROBES = 24;
  test(`several workers with a limit of 5: uvicorn replaces each at its limit and after ${PROBES} probes the process still serves`, async () => {
    proxy = await startLitellm(dir, litellmArgs(2, { maxRequests: 5, jitter: 2 }));
    const statuses: number[] = [];
    let retried = 0;
    for (let i = 0; i < PROBES; i++) {
      // Spaced like probes, not a burst: a worker checks its count every 0.1 s (uvicorn
      // Server.on_tick), so a burst within one tick is all served by the same worker.
      await new Promise((r) => setTimeout(r, 250));
      let status = await probe(proxy.url);
      if (status === 0) {
        // A connection a retiring worker accepted just before it stopped is closed unanswered
        // (uvicorn's shutdown closes idle connections); a new one reaches another worker.
        retried++;
        status = await probe(proxy.url);
      }
      statuses.push(status);
    }
    expect(statuses).toEqual(Array(PROBES).fill(200));
    expect(proxy.child.exitCode).toBeNull();
    expect(proxy.child.signalCode).toBeNull();
    // uvicorn really recycled: more worker processes started than the two it began with.
    const started = proxy.log().match(/Started server process \[\d+\]/g) ?? [];
    expect(new Set(started).size).toBeGreaterThanOrEqual(3);
    expect(retried).toBeLessThan(started.length);
  }, 300_000);
});

describeWith("real LiteLLM 1.110.1: the key lookup the registration uses (review F16)", [requirements.litellmVenv()], () => {
  let dir: string;
  let proxy: Proxy | undefined;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "aigw-litellm-real-v2-"));
    proxy = await startLitellm(dir, litellmArgs(1, { maxRequests: 5, jitter: 2 }));
  });
  afterAll(async () => {
    await stop(proxy);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const v2 = async (method: string, key: string | undefined, body?: unknown) => {
    const response = await fetch(`${proxy!.url}/v2/key/info`, {
      method,
      headers: { ...(key ? { Authorization: `Bearer ${key}` } : {}), "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, text: await response.text() };
  };

  test("POST /v2/key/info exists, takes the keys in its body, and is for the master key only; GET is not served", async () => {
    // No database (and no prisma) here, so the handler's own first check raises: the route, its
    // auth and its body model ran. The venv's error handler then fails importing prisma, hence a bare 500.
    const asMaster = await v2("POST", MASTER_KEY, { keys: ["sk-someKEY0123456789abcdefghij"] });
    expect(asMaster.status).toBe(500);
    expect(proxy!.log()).toContain("Exception: Database not connected");
    // uvicorn's access log (on at INFO) holds the request target: with the key in the body, no key is in it.
    expect(proxy!.log()).toMatch(/"POST \/v2\/key\/info HTTP\/1\.1" 500/);
    expect(proxy!.log()).not.toContain("sk-someKEY");
    // The old lookup put the key in the query; 1.110.1 happens to redact it from the access log
    // (AccessLogRedactionFilter), which is what kept it out before, and what older pins lack.
    await fetch(`${proxy!.url}/key/info?key=sk-contrastKEY0123456789abcdef`, { headers: { Authorization: `Bearer ${MASTER_KEY}` } });
    expect(proxy!.log()).toMatch(/"GET \/key\/info\?REDACTED HTTP\/1\.1"/);
    expect(proxy!.log()).not.toContain("sk-contrastKEY");
    expect((await v2("POST", undefined, { keys: ["sk-someKEY0123456789abcdefghij"] })).status).toBe(401);
    expect((await v2("POST", MASTER_KEY, {})).status).toBe(422);
    expect((await v2("GET", MASTER_KEY)).status).toBe(405);
  });
});
