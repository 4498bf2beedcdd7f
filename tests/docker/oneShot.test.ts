/**
 * lib/dockerExec.ts's one-shot containers (LiteLLM's migration step runs its migrations in one)
 * against the real engine: exit code and logs come back, the container is removed in every case
 * (success, failure, timeout), and one left over under the same name is replaced.
 */
import { containerImageId, removeContainer, runOneShotContainer } from "../../lib/dockerExec";
import { DOCKER_ENDPOINT, DockerSandbox } from "../helpers/dockerEngine";
import { describeWith, requirements } from "../helpers/requirements";
import { testImage } from "../helpers/testImage";

describeWith("one-shot containers through the product's Engine API client", [requirements.docker(), requirements.rootfs()], () => {
  const sandbox = new DockerSandbox("one-shot");
  let image: string;
  const spec = (name: string, cmd: string[]) => ({
    name: sandbox.name(name),
    image,
    cmd,
    env: ["ONE_SHOT_SECRET=not-for-logs"],
    network: "bridge",
    memoryMb: 64,
    labels: { ...sandbox.labels },
  });

  beforeAll(async () => {
    image = await testImage();
  });

  afterAll(async () => {
    await sandbox.cleanup();
  }, 120_000);

  test("a failing command: its exit code and both streams come back, and the container is gone", async () => {
    const s = spec("fails", ["sh", "-c", 'echo "to stdout"; echo "to stderr" >&2; test -n "$ONE_SHOT_SECRET" && exit 3']);
    const result = await runOneShotContainer(DOCKER_ENDPOINT, s, 60_000);
    expect(result.exitCode).toBe(3);
    expect(result.logs).toBe("to stdout\nto stderr\n");
    expect(await containerImageId(DOCKER_ENDPOINT, s.name)).toBeUndefined();
  });

  test("a succeeding command exits 0 and leaves nothing behind; only the last `tail` lines come back", async () => {
    const s = spec("succeeds", ["sh", "-c", "for i in 1 2 3 4 5; do echo line $i; done"]);
    const result = await runOneShotContainer(DOCKER_ENDPOINT, s, 60_000, 2);
    expect(result).toEqual({ exitCode: 0, logs: "line 4\nline 5\n" });
    expect(await containerImageId(DOCKER_ENDPOINT, s.name)).toBeUndefined();
  });

  test("a container that outlives the timeout is killed and removed, and the error says so with its last lines", async () => {
    const s = spec("hangs", ["sh", "-c", "echo started; sleep 60"]);
    await expect(runOneShotContainer(DOCKER_ENDPOINT, s, 2_000)).rejects.toThrow(
      `${s.name} did not finish within 2 s; its last lines: started`,
    );
    expect(await containerImageId(DOCKER_ENDPOINT, s.name)).toBeUndefined();
  });

  test("a container left under the same name (an interrupted run) is replaced, not an error", async () => {
    const leftover = await sandbox.helper("leftover", { image, cmd: ["sleep", "300"] });
    expect(await containerImageId(DOCKER_ENDPOINT, leftover.name)).toMatch(/^sha256:[0-9a-f]{64}$/);
    const result = await runOneShotContainer(DOCKER_ENDPOINT, { ...spec("leftover", ["true"]), name: leftover.name }, 60_000);
    expect(result.exitCode).toBe(0);
    expect(await containerImageId(DOCKER_ENDPOINT, leftover.name)).toBeUndefined();
  });

  test("removing a container that does not exist is not an error", async () => {
    await expect(removeContainer(DOCKER_ENDPOINT, sandbox.name("never-created"))).resolves.toBeUndefined();
  });
});
