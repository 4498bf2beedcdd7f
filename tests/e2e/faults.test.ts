/**
 * Faults that must not lose data (issue 12), for real: one small ephemeral stack, data written
 * before the faults (a row in PostgreSQL, a file in Open WebUI's volume, the virtual keys), then
 * 1. PostgreSQL restarted (stopped, a call, started) while LiteLLM serves: LiteLLM serves again by itself;
 * 2. LiteLLM replaced by `pulumi up`, at a new address, while a client keeps chatting through Open
 *    WebUI: Open WebUI follows it by itself;
 * 3. the Docker engine restarted: every container comes back by itself, limits and all.
 * After each: the same containers (no restart of the others), the data, the keys, and a `pulumi
 * preview --expect-no-changes`. Each fault's recovery time is measured and printed (README,
 * "Faults the gateway survives"). The engine restart goes last: it touches every container.
 */
import { execFile } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { promisify } from "util";
import { UPSTREAM_DNS_TTL_SECONDS } from "../../lib/constants";
import { pollUntil } from "../helpers/dockerEngine";
import { ROOT } from "../helpers/program";
import { changes, docker, inspect, request, Stack, Workspace } from "./harness";
import {
  allHealthy,
  freshRegistryImages,
  IMAGES,
  names,
  publicChecks,
  readMarkers,
  removeLeftovers,
  initSmallEphemeral,
  virtualKeys,
  writeMarkers,
} from "./gateway";
import { describeE2E } from "./requirements";

const execFileAsync = promisify(execFile);

const STACK = "faults";
const HTTP_PORT = 18680;
const ADMIN_PORT = 14681;
const BASE_URL = `http://127.0.0.1:${HTTP_PORT}`;
const MARKER = "before-faults";
/**
 * How long real LiteLLM 1.110.1 may take to use its database again after a restart of PostgreSQL:
 * its health watchdog probes every 30 s and reconnects within 30 s, a reconnect waits out a 15 s
 * cooldown (proxy/utils.py PrismaClient: PRISMA_HEALTH_WATCHDOG_INTERVAL_SECONDS,
 * PRISMA_WATCHDOG_RECONNECT_TIMEOUT_SECONDS, PRISMA_RECONNECT_COOLDOWN_SECONDS), plus PostgreSQL's
 * own start. The stand-in follows the cooldown (tests/fixtures/docker/litellm_standin.py, "Reconnecting").
 */
const DATABASE_RECOVERY_MS = 90_000;
/** Open WebUI re-resolves LiteLLM after UPSTREAM_DNS_TTL_SECONDS; allow one more period and slack. */
const RERESOLVE_WITHIN_MS = 2 * UPSTREAM_DNS_TTL_SECONDS * 1000 + 10_000;
/** Every container healthy again after the engine restart: LiteLLM's and Open WebUI's start and health waits included. */
const ENGINE_RECOVERY_MS = 240_000;
/** The pid file scripts/start-dockerd.sh keeps for the engine it started. */
const ENGINE_PID_FILE = "/run/ai-gateway-dockerd-main.pid";
const EXTRA_LABEL = "ai-gateway-e2e.faults-extra";

/** The status of one call; a refused or reset connection is 0. */
async function statusOf(call: Promise<{ status: number }>): Promise<number> {
  try {
    return (await call).status;
  } catch {
    return 0;
  }
}

/** What a measured recovery took, printed for the README's table. */
const measured: Record<string, string> = {};

