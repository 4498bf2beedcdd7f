/**
 * The large stack, deployed for real, and what happens inside its containers at run time, where the
 * other end-to-end files only look from the outside: PostgreSQL's first boot (the image's
 * socket-only temporary server) and its start script on a kept volume, what the provider uploaded,
 * the limits and privileges the kernel enforces, probes that must fail when their service is down,
 * and nginx finding its upstreams wherever and whenever they (re)appear.
 *
 * The stack publishes its public listener on the host's address on Docker's default bridge (not
 * loopback) to show the port follows `bindAddress`. The tests run in order against one deployment,
 * which the last test destroys (keeping the volumes) and brings up again.
 */
import {
  HOSTNAMES,
  LITELLM_CONFIG_PATH,
  NGINX_ADMIN_PORT,
  NGINX_CONFIG_DIR,
  NGINX_CONFIG_FILE,
  NGINX_HEALTH_PORT,
  NGINX_PUBLIC_PORT,
  POSTGRES_DATA_DIR,
} from "../../lib/constants";
import { PROFILES } from "../../profiles";
import { scramSha256Verifier } from "../../lib/scram";
import { pollUntil, probeCommand, tcpConnect } from "../helpers/dockerEngine";
import { PROJECT, stackConfig } from "../helpers/program";
import { registryImages } from "../helpers/registryImages";
import { Answer, changes, docker, inspect, request, Stack, volumeExists, Workspace } from "./harness";
import { allHealthy, IMAGES, names, publicChecks, removeLeftovers, useLocalImages, virtualKeys, withPidsLimits } from "./gateway";
import { describeE2E } from "./requirements";

const STACK = "large";
const profile = PROFILES.large;
const PUBLIC_PORT = Number(stackConfig(STACK)[`${PROJECT}:httpPort`]);
const ADMIN_PORT = Number(stackConfig(STACK)[`${PROJECT}:adminPort`]);
const MB = 1024 * 1024;

/** The postgres image with its (simulated) init scripts taking this long, so the first boot's temporary server can be watched. */
const INIT_SECONDS = 12;
const SLOW_INIT_POSTGRES = IMAGES.postgresImage.replace(/:[^:/]+$/, ":16.15-trixie-e2e-slow-init");
/** The image's entrypoint holds this file while its temporary server runs (tests/fixtures/docker/postgres-entrypoint.sh). */
const TEMPORARY_SERVER_MARKER = "/tmp/postgres-temporary-server";
/** The stand-ins' knobs (tests/fixtures/docker/standin.py). */
const HEALTH_STATUS_FILE = "/tmp/standin-health-status";
const SERVER_PID_FILE = "/tmp/standin-server.pid";
/** nginx re-resolves upstream names every 10 s (`resolver ... valid=10s`); allow for that twice, plus slack. */
const RERESOLVE_WITHIN_MS = 30_000;
/** Label of the containers this file adds to the stack's network (clients, an address holder). */
const EXTRA_LABEL = "ai-gateway.e2e=runtime";

interface ExecAnswer {
  readonly code: number;
  readonly stdout: string;
  readonly output: string;
}

/** `docker exec` as the container's user; a failing command is an answer, not an error. */
async function execIn(container: string, cmd: readonly string[]): Promise<ExecAnswer> {
  const result = await docker(["exec", container, ...cmd], { allowFailure: true });
  return { code: result.code, stdout: result.stdout, output: result.stdout + result.stderr };
}

/** The container's healthcheck, as Docker has it, run once the way Docker runs it. */
async function probe(container: string): Promise<ExecAnswer> {
  return execIn(container, probeCommand((await inspect(container)).Config.Healthcheck.Test));
}

function envOf(info: any, key: string): string {
  const entry = (info.Config.Env as string[]).find((e) => e.startsWith(`${key}=`));
  if (entry === undefined) {
    throw new Error(`${info.Name} has no ${key} in its environment`);
  }
  return entry.slice(key.length + 1);
}

/** The container's published ports (`docker inspect` also lists the image's exposed ones, unbound, as null). */
function published(info: any): Record<string, { HostIp: string; HostPort: string }[]> {
  return Object.fromEntries(Object.entries(info.NetworkSettings.Ports ?? {}).filter(([, bindings]) => bindings !== null)) as Record<
    string,
    { HostIp: string; HostPort: string }[]
  >;
}

