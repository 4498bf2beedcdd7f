/**
 * `npm run bench:proxy`: what nginx costs in front of LiteLLM. In one process it starts the
 * OpenAI-style stub (tests/fixtures/nginx/stubServer.ts) and measures it:
 *   direct                      wrk -> stub
 *   generated nginx             wrk -> nginx (lib/nginxConf.ts, medium profile: 2 workers) -> stub
 *   original nginx, as deployed wrk -> nginx (the original project's configuration, reconstructed in
 *                               tests/fixtures/nginx/original-*.conf) -> stub, with the upstream
 *                               keepalive default of the nginx it was written for (none; see
 *                               tests/fixtures/nginx/original.ts)
 *   original on 1.30 defaults   the same text on nginx 1.30's new defaults (upstream keepalive on
 *                               since 1.29.7); informational
 * For each: requests per second with keep-alive clients for a small JSON response (GET /v1/models,
 * with the headers the OpenAI SDK sends), p50/p99 latency (wrk --latency), and the time to the
 * first server-sent event of a streamed completion (a Node client on a warm connection, median of
 * many runs). nginx is the test rootfs's (Debian sid, nginx 1.30) under bubblewrap, as in tests/nginx.
 *
 * This is a benchmark, not a test: it prints figures and checks them against issue 4's targets
 * (generated >= 0.6 x direct and >= 2.5 x the original as deployed; first event within 5 ms of
 * direct), exiting 1 when one is missed. Targets share 2 cores between wrk, nginx and the stub, and
 * the rounds are interleaved (best round counts) so a busy neighbour skews all targets alike.
 *
 * Environment: BENCH_DURATION (seconds per wrk run, default 8), BENCH_CONNECTIONS (default 32),
 * BENCH_ROUNDS (default 3), BENCH_SSE_RUNS (default 40), BENCH_UPSTREAM_HOST (address the stub
 * listens on, default 127.0.0.1; a non-loopback address models Docker's bridge, where closed
 * upstream connections' TIME_WAIT ports are not reused early).
 */
import { execFile, execFileSync, spawnSync } from "child_process";
import * as http from "http";
import * as os from "os";
import { PROFILES } from "../profiles";
import { originalConfig } from "../tests/fixtures/nginx/original";
import { inRootfs, RunningNginx, startDns, startNginx } from "../tests/fixtures/nginx/nginxRunner";
import { nowMs, startStub, Stub } from "../tests/fixtures/nginx/stubServer";
import { requirements } from "../tests/helpers/requirements";

const DURATION = Number(process.env.BENCH_DURATION ?? 8);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SSE_RUNS = Number(process.env.BENCH_SSE_RUNS ?? 40);
const HOST = process.env.BENCH_UPSTREAM_HOST ?? "127.0.0.1";

/** What the OpenAI Python SDK (httpx) sends besides the body. */
const CLIENT_HEADERS = [
  "Authorization: Bearer sk-bench-0123456789abcdefghijklmnop",
  "Accept: application/json",
  "Accept-Encoding: gzip, deflate",
];

interface WrkResult {
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly errors: string;
}

function toMs(value: string): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(value.trim());
  if (!m) {
    throw new Error(`cannot read wrk latency ${value}`);
  }
  return Number(m[1]) * (m[2] === "us" ? 0.001 : m[2] === "s" ? 1000 : 1);
}

/** wrk in a child process (asynchronously: the stub shares this process's event loop). */
function wrk(url: string, seconds: number): Promise<WrkResult> {
  const headers = CLIENT_HEADERS.flatMap((h) => ["-H", h]);
  return new Promise((resolve, reject) => {
    execFile("wrk", ["-t1", `-c${CONNECTIONS}`, `-d${seconds}s`, "--latency", ...headers, url], { encoding: "utf8" }, (error, stdout) => {
      if (error) {
        reject(error);
        return;
      }
      const rps = /Requests\/sec:\s+([\d.]+)/.exec(stdout);
      const p50 = /^\s+50%\s+(\S+)/m.exec(stdout);
      const p99 = /^\s+99%\s+(\S+)/m.exec(stdout);
      if (!rps || !p50 || !p99) {
        reject(new Error(`cannot read wrk output:\n${stdout}`));
        return;
      }
      const errors = [/Socket errors:.*$/m.exec(stdout)?.[0], /Non-2xx or 3xx responses:.*$/m.exec(stdout)?.[0]].filter(Boolean).join("; ");
      resolve({ rps: Number(rps[1]), p50Ms: toMs(p50[1]), p99Ms: toMs(p99[1]), errors });
    });
  });
}