describeE2E("faults that must not lose data", () => {
  const workspace = new Workspace(STACK);
  const stack: Stack = workspace.stack(STACK);
  const n = names(STACK);
  const frontend = `${n.prefix}-frontend`;
  let keys: Record<string, string>;
  let token: string;
  let model: string;

  /** LiteLLM's model list through nginx with a virtual key. */
  const apiStatus = (key: string) =>
    statusOf(request(`${BASE_URL}/api/litellm/v1/models`, { headers: { Authorization: `Bearer ${key}` } }));
  /** A chat through nginx and Open WebUI, which calls LiteLLM with its own virtual key. */
  const chatStatus = () =>
    statusOf(
      request(`${BASE_URL}/api/chat/completions`, {
        method: "POST",
        headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
        body: JSON.stringify({ model, messages: [{ role: "user", content: "ping" }] }),
      }),
    );
  /** A container's identity and start: unchanged means neither re-created nor restarted. */
  const identity = async (service: "postgres" | "litellm" | "open-webui" | "nginx") => {
    const info = await inspect(n.container(service));
    return { id: info.Id, startedAt: info.State.StartedAt, restarts: info.RestartCount };
  };
  const ipOn = async (container: string, network: string): Promise<string> => {
    const ip = (await inspect(container)).NetworkSettings.Networks[network]?.IPAddress;
    if (!ip) {
      throw new Error(`${container} has no address on ${network}`);
    }
    return ip;
  };
  const removeExtraContainers = async () => {
    const ids = (await docker(["ps", "-aq", "--filter", `label=${EXTRA_LABEL}`])).stdout.split("\n").filter(Boolean);
    if (ids.length > 0) {
      await docker(["rm", "-f", ...ids], { allowFailure: true });
    }
  };
  /** The data written before the faults, the keys answering through nginx, and a converged stack. */
  const expectNothingLost = async () => {
    expect(await readMarkers(STACK)).toEqual({ postgres: [MARKER], openWebui: [MARKER] });
    expect((await publicChecks(BASE_URL, keys)).withKey).toEqual(Object.fromEntries(Object.keys(keys).map((k) => [k, 200])));
    expect(await chatStatus()).toBe(200);
    await stack.expectNoChanges();
  };

  beforeAll(async () => {
    await removeExtraContainers();
    await removeLeftovers(STACK, { volumes: true });
    // The stand-ins as this checkout has them (Open WebUI's shared connection pool).
    await freshRegistryImages();
    await initSmallEphemeral(stack, { httpPort: HTTP_PORT, adminPort: ADMIN_PORT });
    await stack.up();
    await allHealthy(STACK);
    await writeMarkers(STACK, MARKER);
    const outputs = await stack.outputs();
    keys = virtualKeys(outputs);
    const signin = await request(`${BASE_URL}/api/v1/auths/signin`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(outputs.adminCredentials.openWebui),
    });
    expect(signin.status).toBe(200);
    token = JSON.parse(signin.body).token;
    const models = await request(`${BASE_URL}/api/models`, { headers: { Authorization: `Bearer ${token}` } });
    model = JSON.parse(models.body).data[0].id;
    expect(await chatStatus()).toBe(200);
  });

  afterAll(async () => {
    process.stdout.write(`faults: measured recovery times: ${JSON.stringify(measured)}\n`);
    await removeExtraContainers();
    await stack.destroy({ allowFailure: true });
    await removeLeftovers(STACK, { volumes: true });
    workspace.remove();
  });

  test("PostgreSQL restarted while LiteLLM serves: the same LiteLLM answers virtual keys again, nothing lost", async () => {
    const litellm = await identity("litellm");
    const postgres = n.container("postgres");
    expect(await apiStatus(keys.agents)).toBe(200);
    // A restart with a call while PostgreSQL is away, so that LiteLLM loses its connection (a bare
    // `docker restart` is over in half a second, before a call may notice).
    const started = Date.now();
    await docker(["stop", postgres]);
    const whileAway = await apiStatus(keys.agents);
    await docker(["start", postgres]);
    const backMs = Date.now() - started;
    const recoveredMs = await pollUntil(
      "a virtual key answering through nginx after PostgreSQL's restart",
      DATABASE_RECOVERY_MS,
      async () => ((await apiStatus(keys.agents)) === 200 ? Date.now() - started : undefined),
      500,
    );
    measured.postgresRestart = `stopped and started in ${backMs} ms (a call meanwhile: ${whileAway}); API answering ${recoveredMs} ms after the stop began`;
    expect(await identity("litellm")).toEqual(litellm);
    await allHealthy(STACK);
    await expectNothingLost();
  });

  test("LiteLLM replaced by pulumi up at a new address while Open WebUI is in use: the same Open WebUI chats again by itself", async () => {
    const openWebui = await identity("open-webui");
    const litellm = n.container("litellm");
    const oldId = (await inspect(litellm)).Id;
    const oldIp = await ipOn(litellm, frontend);
    expect(await chatStatus()).toBe(200);
    // Docker gives a freed address to the next container that asks: stopped, LiteLLM frees its
    // address and another container takes it, so that the replacement gets a new one, as it does
    // whenever something else on the network was (re)created in between. Open WebUI, holding the
    // old address, then reaches the wrong container until it resolves the name again.
    await docker(["stop", litellm]);
    const holder = `${n.prefix}-e2e-ip-holder`;
    await docker(["run", "-d", "--name", holder, "--label", EXTRA_LABEL, "--network", frontend, IMAGES.nginxImage, "sleep", "infinity"]);
    try {
      expect(await ipOn(holder, frontend)).toBe(oldIp);
      await stack.set("budget", "unlimited");

      const answers: { ms: number; status: number }[] = [];
      let chatting = true;
      const started = Date.now();
      const client = (async () => {
        while (chatting) {
          answers.push({ ms: Date.now() - started, status: await chatStatus() });
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
      })();
      let replacedMs = 0;
      let recoveredMs = 0;
      try {
        const { steps } = await stack.up();
        replacedMs = Date.now() - started;
        const planned = changes(steps);
        expect(planned).toContain("replace Container ai-gateway-litellm");
        expect(planned.filter((c) => c.includes("open-webui"))).toEqual([]);
        expect((await inspect(litellm)).Id).not.toBe(oldId);
        expect(await ipOn(litellm, frontend)).not.toBe(oldIp);
        recoveredMs = await pollUntil(
          "a chat through Open WebUI reaching the new LiteLLM",
          RERESOLVE_WITHIN_MS,
          async () => answers.find((a) => a.ms > replacedMs && a.status === 200)?.ms,
          500,
        );
      } finally {
        chatting = false;
        await client;
      }
      const failing = answers.filter((a) => a.status !== 200);
      measured.litellmReplaced = `up ${replacedMs} ms; chats failing from ${failing[0]?.ms ?? "-"} ms to ${failing.at(-1)?.ms ?? "-"} ms (${failing.length} of ${answers.length}); chatting again ${recoveredMs - replacedMs} ms after the up`;
      // Open WebUI answered throughout (a failed chat is its own 500, never a dead connection) ...
      expect(answers.filter((a) => a.status === 0)).toEqual([]);
      // ... and was neither restarted nor re-created to get there.
      expect(await identity("open-webui")).toEqual(openWebui);
    } finally {
      await removeExtraContainers();
    }
    await allHealthy(STACK);
    await expectNothingLost();
  });

  test("the Docker engine restarted: every container comes back by itself, healthy, with its pids limit; the config fillers stay unstarted", async () => {
    const engineBefore = engineProcess();
    const containers = (await docker(["ps", "-a", "--filter", `label=${n.label}`, "--format", "{{.Names}}"])).stdout
      .split("\n")
      .filter(Boolean);
    const state = async () =>
      Object.fromEntries(
        await Promise.all(
          containers.map(async (name) => {
            const info = await inspect(name);
            return [name, { pidsLimit: info.HostConfig.PidsLimit, status: info.State.Status }] as const;
          }),
        ),
      );
    const before = await state();
    const fillers = containers.filter((name) => name.endsWith("-config"));
    expect(fillers.length).toBeGreaterThan(0);
    for (const name of containers) {
      // A filler is created and never started; every service runs with a pids limit (ContainerPidsLimit).
      expect(before[name].status).toBe(fillers.includes(name) ? "created" : "running");
      if (!fillers.includes(name)) {
        expect(before[name].pidsLimit).toBeGreaterThan(0);
      }
    }

    const started = Date.now();
    try {
      await execFileAsync(path.join(ROOT, "scripts", "start-dockerd.sh"), ["--restart"], { cwd: ROOT, timeout: 5 * 60_000 });
    } finally {
      // Whatever happened, the engine the other tests share is left running.
      await execFileAsync(path.join(ROOT, "scripts", "start-dockerd.sh"), [], { cwd: ROOT, timeout: 5 * 60_000 });
    }
    const engineBackMs = Date.now() - started;
    const engineAfter = engineProcess();
    // A new engine process, started exactly as before (arguments and environment).
    expect(engineAfter.pid).not.toBe(engineBefore.pid);
    expect({ args: engineAfter.args, env: engineAfter.env }).toEqual({ args: engineBefore.args, env: engineBefore.env });

    await pollUntil("every container of the stack running again", ENGINE_RECOVERY_MS, async () => {
      const now = await state();
      return containers.every((name) => fillers.includes(name) || now[name].status === "running") ? true : undefined;
    });
    await allHealthy(STACK);
    const recoveredMs = await pollUntil(
      "the API through nginx after the engine restart",
      ENGINE_RECOVERY_MS,
      async () => ((await apiStatus(keys.agents)) === 200 && (await chatStatus()) === 200 ? Date.now() - started : undefined),
      500,
    );
    measured.engineRestart = `engine stopped and started ${engineBackMs} ms; every container healthy and the API and chats answering ${recoveredMs} ms after the restart began`;
    expect(await state()).toEqual(before);
    // The registry the stack pulls from is a host process, not a container of this engine: still there.
    expect((await request("http://127.0.0.1:5000/v2/")).status).toBe(200);
    await expectNothingLost();
  });
});

/** The engine scripts/start-dockerd.sh started: its pid, arguments and the environment it was started with. */
function engineProcess(): { pid: number; args: string[]; env: string[] } {
  if (!fs.existsSync(ENGINE_PID_FILE)) {
    throw new Error(
      `${ENGINE_PID_FILE} is missing: the engine was not started by scripts/start-dockerd.sh, so this test cannot restart it`,
    );
  }
  const pid = Number(fs.readFileSync(ENGINE_PID_FILE, "utf8").trim());
  const read = (file: string) => fs.readFileSync(`/proc/${pid}/${file}`, "utf8").split("\0").filter(Boolean);
  return {
    pid,
    args: read("cmdline"),
    env: read("environ")
      .filter((v) => v.startsWith("DOCKER_"))
      .sort(),
  };
}