function json(answer: Answer): Record<string, unknown> {
  try {
    return JSON.parse(answer.body);
  } catch {
    return {};
  }
}

/** A GET that never throws: a connection error is status 0 with the error as the body. */
async function get(url: string, headers: Record<string, string> = {}): Promise<Answer> {
  try {
    return await request(url, { headers });
  } catch (e) {
    return { status: 0, body: (e as Error).message, headers: {} };
  }
}

/** The password in a postgresql:// URL. */
function passwordIn(databaseUrl: string): string {
  return decodeURIComponent(new URL(databaseUrl).password);
}

describeE2E("large stack: inside the containers a real pulumi up created", () => {
  const workspace = new Workspace("runtime");
  const stack: Stack = workspace.stack(STACK);
  const n = names(STACK);
  let outputs: Record<string, any>;
  /** The host's address on Docker's default bridge: not loopback, and on every engine. */
  let hostAddress: string;
  let publicUrl: string;
  const masterKey = () => ({ Authorization: `Bearer ${outputs.litellmMasterKey}` });
  const getModels = () => get(`${publicUrl}/api/litellm/v1/models`, masterKey());

  /** A container of this file's on the stack's network (the image's entrypoint runs `cmd`). */
  async function extraContainer(base: string, image: string, cmd: readonly string[]): Promise<string> {
    const name = `${n.prefix}-e2e-${base}`;
    await docker(["rm", "-f", name], { allowFailure: true });
    await docker(["run", "-d", "--name", name, "--label", EXTRA_LABEL, "--network", n.network, image, ...cmd]);
    return name;
  }

  /** Removes them: the stack's network cannot be deleted while they are on it. */
  async function removeExtraContainers(): Promise<void> {
    const ids = (await docker(["ps", "-aq", "--filter", `label=${EXTRA_LABEL}`])).stdout.split("\n").filter(Boolean);
    if (ids.length > 0) {
      await docker(["rm", "-f", ...ids], { allowFailure: true });
    }
  }

  /** The LiteLLM stand-in's test controls (tests/fixtures/docker/litellm_standin.py), asked inside its container with its master key. */
  async function standin(pathAndQuery: string, body?: unknown): Promise<any> {
    const script = `import json, os, sys, urllib.error, urllib.request
req = urllib.request.Request("http://127.0.0.1:4000${pathAndQuery}", data=sys.stdin.read().encode() or None, method=${body === undefined ? '"GET"' : '"POST"'})
req.add_header("Authorization", "Bearer " + os.environ["LITELLM_MASTER_KEY"])
try:
    print(urllib.request.urlopen(req, timeout=10).read().decode())
except urllib.error.HTTPError as e:
    print(json.dumps({"status": e.code}))`;
    const result = await docker(["exec", "-i", n.container("litellm"), "python3", "-c", script], {
      input: body === undefined ? "" : JSON.stringify(body),
    });
    return JSON.parse(result.stdout);
  }

  /** psql from a client container on the stack's network, connecting with `url` as LiteLLM does. */
  async function psqlAs(client: string, url: string, sql: string): Promise<ExecAnswer> {
    return execIn(client, ["env", "PGCONNECT_TIMEOUT=5", "psql", url, "--no-psqlrc", "-v", "ON_ERROR_STOP=1", "-tA", "-c", sql]);
  }

  async function ipOn(container: string): Promise<string> {
    const ip = (await inspect(container)).NetworkSettings.Networks[n.network]?.IPAddress;
    if (!ip) {
      throw new Error(`${container} has no address on ${n.network}`);
    }
    return ip;
  }

  beforeAll(async () => {
    await removeExtraContainers();
    await removeLeftovers(STACK, { volumes: true });
    await registryImages();
    // The same image, with the entrypoint's init scripts taking INIT_SECONDS: a pin of its own.
    await docker(["pull", "-q", IMAGES.postgresImage]);
    const base = (await docker(["create", IMAGES.postgresImage])).stdout.trim();
    await docker(["commit", "--change", `ENV AI_GATEWAY_TEST_INIT_SECONDS=${INIT_SECONDS}`, base, SLOW_INIT_POSTGRES]);
    await docker(["rm", base]);
    await docker(["push", "-q", SLOW_INIT_POSTGRES]);
    await docker(["image", "rm", SLOW_INIT_POSTGRES]);

    hostAddress = (await docker(["network", "inspect", "bridge", "--format", "{{(index .IPAM.Config 0).Gateway}}"])).stdout.trim();
    expect(hostAddress).toMatch(/^[0-9.]+$/);
    publicUrl = `http://${hostAddress}:${PUBLIC_PORT}`;
    await stack.init();
    await useLocalImages(stack);
    await stack.set("postgresImage", SLOW_INIT_POSTGRES);
    await stack.set("bindAddress", hostAddress);
  });

  afterAll(async () => {
    await removeExtraContainers();
    await stack.destroy({ allowFailure: true });
    await removeLeftovers(STACK, { volumes: true });
    await docker(["image", "rm", SLOW_INIT_POSTGRES], { allowFailure: true });
    workspace.remove();
  });

  test("pulumi up waits out PostgreSQL's first-boot temporary server: Docker's probes fail while it runs, and LiteLLM is created after", async () => {
    const postgres = n.container("postgres");
    const up = stack.up().then(
      (done) => done,
      (e: Error) => e,
    );
    const seen = new Map<string, number>();
    let probesInWindow: { socket: ExecAnswer; program: ExecAnswer } | undefined;
    let litellmDuringWindow: string[] = [];
    let upResult: Awaited<typeof up> | undefined;
    try {
      const inWindow = async () => (await execIn(postgres, ["test", "-e", TEMPORARY_SERVER_MARKER])).code === 0;
      await pollUntil("PostgreSQL's temporary server", 240_000, async () => ((await inWindow()) ? true : undefined));
      // The readiness check a socket probe would make, and the program's probe, inside the window.
      const socket = await execIn(postgres, ["/bin/sh", "-c", 'pg_isready -U "$POSTGRES_USER" -d "$POSTGRES_DB"']);
      const program = await probe(postgres);
      if (await inWindow()) {
        probesInWindow = { socket, program };
      }
      // Docker's own probes while it lasts, and whether LiteLLM exists yet.
      for (;;) {
        const info = await inspect(postgres);
        const litellm = await docker(["ps", "-aq", "--filter", `name=^${n.container("litellm")}$`]);
        if (!(await inWindow())) {
          break;
        }
        expect(info.State.Health?.Status).not.toBe("healthy");
        for (const entry of info.State.Health?.Log ?? []) {
          seen.set(entry.Start, entry.ExitCode);
        }
        litellmDuringWindow = [...litellmDuringWindow, ...litellm.stdout.split("\n").filter(Boolean)];
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    } finally {
      // The up runs to its end either way (afterAll's destroy must not overlap it).
      upResult = await up;
    }
    if (upResult instanceof Error) {
      throw upResult;
    }
    // A socket probe would have called that server ready; the program's TCP probe did not.
    expect(probesInWindow).toBeDefined();
    expect({ exit: probesInWindow!.socket.code, out: probesInWindow!.socket.output }).toEqual({
      exit: 0,
      out: expect.stringContaining("accepting connections"),
    });
    expect(probesInWindow!.program.code).not.toBe(0);
    expect(probesInWindow!.program.output).toContain("no response");
    expect(seen.size).toBeGreaterThan(0);
    expect([...seen.values()].every((code) => code !== 0)).toBe(true);
    expect(litellmDuringWindow).toEqual([]);

    expect(await allHealthy(STACK)).toEqual({
      postgres: "healthy",
      litellm: "healthy",
      "open-webui": "healthy",
      nginx: "healthy",
      redis: "healthy",
    });
    const logs = await docker(["logs", postgres]);
    expect(logs.stdout + logs.stderr).toContain("PostgreSQL init process complete; ready for start up.");
    expect(logs.stdout + logs.stderr).toContain("ai-gateway: role litellm has the stack's password");
    outputs = await stack.outputs();
    const checks = await publicChecks(publicUrl, virtualKeys(outputs));
    expect(checks.withKey).toEqual({ agents: 200, "open-webui": 200 });
  });

  test("the provider's uploads land verbatim: nginx.conf and LiteLLM's config.yaml, single root-owned 0644 files the image's user reads", async () => {
    const state = await stack.exportState();
    const uploadsOf = (container: string): { file: string; content: string }[] =>
      state.deployment.resources.find((r: any) => r.type === "docker:index/container:Container" && r.inputs?.name === container).inputs
        .uploads;

    const nginx = n.container("nginx");
    // nginx's root is read-only: its files were uploaded into its config volume through the
    // container that fills it (never started), and nginx mounts that volume read-only.
    const conf = uploadsOf(`${nginx}-config`).find((u) => u.file === NGINX_CONFIG_FILE)!;
    expect((await inspect(nginx)).Mounts).toEqual([
      expect.objectContaining({
        Type: "volume",
        Name: expect.stringMatching(/-nginx-config-[0-9a-f]{12}$/),
        Destination: NGINX_CONFIG_DIR,
        RW: false,
      }),
    ]);
    expect((await inspect(`${nginx}-config`)).State).toEqual(
      expect.objectContaining({ Status: "created", StartedAt: "0001-01-01T00:00:00Z" }),
    );
    expect(typeof conf.content).toBe("string");
    expect((await execIn(nginx, ["cat", conf.file])).stdout).toBe(conf.content);
    expect((await execIn(nginx, ["stat", "-c", "%F %a %u:%g", conf.file])).stdout.trim()).toBe("regular file 644 0:0");

    const litellm = n.container("litellm");
    const config = uploadsOf(litellm).find((u) => u.file === LITELLM_CONFIG_PATH)!;
    expect(typeof config.content).toBe("string");
    expect((await execIn(litellm, ["stat", "-c", "%F %a %u:%g", LITELLM_CONFIG_PATH])).stdout.trim()).toBe("regular file 644 0:0");
    // Read as the container's user: the image's non-root user, which is not the file's owner.
    expect((await execIn(litellm, ["id", "-u"])).stdout.trim()).toBe("65532");
    const asImageUser = await execIn(litellm, ["cat", LITELLM_CONFIG_PATH]);
    expect(asImageUser).toMatchObject({ code: 0, stdout: config.content });
    // Not a mount: nothing hides the image's /app (runtime-facts.md A1).
    const info = await inspect(litellm);
    expect(info.Mounts.filter((m: { Destination: string }) => m.Destination.startsWith("/app"))).toEqual([]);
    // The stand-in read it at start as that user (it exits when it cannot).
    const logs = await docker(["logs", litellm]);
    expect(logs.stdout + logs.stderr).toMatch(/litellm listening on 0\.0\.0\.0:4000 as uid 65532/);
  });

  test("the key registration's diff only reads: a preview of the converged stack asks LiteLLM and writes nothing", async () => {
    await standin("/__standin/state", { clearCalls: true });
    await stack.expectNoChanges();
    const { calls, targets }: { calls: { method: string; path: string }[]; targets: string[] } = await standin("/__standin/calls");
    // Keys are looked up in a POST body (/v2/key/info), never in a URL (review F16); nothing else is posted.
    expect(calls.filter((c) => c.path === "/v2/key/info").length).toBeGreaterThan(0);
    expect(calls.filter((c) => c.method !== "GET" && c.path !== "/v2/key/info")).toEqual([]);
    expect(targets.filter((t) => t.includes("?") || t.includes("sk-"))).toEqual([]);
  });

  test("LiteLLM failing: pulumi up fails with LiteLLM's own text and no secret in its output; once LiteLLM answers, nothing is left to do", async () => {
    const secrets = [
      outputs.litellmMasterKey,
      ...Object.values(virtualKeys(outputs)),
      passwordIn(envOf(await inspect(n.container("litellm")), "DATABASE_URL")),
    ];
    expect(secrets.every((s) => typeof s === "string" && s.length >= 16)).toBe(true);
    await standin("/__standin/state", { fail: 500 });
    try {
      // No config change: the diff cannot ask LiteLLM, so it plans an update, which says why it fails.
      // The CLI's own display, as a user sees it (`--json` also streams the SDK's debug messages).
      const result = await workspace.pulumi(["--stack", STACK, "up", "--yes", "--skip-preview"], { allowFailure: true });
      expect(result.code).not.toBe(0);
      const output = result.stdout + result.stderr;
      expect(output).toContain(
        "LiteLLM key registration failed (LiteLLM refused a call): LiteLLM answered 500 to POST /v2/key/info: Internal Server Error: stand-in told to fail",
      );
      for (const secret of secrets) {
        expect(output).not.toContain(secret);
      }
    } finally {
      await standin("/__standin/state", { fail: 0 });
    }
    await stack.expectNoChanges();
  });

  test("PostgreSQL: LiteLLM's DATABASE_URL reaches it over TCP under its alias, with the profile's tuning, and only with the password (SCRAM)", async () => {
    const databaseUrl = envOf(await inspect(n.container("litellm")), "DATABASE_URL");
    expect(databaseUrl).toMatch(new RegExp(`^postgresql://litellm:[^@]+@${HOSTNAMES.postgres}:5432/litellm$`));
    // PostgreSQL's container holds the password's SCRAM verifier only (lib/scram.ts).
    const postgresInfo = await inspect(n.container("postgres"));
    expect(envOf(postgresInfo, "POSTGRES_PASSWORD")).toBe(scramSha256Verifier(passwordIn(databaseUrl)));
    expect(postgresInfo.Config.Env.join("\n")).not.toContain(passwordIn(databaseUrl));
    const client = await extraContainer("pg-client", IMAGES.postgresImage, ["sleep", "infinity"]);
    try {
      const tuning = profile.postgres.tuning;
      const settings = await psqlAs(
        client,
        databaseUrl,
        "SELECT current_setting('max_connections') || ' ' || current_setting('shared_buffers') || ' ' || current_setting('work_mem') || ' ' || host(inet_server_addr())",
      );
      expect(settings).toMatchObject({ code: 0 });
      // The alias led to the stack's PostgreSQL, over TCP (a socket connection has no server address).
      expect(settings.stdout.trim()).toBe(
        `${tuning.maxConnections} ${tuning.sharedBuffersMb}MB ${tuning.workMemMb}MB ${await ipOn(n.container("postgres"))}`,
      );
      const wrong = await psqlAs(client, databaseUrl.replace(/:[^:@]+@/, ":not-the-password@"), "SELECT 1");
      expect(wrong.code).not.toBe(0);
      expect(wrong.output).toContain("password authentication failed");
      const scram = await psqlAs(
        client,
        databaseUrl,
        "SELECT rolpassword LIKE 'SCRAM-SHA-256$%' FROM pg_authid WHERE rolname = current_user",
      );
      expect(scram.stdout.trim()).toBe("t");
    } finally {
      await removeExtraContainers();
    }
  });

  test("PostgreSQL: the profile's memory limit without swap, enforced by the kernel; shm size, stop timeout, its volume, no published port, its alias", async () => {
    const postgres = n.container("postgres");
    const info = await inspect(postgres);
    expect(info.HostConfig.Memory).toBe(profile.postgres.memoryMb * MB);
    expect(info.HostConfig.MemorySwap).toBe(info.HostConfig.Memory);
    expect(info.HostConfig.ShmSize).toBe(profile.postgres.shmSizeMb * MB);
    expect(info.Config.StopTimeout).toBe(60);
    expect(info.Mounts).toEqual([
      expect.objectContaining({ Type: "volume", Name: `${n.prefix}-postgres-data`, Destination: POSTGRES_DATA_DIR }),
    ]);
    expect(published(info)).toEqual({}); // the image's EXPOSE 5432 stays unpublished
    expect(Object.keys(info.NetworkSettings.Networks)).toEqual([n.network]);
    expect(info.NetworkSettings.Networks[n.network].Aliases).toContain(HOSTNAMES.postgres);
    // The cgroup limit, and memory+swap equal to memory (cgroup v1 or v2).
    const limits = await execIn(postgres, [
      "/bin/sh",
      "-c",
      "if [ -e /sys/fs/cgroup/memory.max ]; then echo $(cat /sys/fs/cgroup/memory.max) $(( $(cat /sys/fs/cgroup/memory.swap.max 2>/dev/null || echo 0) + $(cat /sys/fs/cgroup/memory.max) )); " +
        "else echo $(cat /sys/fs/cgroup/memory/memory.limit_in_bytes) $(cat /sys/fs/cgroup/memory/memory.memsw.limit_in_bytes); fi",
    ]);
    expect(limits.stdout.trim()).toBe(`${profile.postgres.memoryMb * MB} ${profile.postgres.memoryMb * MB}`);
  });

  test("PostgreSQL: the server and its start script run as the postgres user, with no capability and no-new-privileges", async () => {
    const postgres = n.container("postgres");
    const uid = (await execIn(postgres, ["id", "-u", "postgres"])).stdout.trim();
    // PID 1 is runtime/postgres-start.sh, run by `sh -c` under its own name (it forwards the stop
    // signal); the postmaster is its child.
    const pid1 = (await execIn(postgres, ["cat", "/proc/1/cmdline"])).stdout.split("\0");
    expect([pid1[0], pid1[1], pid1[3]]).toEqual(["sh", "-c", "ai-gateway-postgres-start"]);
    const status = (
      await execIn(postgres, [
        "/bin/sh",
        "-c",
        'for p in /proc/[0-9]*; do if [ "$(cat $p/comm)" = postgres ] && grep -q "^PPid:[[:space:]]*1$" $p/status; then cat $p/status; fi; done',
      ])
    ).stdout;
    expect(status).toMatch(/^Name:\s+postgres$/m);
    expect(status).toMatch(new RegExp(`^Uid:\\s+${uid}\\s+${uid}\\s+${uid}\\s+${uid}$`, "m"));
    expect(status).toMatch(/^NoNewPrivs:\s+1$/m);
    expect(status).toMatch(/^CapEff:\s+0{16}$/m);
    expect(status).toMatch(/^CapBnd:\s+0{16}$/m);
    const startScript = (await execIn(postgres, ["cat", "/proc/1/status"])).stdout;
    expect(startScript).toMatch(new RegExp(`^Uid:\\s+${uid}\\s+${uid}\\s+${uid}\\s+${uid}$`, "m"));
  });

  test("nginx publishes the public listener on bindAddress (not loopback) and the admin one on 127.0.0.1 only, the health port not at all", async () => {
    const info = await inspect(n.container("nginx"));
    // Exactly these two (the image's EXPOSE 80 and the health listener on 8079 stay unpublished).
    expect(published(info)).toEqual({
      [`${NGINX_PUBLIC_PORT}/tcp`]: [{ HostIp: hostAddress, HostPort: String(PUBLIC_PORT) }],
      [`${NGINX_ADMIN_PORT}/tcp`]: [{ HostIp: "127.0.0.1", HostPort: String(ADMIN_PORT) }],
    });
    expect(
      await execIn(n.container("nginx"), ["wget", "-q", "-O", "/dev/null", `http://127.0.0.1:${NGINX_HEALTH_PORT}/healthz`]),
    ).toMatchObject({
      code: 0,
    });
    expect(await tcpConnect(hostAddress, PUBLIC_PORT)).toBe("connected");
    expect(await tcpConnect("127.0.0.1", PUBLIC_PORT)).toBe("ECONNREFUSED");
    expect(await tcpConnect("127.0.0.1", ADMIN_PORT)).toBe("connected");
    expect(await tcpConnect(hostAddress, ADMIN_PORT)).toBe("ECONNREFUSED");
    expect(outputs.openWebuiUrl).toBe(`${publicUrl}/`);
  });

  describe("probes fail when their service is down", () => {
    /** The probe fails while the health endpoint answers 500, passes again after, and fails once the server is down. */
    async function expectProbeFailsWithService(container: string): Promise<void> {
      expect(await execIn(container, ["/bin/sh", "-c", `echo 500 > ${HEALTH_STATUS_FILE}`])).toMatchObject({ code: 0 });
      const failing = await probe(container);
      expect(failing.code).not.toBe(0);
      expect(failing.output).toContain("HTTP Error 500");
      expect(await execIn(container, ["rm", "-f", HEALTH_STATUS_FILE])).toMatchObject({ code: 0 });
      expect(await probe(container)).toMatchObject({ code: 0 });

      // The server process stops; PID 1 (the stand-in's supervisor) stays, so docker exec still works.
      const pid = (await execIn(container, ["cat", SERVER_PID_FILE])).stdout.trim();
      expect(pid).toMatch(/^[0-9]+$/);
      expect(await execIn(container, ["kill", pid])).toMatchObject({ code: 0 });
      await pollUntil(`${container}'s server process to exit`, 10_000, async () =>
        (await execIn(container, ["test", "-e", `/proc/${pid}`])).code !== 0 ? true : undefined,
      );
      const down = await probe(container);
      expect(down.code).not.toBe(0);
      expect(down.output).toContain("Connection refused");
    }

    test("LiteLLM's liveliness endpoint answers GET (200 \"I'm alive!\") and refuses HEAD (405), so the probe must GET", async () => {
      const requestIn = (method: string) =>
        execIn(n.container("litellm"), [
          "python3",
          "-c",
          "import sys, urllib.request as u, urllib.error as e\n" +
            "try:\n  r = u.urlopen(u.Request('http://127.0.0.1:4000/health/liveliness', method=sys.argv[1]), timeout=5); print(r.status, r.read().decode())\n" +
            "except e.HTTPError as x:\n  print(x.code)",
          method,
        ]);
      expect((await requestIn("GET")).stdout.trim()).toBe(`200 "I'm alive!"`);
      expect((await requestIn("HEAD")).stdout.trim()).toBe("405");
    });

    test("LiteLLM: the probe fails when the endpoint answers 500, and when the server is down", async () => {
      await expectProbeFailsWithService(n.container("litellm"));
    });

    test("Open WebUI: the probe fails when /health answers 500, and when the server is down", async () => {
      await expectProbeFailsWithService(n.container("open-webui"));
    });
  });

  test("nginx (re)started while its upstreams are stopped turns healthy, answers 502, and reaches them once they are back, without a restart", async () => {
    const nginx = n.container("nginx");
    await docker(["stop", n.container("litellm"), n.container("open-webui")]);
    await docker(["restart", nginx]);
    const startedAt = (await inspect(nginx)).State.StartedAt;
    await pollUntil("nginx healthy after its restart", 60_000, async () =>
      (await inspect(nginx)).State.Health?.Status === "healthy" ? true : undefined,
    );
    const logs = await docker(["logs", "--since", startedAt, nginx]);
    expect(logs.stdout + logs.stderr).not.toMatch(/host not found in upstream|\[emerg\]/);
    expect((await get(`${publicUrl}/`)).status).toBe(502);
    expect((await getModels()).status).toBe(502);
    const nginxPid = (await inspect(nginx)).State.Pid;

    const upstreamsStarted = Date.now();
    await docker(["start", n.container("litellm"), n.container("open-webui")]);
    const litellmHost = (await inspect(n.container("litellm"))).Config.Hostname;
    const openWebuiHost = (await inspect(n.container("open-webui"))).Config.Hostname;
    const models = await pollUntil(
      "LiteLLM through nginx",
      RERESOLVE_WITHIN_MS + 30_000,
      async () => {
        const answer = await getModels();
        return answer.status === 200 ? answer : undefined;
      },
      500,
    );
    expect(json(models)).toMatchObject({ service: "litellm", hostname: litellmHost, path: "/v1/models" });
    const page = await pollUntil("Open WebUI through nginx", RERESOLVE_WITHIN_MS, async () => {
      const answer = await get(`${publicUrl}/`);
      return answer.status === 200 ? answer : undefined;
    });
    expect(page.body).toContain(`<b id=hostname>${openWebuiHost}</b>`);
    // Within nginx's re-resolution after LiteLLM listened (its start takes a few seconds of that).
    expect(Date.now() - upstreamsStarted).toBeLessThan(RERESOLVE_WITHIN_MS + 30_000);
    expect((await inspect(nginx)).State.Pid).toBe(nginxPid);
    await allHealthy(STACK);
    await stack.expectNoChanges();
  });

  test("nginx follows LiteLLM replaced by pulumi up to a new address, answering HTTP throughout, without a restart", async () => {
    const litellm = n.container("litellm");
    const nginx = n.container("nginx");
    const before = await inspect(nginx);
    const oldIp = await ipOn(litellm);
    const oldId = (await inspect(litellm)).Id;
    // Docker hands a freed address to the next container: stopped, LiteLLM frees its address and
    // something else takes it, so the replacement cannot get it back.
    await docker(["stop", litellm]);
    const holder = await extraContainer("ip-holder", IMAGES.nginxImage, ["sleep", "infinity"]);
    try {
      expect(await ipOn(holder)).toBe(oldIp);
      await stack.set("budget", "unlimited");

      const answers: { ms: number; status: number; hostname: unknown }[] = [];
      let polling = true;
      const startedAt = Date.now();
      const poller = (async () => {
        while (polling) {
          const answer = await getModels();
          answers.push({ ms: Date.now() - startedAt, status: answer.status, hostname: json(answer).hostname });
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
      })();
      let replacedAt = 0;
      try {
        const { steps } = await stack.up();
        replacedAt = Date.now() - startedAt;
        expect(changes(steps)).toEqual(
          withPidsLimits(["replace Container ai-gateway-litellm", "update LitellmKeyRegistration ai-gateway-keys-registration"]),
        );
        const after = await inspect(litellm);
        expect(after.Id).not.toBe(oldId);
        expect(await ipOn(litellm)).not.toBe(oldIp);
        await pollUntil(
          "nginx to reach the new LiteLLM",
          RERESOLVE_WITHIN_MS,
          async () =>
            answers.some((a) => a.ms > replacedAt && a.status === 200 && a.hostname === after.Config.Hostname) ? true : undefined,
          500,
        );
      } finally {
        polling = false;
        await poller;
      }
      // nginx kept answering HTTP the whole time (at worst 502 while the name pointed nowhere) ...
      expect(answers.filter((a) => a.status === 0)).toEqual([]);
      expect(answers.every((a) => a.status === 200 || a.status === 502 || a.status === 504)).toBe(true);
      // ... and was not restarted or replaced to get there.
      const info = await inspect(nginx);
      expect({ id: info.Id, pid: info.State.Pid, restarts: info.RestartCount, health: info.State.Health?.Status }).toEqual({
        id: before.Id,
        pid: before.State.Pid,
        restarts: 0,
        health: "healthy",
      });
    } finally {
      await removeExtraContainers();
    }
    outputs = await stack.outputs();
    expect((await publicChecks(publicUrl, virtualKeys(outputs))).withKey).toEqual({ agents: 200, "open-webui": 200 });
  });

  test("destroy keeps the volume; the next up's PostgreSQL skips initialisation, gives the role the new password, and keeps the data", async () => {
    const oldUrl = envOf(await inspect(n.container("litellm")), "DATABASE_URL");
    let client = await extraContainer("pg-client", IMAGES.postgresImage, ["sleep", "infinity"]);
    expect(await psqlAs(client, oldUrl, "CREATE TABLE survives (v text); INSERT INTO survives VALUES ('kept')")).toMatchObject({ code: 0 });
    await removeExtraContainers();

    await stack.destroy();
    expect(await volumeExists(`${n.prefix}-postgres-data`)).toBe(true);
    await stack.up();
    await allHealthy(STACK);

    const newUrl = envOf(await inspect(n.container("litellm")), "DATABASE_URL");
    const newPassword = passwordIn(newUrl);
    expect(newUrl).not.toBe(oldUrl);
    expect(envOf(await inspect(n.container("postgres")), "POSTGRES_PASSWORD")).toBe(scramSha256Verifier(newPassword));
    const logs = await docker(["logs", n.container("postgres")]);
    const output = logs.stdout + logs.stderr;
    expect(output).toContain("Skipping initialization");
    expect(output).not.toContain("temporary server");
    expect(output).toContain("ai-gateway: role litellm has the stack's password");
    expect(output).not.toContain(newPassword);

    client = await extraContainer("pg-client", IMAGES.postgresImage, ["sleep", "infinity"]);
    try {
      const kept = await psqlAs(client, newUrl, "SELECT v FROM survives");
      expect(kept).toMatchObject({ code: 0 });
      expect(kept.stdout.trim()).toBe("kept");
      const old = await psqlAs(client, oldUrl, "SELECT 1");
      expect(old.code).not.toBe(0);
      expect(old.output).toContain("password authentication failed");
    } finally {
      await removeExtraContainers();
    }
    await stack.expectNoChanges();
  });
});