/** Milliseconds from sending a streamed completion request to receiving its first event. */
function firstChunkMs(url: URL, agent: http.Agent): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = nowMs();
    const req = http.request(
      url,
      {
        method: "POST",
        agent,
        headers: {
          authorization: "Bearer sk-bench",
          "content-type": "application/json",
          "accept-encoding": "gzip, deflate",
          "x-stub-sse-chunks": "3",
          "x-stub-sse-pause-ms": "20",
        },
      },
      (res) => {
        let first: number | undefined;
        res.on("data", () => {
          first ??= nowMs() - started;
        });
        res.on("end", () => (first === undefined ? reject(new Error("no event")) : resolve(first)));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end('{"model":"bench","stream":true}');
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

async function firstChunkMedian(url: string): Promise<number> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    for (let i = 0; i < 5; i++) {
      await firstChunkMs(new URL(url), agent);
    }
    const runs: number[] = [];
    for (let i = 0; i < SSE_RUNS; i++) {
      runs.push(await firstChunkMs(new URL(url), agent));
    }
    return median(runs);
  } finally {
    agent.destroy();
  }
}

interface Target {
  readonly name: string;
  readonly jsonUrl: string;
  readonly streamUrl: string;
}

interface Row extends WrkResult {
  readonly name: string;
  readonly firstChunkMs: number;
  readonly upstreamConnections: number;
}

function missingRequirements(): string[] {
  const missing = [requirements.rootfs(), requirements.bwrap(), requirements.dnsmasq()]
    .filter((r) => !r.met)
    .map((r) => `${r.name} (${r.hint})`);
  try {
    execFileSync("wrk", ["--version"], { stdio: "ignore" });
  } catch (e) {
    // `wrk --version` exits 1 after printing its version; only a missing binary matters.
    if ((e as NodeJS.ErrnoException).code === "ENOENT") {
      missing.push("wrk (apt-get install wrk)");
    }
  }
  return missing;
}

function nginxVersion(): string {
  // nginx -v prints to stderr.
  const result = spawnSync("bwrap", inRootfs(os.tmpdir(), ["nginx", "-v"]), { encoding: "utf8" });
  return (result.stderr || "nginx").trim().replace(/^nginx version: /, "");
}

