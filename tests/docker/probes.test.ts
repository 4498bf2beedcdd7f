/**
 * The program's LiteLLM and Open WebUI containers (medium profile) on a real Docker engine, with
 * stand-ins (tests/fixtures/docker) as their entrypoints: their healthchecks, run by Docker and by
 * `docker exec` exactly as declared, tell a healthy service from one that answers 500 and from one
 * that is down; and LiteLLM's config upload lands as a single world-readable file.
 */
import { DockerSandbox, ExecResult, pollUntil, TestContainer } from "../helpers/dockerEngine";
import { describeWith, requirements } from "../helpers/requirements";
import { LITELLM_CONFIG_PATH, OPEN_WEBUI_DATA_DIR } from "../../lib/constants";
import { HEALTHY_WITHIN_MS, LITELLM_IMAGE_USER, prepareStack, runLitellm, runOpenWebui, StackSpecs, stackSpecs } from "./gateway";

const HEALTH_STATUS_FILE = "/tmp/standin-health-status";
const SERVER_PID_FILE = "/tmp/standin-server.pid";

/** Tells a stand-in to answer its health endpoint with `status` (or normally, with undefined). */
async function setHealthStatus(container: TestContainer, status: number | undefined): Promise<void> {
  const script = status === undefined ? `rm -f ${HEALTH_STATUS_FILE}` : `echo ${status} > ${HEALTH_STATUS_FILE}`;
  expect(await container.exec(["/bin/sh", "-c", script])).toMatchObject({ exitCode: 0 });
}

/** Stops a stand-in's server process (PID 1 stays up so docker exec keeps working). */
async function stopServer(container: TestContainer): Promise<void> {
  const pid = (await container.exec(["cat", SERVER_PID_FILE])).stdout.trim();
  expect(pid).toMatch(/^[0-9]+$/);
  expect(await container.exec(["kill", pid])).toMatchObject({ exitCode: 0 });
  await pollUntil(`${container.name}'s server process to exit`, 10_000, async () =>
    (await container.exec(["test", "-e", `/proc/${pid}`])).exitCode !== 0 ? true : undefined,
  );
}

function expectProbeFailed(result: ExecResult, reason: string): void {
  expect(result.exitCode).not.toBe(0);
  expect(result.output).toContain(reason);
}

/** The probe fails while the health endpoint answers 500, passes again after, and fails once the server is down. */
async function expectProbeFailsWithService(container: TestContainer): Promise<void> {
  await setHealthStatus(container, 500);
  expectProbeFailed(await container.probe(), "HTTP Error 500");
  await setHealthStatus(container, undefined);
  expect(await container.probe()).toMatchObject({ exitCode: 0 });

  await stopServer(container);
  expectProbeFailed(await container.probe(), "Connection refused");
}

describeWith("LiteLLM and Open WebUI healthchecks from the program's spec", [requirements.docker(), requirements.rootfs()], () => {
  const sandbox = new DockerSandbox("probes");
  let specs: StackSpecs;
  let litellm: TestContainer;
  let openWebui: TestContainer;

  beforeAll(async () => {
    specs = await stackSpecs("medium");
    const target = await prepareStack(sandbox, specs);
    [litellm, openWebui] = await Promise.all([runLitellm(target), runOpenWebui(target)]);
  }, 300_000);

  afterAll(async () => {
    await sandbox.cleanup();
  }, 120_000);

  describe("LiteLLM", () => {
    test("turns healthy with its exec-form python probe, passed to Docker verbatim", async () => {
      const hc = specs.litellm.healthcheck!;
      expect(hc.tests[0]).toBe("CMD");
      expect(hc.tests.slice(1, 3)).toEqual(["python3", "-c"]);
      const info = await litellm.waitHealthy(HEALTHY_WITHIN_MS);
      expect(info.Config.Healthcheck?.Test).toEqual(hc.tests);
      expect(info.Config.User).toBe(LITELLM_IMAGE_USER);
      expect(await litellm.probe()).toMatchObject({ exitCode: 0 });
    }, 60_000);

    test('the stand-in reproduces the endpoint: GET is 200 "I\'m alive!", HEAD is 405', async () => {
      const request = (method: string) =>
        litellm.exec([
          "python3",
          "-c",
          "import sys, urllib.request as u, urllib.error as e\n" +
            "try:\n  r = u.urlopen(u.Request('http://127.0.0.1:4000/health/liveliness', method=sys.argv[1]), timeout=5); print(r.status, r.read().decode())\n" +
            "except e.HTTPError as x:\n  print(x.code)",
          method,
        ]);
      expect((await request("GET")).stdout.trim()).toBe(`200 "I'm alive!"`);
      expect((await request("HEAD")).stdout.trim()).toBe("405");
    }, 30_000);

    test("the probe fails when the endpoint answers 500, and when the server is down", async () => {
      await expectProbeFailsWithService(litellm);
    }, 60_000);

    test("config.yaml is uploaded as a single file, mode 0644, readable by a non-root user, with the program's content", async () => {
      const upload = specs.litellm.uploads!.find((u) => u.file === LITELLM_CONFIG_PATH)!;
      expect(upload.permissions).toBe("0644");
      const stat = await litellm.exec(["stat", "-c", "%F %a %u:%g", LITELLM_CONFIG_PATH]);
      expect(stat.stdout.trim()).toBe("regular file 644 0:0");
      // Read as the container's user: the image's non-root user, which is not the file's owner.
      expect((await litellm.exec(["id", "-u"])).stdout.trim()).toBe(LITELLM_IMAGE_USER.split(":")[0]);
      const asImageUser = await litellm.exec(["cat", LITELLM_CONFIG_PATH]);
      expect(asImageUser.exitCode).toBe(0);
      expect(asImageUser.stdout).toBe(upload.content);
      // Not a mount: nothing hides the image's /app (runtime-facts.md A1).
      const info = await litellm.inspect();
      expect(info.Mounts.filter((m) => m.Destination.startsWith("/app"))).toEqual([]);
      // The stand-in read it at start as the image's non-root user (it exits when it cannot).
      expect(await litellm.logs(200)).toMatch(/litellm listening on 0\.0\.0\.0:4000 as uid 65532/);
    }, 30_000);
  });

  describe("Open WebUI", () => {
    test("turns healthy with its exec-form python probe, passed to Docker verbatim", async () => {
      const hc = specs.openWebui.healthcheck!;
      expect(hc.tests[0]).toBe("CMD");
      const info = await openWebui.waitHealthy(HEALTHY_WITHIN_MS);
      expect(info.Config.Healthcheck?.Test).toEqual(hc.tests);
      expect(await openWebui.probe()).toMatchObject({ exitCode: 0 });
      // Its data volume is mounted where the app writes, and writable.
      expect(info.Mounts).toEqual([expect.objectContaining({ Type: "volume", Destination: OPEN_WEBUI_DATA_DIR })]);
      expect(await openWebui.exec(["test", "-s", `${OPEN_WEBUI_DATA_DIR}/standin-started`])).toMatchObject({ exitCode: 0 });
    }, 60_000);

    test("the probe fails when /health answers 500, and when the server is down", async () => {
      await expectProbeFailsWithService(openWebui);
    }, 60_000);
  });
});
