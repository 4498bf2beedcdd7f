/**
 * The program's PostgreSQL container (medium profile) on a real Docker engine: the test image plus
 * the docker-entrypoint.sh stand-in (tests/fixtures/docker/postgres-entrypoint.sh) in place of
 * postgres:16, with a fresh named volume. Everything else is the program's spec, verbatim.
 *
 * The tests run in order against one container (and then its replacement on the same volume).
 */
import { DockerSandbox, TestContainer, pollUntil, probeCommand, stopContainer } from "../helpers/dockerEngine";
import { describeWith, requirements } from "../helpers/requirements";
import { LOG_OPTIONS, POSTGRES_DATA_DIR } from "../../lib/constants";
import { PROFILES } from "../../profiles";
import { envValue, HEALTHY_WITHIN_MS, prepareStack, runPostgres, StackSpecs, StackTarget, stackSpecs, testNetwork } from "./gateway";

const MB = 1024 * 1024;
/** How long the simulated init scripts keep the temporary server up: two or more probe intervals. */
const INIT_SECONDS = 12;
const MARKER = "/tmp/postgres-temporary-server";

describeWith("PostgreSQL container from the program's spec", [requirements.docker(), requirements.rootfs()], () => {
  const sandbox = new DockerSandbox("postgres");
  const profile = PROFILES.medium;
  let specs: StackSpecs;
  let target: StackTarget;
  let postgres: TestContainer;
  let client: TestContainer;

  beforeAll(async () => {
    specs = await stackSpecs("medium");
    target = await prepareStack(sandbox, specs);
    postgres = await runPostgres(target, { env: [`AI_GATEWAY_TEST_INIT_SECONDS=${INIT_SECONDS}`] });
    client = await sandbox.helper("pg-client", { image: target.image, network: testNetwork(target) });
  }, 300_000);

  afterAll(async () => {
    await sandbox.cleanup();
  }, 120_000);

  /** psql from the client container, connecting the way LiteLLM does: with its DATABASE_URL. */
  const psql = (url: string, sql: string) =>
    client.exec(["env", "PGCONNECT_TIMEOUT=5", "psql", url, "--no-psqlrc", "-v", "ON_ERROR_STOP=1", "-tA", "-c", sql]);

  test("is not healthy while the temporary socket-only server runs: only the TCP probe tells the two apart", async () => {
    const hc = specs.postgres.healthcheck!;
    expect(hc.tests[0]).toBe("CMD-SHELL");
    // The same pg_isready without `-h 127.0.0.1`: what a socket probe would see.
    const readiness = hc.tests[1].split(" && ")[0];
    const socketCheck = readiness.replace(/\s+-h\s+127\.0\.0\.1/, "");
    expect(socketCheck).not.toBe(readiness);

    const markerPresent = async () => (await postgres.exec(["test", "-e", MARKER])).exitCode === 0;
    await pollUntil("the temporary server", 60_000, async () => ((await markerPresent()) ? true : undefined));

    const socketProbe = await postgres.exec(["/bin/sh", "-c", socketCheck]);
    const realProbe = await postgres.probe();
    const state = await postgres.inspect();
    expect(await markerPresent()).toBe(true); // both probes ran inside the window

    expect({ exit: socketProbe.exitCode, out: socketProbe.output }).toEqual({
      exit: 0,
      out: expect.stringContaining("accepting connections"),
    });
    expect(realProbe.exitCode).not.toBe(0);
    expect(realProbe.output).toContain("no response");
    expect(state.State.Health?.Status).toBe("starting");

    // Docker's own probes during the window: every one failed, and the status never became healthy.
    const seen = new Map<string, number>();
    for (;;) {
      const info = await postgres.inspect();
      const inWindow = await markerPresent();
      if (!inWindow) {
        break;
      }
      expect(info.State.Health?.Status).not.toBe("healthy");
      for (const entry of info.State.Health?.Log ?? []) {
        seen.set(entry.Start, entry.ExitCode);
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(seen.size).toBeGreaterThan(0);
    expect([...seen.values()].every((code) => code !== 0)).toBe(true);
  }, 90_000);

  test("turns healthy with the program's own healthcheck once the real server listens", async () => {
    const info = await postgres.waitHealthy(HEALTHY_WITHIN_MS);
    expect(info.Config.Healthcheck?.Test).toEqual(specs.postgres.healthcheck!.tests);
    const logs = await postgres.logs(200);
    expect(logs).toContain("PostgreSQL init process complete; ready for start up.");
    expect(logs).toContain("ai-gateway: role litellm has the stack's password");
    const probe = await postgres.exec(probeCommand(specs.postgres.healthcheck!.tests));
    expect(probe).toMatchObject({ exitCode: 0 });
    expect(probe.output).toContain("127.0.0.1:5432 - accepting connections");
  }, 90_000);

  test("another container on the network connects as `postgres` over TCP with LiteLLM's DATABASE_URL; max_connections is the profile's", async () => {
    const databaseUrl = envValue(specs.litellm, "DATABASE_URL");
    expect(databaseUrl).toMatch(/^postgresql:\/\/litellm:[^@]+@postgres:5432\/litellm$/);
    expect(databaseUrl).toContain(envValue(specs.postgres, "POSTGRES_PASSWORD"));

    const answer = await psql(databaseUrl, "SHOW max_connections");
    expect(answer).toMatchObject({ exitCode: 0 });
    expect(answer.stdout.trim()).toBe(String(profile.postgres.tuning.maxConnections));

    // The alias led to this container, over TCP (a socket connection has no server address).
    const settings = await psql(
      databaseUrl,
      "SELECT current_setting('shared_buffers') || ' ' || current_setting('work_mem') || ' ' || host(inet_server_addr())",
    );
    const tuning = profile.postgres.tuning;
    expect(settings.stdout.trim()).toBe(`${tuning.sharedBuffersMb}MB ${tuning.workMemMb}MB ${await postgres.ipOn(testNetwork(target))}`);

    // Host connections need the password (scram-sha-256), they are not trusted.
    const wrong = await psql(databaseUrl.replace(/:[^:@]+@/, ":not-the-password@"), "SELECT 1");
    expect(wrong.exitCode).not.toBe(0);
    expect(wrong.output).toContain("password authentication failed");
    const scram = await psql(databaseUrl, "SELECT rolpassword LIKE 'SCRAM-SHA-256$%' FROM pg_authid WHERE rolname = current_user");
    expect(scram.stdout.trim()).toBe("t");
  }, 60_000);

  test("docker inspect shows the memory limit without swap, hardening, restart policy, log rotation and stop timeout", async () => {
    const info = await postgres.inspect();
    expect(info.HostConfig.Memory).toBe(profile.postgres.memoryMb * MB);
    expect(info.HostConfig.MemorySwap).toBe(info.HostConfig.Memory);
    expect(info.HostConfig.ShmSize).toBe(profile.postgres.shmSizeMb * MB);
    expect(info.HostConfig.SecurityOpt).toContain("no-new-privileges=true");
    expect(info.HostConfig.RestartPolicy.Name).toBe("unless-stopped");
    expect(info.HostConfig.LogConfig).toEqual({ Type: "json-file", Config: { ...LOG_OPTIONS } });
    expect(info.Config.StopTimeout).toBe(60);
    expect(info.Mounts).toEqual([
      expect.objectContaining({
        Type: "volume",
        Name: target.volumes[specs.postgres.volumes![0].volumeName!],
        Destination: POSTGRES_DATA_DIR,
      }),
    ]);
    expect(info.NetworkSettings.Ports).toEqual({}); // never published on the host
    expect(Object.keys(info.NetworkSettings.Networks)).toEqual([testNetwork(target)]);
    expect(info.NetworkSettings.Networks[testNetwork(target)].Aliases).toContain("postgres");

    // The kernel enforces it: the cgroup limit, and memory+swap equal to memory (cgroup v1 or v2).
    const limits = await postgres.exec([
      "/bin/sh",
      "-c",
      "if [ -e /sys/fs/cgroup/memory.max ]; then echo $(cat /sys/fs/cgroup/memory.max) $(( $(cat /sys/fs/cgroup/memory.swap.max 2>/dev/null || echo 0) + $(cat /sys/fs/cgroup/memory.max) )); " +
        "else echo $(cat /sys/fs/cgroup/memory/memory.limit_in_bytes) $(cat /sys/fs/cgroup/memory/memory.memsw.limit_in_bytes); fi",
    ]);
    expect(limits.stdout.trim()).toBe(`${profile.postgres.memoryMb * MB} ${profile.postgres.memoryMb * MB}`);
  }, 30_000);

  test("the server runs as the postgres user under the start script: the privilege drop works under no-new-privileges", async () => {
    const uid = (await postgres.exec(["id", "-u", "postgres"])).stdout.trim();
    // PID 1 is runtime/postgres-start.sh (it forwards the stop signal); the postmaster is its child.
    expect((await postgres.exec(["cat", "/proc/1/comm"])).stdout.trim()).toBe("ai-gateway-post");
    const status = (
      await postgres.exec([
        "/bin/sh",
        "-c",
        'for p in /proc/[0-9]*; do if [ "$(cat $p/comm)" = postgres ] && grep -q "^PPid:[[:space:]]*1$" $p/status; then cat $p/status; fi; done',
      ])
    ).stdout;
    expect(status).toMatch(/^Name:\s+postgres$/m);
    expect(status).toMatch(new RegExp(`^Uid:\\s+${uid}\\s+${uid}\\s+${uid}\\s+${uid}$`, "m"));
    expect(status).toMatch(/^NoNewPrivs:\s+1$/m);
  }, 30_000);

  test("a replacement container on the same volume keeps the data, and a new password is applied to the role", async () => {
    const databaseUrl = envValue(specs.litellm, "DATABASE_URL");
    expect(await psql(databaseUrl, "CREATE TABLE survives (v text); INSERT INTO survives VALUES ('kept')")).toMatchObject({ exitCode: 0 });

    await stopContainer(postgres.id, specs.postgres.stopTimeout!);
    await sandbox.remove(postgres);
    // The image ignores a new POSTGRES_PASSWORD on an initialised volume (runtime-facts.md D), as
    // after a destroy that kept the volume and an up that generated new secrets. The start script
    // gives the role the new password instead of leaving LiteLLM locked out.
    const replacement = await runPostgres(target, {
      name: sandbox.name(`${specs.postgres.name}-2`),
      env: ["POSTGRES_PASSWORD=changedLater0123456789abcdefghij"],
    });
    await replacement.waitHealthy(HEALTHY_WITHIN_MS);
    const logs = await replacement.logs(200);
    expect(logs).toContain("Skipping initialization");
    expect(logs).not.toContain("temporary server");
    expect(logs).toContain("ai-gateway: role litellm has the stack's password");
    expect(logs).not.toContain("changedLater");
    const newUrl = databaseUrl.replace(/:[^:@]+@/, ":changedLater0123456789abcdefghij@");
    const kept = await psql(newUrl, "SELECT v FROM survives");
    expect(kept).toMatchObject({ exitCode: 0 });
    expect(kept.stdout.trim()).toBe("kept");
    const old = await psql(databaseUrl, "SELECT 1");
    expect(old.output).toContain("password authentication failed");
  }, 90_000);
});