async function main(): Promise<void> {
  const missing = missingRequirements();
  if (missing.length > 0) {
    console.error(`bench:proxy needs ${missing.join("; ")}`);
    process.exit(2);
  }

  const profile = PROFILES.medium;
  const dns = await startDns(["litellm", "open-webui"], undefined, HOST);
  const stub: Stub = await startStub("litellm", 0, HOST);
  const stubAddress = { host: HOST, port: stub.port };
  const running: RunningNginx[] = [];
  try {
    const start = async (options: Parameters<typeof startNginx>[1]) => {
      const nginx = await startNginx(dns, { quiet: true, ...options });
      running.push(nginx);
      return `http://127.0.0.1:${nginx.listeners.public}/api/litellm/v1`;
    };
    const ours = await start({
      input: {
        workerProcesses: profile.nginx.workerProcesses,
        workerConnections: profile.nginx.workerConnections,
        litellm: { host: "litellm", port: stub.port },
        openWebui: { host: "open-webui", port: stub.port },
      },
    });
    const deployed = await start({
      configText: (dir, listeners) => originalConfig(dir, listeners, stubAddress, stubAddress, { asDeployed: true }),
    });
    const asWritten = await start({ configText: (dir, listeners) => originalConfig(dir, listeners, stubAddress, stubAddress) });

    const direct = `http://${HOST}:${stub.port}/v1`;
    const targets: Target[] = [
      { name: "direct", jsonUrl: `${direct}/models`, streamUrl: `${direct}/chat/completions` },
      { name: "generated nginx", jsonUrl: `${ours}/models`, streamUrl: `${ours}/chat/completions` },
      { name: "original, as deployed", jsonUrl: `${deployed}/models`, streamUrl: `${deployed}/chat/completions` },
      { name: "original, 1.30 defaults", jsonUrl: `${asWritten}/models`, streamUrl: `${asWritten}/chat/completions` },
    ];

    console.log(
      `bench:proxy ${new Date().toISOString()}: ${os.cpus().length} CPUs, ${nginxVersion()}, stub on ${HOST}; ` +
        `wrk -t1 -c${CONNECTIONS} -d${DURATION}s --latency (GET /v1/models, OpenAI SDK headers), best of ${ROUNDS} interleaved rounds; ` +
        `first SSE event: median of ${SSE_RUNS} on a warm connection`,
    );
    const best = new Map<string, WrkResult & { upstreamConnections: number }>();
    for (let round = 0; round < ROUNDS; round++) {
      for (const target of targets) {
        await wrk(target.jsonUrl, 2); // warm-up: client connections, upstream keepalive pools
        const connectionsBefore = stub.connections();
        const result = await wrk(target.jsonUrl, DURATION);
        const upstreamConnections = stub.connections() - connectionsBefore;
        const previous = best.get(target.name);
        if (!previous || result.rps > previous.rps) {
          best.set(target.name, { ...result, upstreamConnections });
        }
      }
    }
    const rows: Row[] = [];
    for (const target of targets) {
      rows.push({ name: target.name, ...best.get(target.name)!, firstChunkMs: await firstChunkMedian(target.streamUrl) });
    }

    const [directRow, ourRow, deployedRow, asWrittenRow] = rows;
    const pad = (s: string, n: number) => s.padEnd(n);
    console.log("");
    console.log(
      `${pad("target", 25)}${pad("req/s", 9)}${pad("x direct", 10)}${pad("p50 ms", 9)}${pad("p99 ms", 9)}${pad("1st SSE ms", 12)}${pad("new upstream conns", 20)}errors`,
    );
    for (const row of rows) {
      console.log(
        `${pad(row.name, 25)}${pad(row.rps.toFixed(0), 9)}${pad((row.rps / directRow.rps).toFixed(2), 10)}${pad(row.p50Ms.toFixed(2), 9)}` +
          `${pad(row.p99Ms.toFixed(2), 9)}${pad(row.firstChunkMs.toFixed(2), 12)}${pad(String(row.name === "direct" ? "-" : row.upstreamConnections), 20)}${row.errors}`,
      );
    }
    console.log("");
    console.log(`generated nginx / original on 1.30 defaults: ${(ourRow.rps / asWrittenRow.rps).toFixed(2)} x (informational)`);

    const checks: [string, boolean][] = [
      [`generated nginx >= 0.6 x direct throughput: ${(ourRow.rps / directRow.rps).toFixed(2)} x`, ourRow.rps >= 0.6 * directRow.rps],
      [
        `generated nginx >= 2.5 x the original as deployed: ${(ourRow.rps / deployedRow.rps).toFixed(2)} x`,
        ourRow.rps >= 2.5 * deployedRow.rps,
      ],
      [
        `first SSE event within 5 ms of direct: ${ourRow.firstChunkMs >= directRow.firstChunkMs ? "+" : ""}${(ourRow.firstChunkMs - directRow.firstChunkMs).toFixed(2)} ms`,
        ourRow.firstChunkMs - directRow.firstChunkMs <= 5,
      ],
    ];
    for (const [label, ok] of checks) {
      console.log(`${ok ? "PASS" : "MISS"}  ${label}`);
    }
    if (checks.some(([, ok]) => !ok)) {
      process.exitCode = 1;
    }
  } finally {
    for (const nginx of running) {
      await nginx.stop();
    }
    await stub.close();
    await dns.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
