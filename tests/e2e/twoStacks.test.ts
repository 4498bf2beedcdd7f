/**
 * Two stacks of the program on one engine (the stack files give small and medium their own ports):
 * each one's up, preview and destroy leave the other's containers, network and volumes untouched.
 * small's images are pinned by digest, so its no-op previews also show that such pins converge.
 */
import { docker, inspect, Stack, Workspace } from "./harness";
import { allHealthy, fingerprint, names, publicChecks, removeLeftovers, useLocalImages, virtualKeys } from "./gateway";
import { describeE2E } from "./requirements";

describeE2E("two stacks on one engine", () => {
  const workspace = new Workspace("two-stacks");
  const small: Stack = workspace.stack("small");
  const medium: Stack = workspace.stack("medium");

  beforeAll(async () => {
    for (const stack of [small, medium]) {
      await removeLeftovers(stack.name, { volumes: true });
      await stack.init();
      // small by digest (repo:tag@sha256:…, like the default pins), medium by tag: both converge.
      await useLocalImages(stack, { byDigest: stack === small });
      await stack.set("ephemeral", "true");
    }
    await small.up();
    await allHealthy("small");
  });

  afterAll(async () => {
    for (const stack of [small, medium]) {
      await stack.destroy({ allowFailure: true });
      await removeLeftovers(stack.name, { volumes: true });
    }
    workspace.remove();
  });

  test("deploying medium beside small leaves small untouched, and both answer on their own ports", async () => {
    const before = await fingerprint("small");
    await medium.up();
    await allHealthy("medium");
    expect(await fingerprint("small")).toEqual(before);
    await small.expectNoChanges();
    await medium.expectNoChanges();
    for (const [stack, port] of [
      [small, 8081],
      [medium, 8080],
    ] as const) {
      const checks = await publicChecks(`http://127.0.0.1:${port}`, virtualKeys(await stack.outputs()));
      expect(checks.withKey).toEqual({ agents: 200, "open-webui": 200 });
      // nginx of each stack reaches its own Open WebUI.
      expect(checks.openWebui.body).toContain((await inspect(names(stack.name).container("open-webui"))).Config.Hostname);
    }
  });

  test("one stack's keys are not the other's", async () => {
    const mediumKeys = virtualKeys(await medium.outputs());
    expect((await publicChecks("http://127.0.0.1:8081", { medium: mediumKeys.agents })).withKey.medium).toBe(401);
  });

  test("a change and an up of small leave medium untouched", async () => {
    const before = await fingerprint("medium");
    await small.set("budget", "prod");
    await small.up();
    await allHealthy("small");
    expect(await fingerprint("medium")).toEqual(before);
    await medium.expectNoChanges();
  });

  test("destroying medium leaves small running and converged", async () => {
    const before = await fingerprint("small");
    await medium.destroy();
    expect((await docker(["ps", "-aq", "--filter", `label=${names("medium").label}`])).stdout.trim()).toBe("");
    expect(await fingerprint("small")).toEqual(before);
    await small.expectNoChanges();
  });
});
