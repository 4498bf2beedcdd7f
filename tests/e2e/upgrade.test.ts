/**
 * A stack deployed by the release before the network split (one network for every container)
 * and upgraded by this one: a single `pulumi up` replaces the containers onto the new networks,
 * removes the old network, keeps the data volumes, and converges (README change table).
 */
import { changes, docker, Stack, Workspace } from "./harness";
import { allHealthy, names, readMarkers, removeLeftovers, useLocalImages, useProgram, writeMarkers } from "./gateway";
import { describeE2E } from "./requirements";

/** The last commit with the one-network layout (components/network.ts: `${prefix}-net`). */
const ONE_NETWORK_COMMIT = "cd957f8";
const STACK = "sec-upgrade";

describeE2E("upgrade from the one-network layout", () => {
  const workspace = new Workspace(STACK);
  const stack: Stack = workspace.stack(STACK);
  const n = names(STACK);

  beforeAll(async () => {
    await removeLeftovers(STACK, { volumes: true });
    await docker(["network", "rm", `${n.prefix}-net`], { allowFailure: true });
    useProgram(workspace, ONE_NETWORK_COMMIT);
    await stack.init();
    await useLocalImages(stack);
    await stack.set("profile", "small");
    await stack.set("httpPort", "18380");
    await stack.set("adminPort", "14381");
    await stack.set("ephemeral", "true");
    await stack.up();
    await allHealthy(STACK);
    await writeMarkers(STACK, "before-upgrade");
  });

  afterAll(async () => {
    await stack.destroy({ allowFailure: true });
    await removeLeftovers(STACK, { volumes: true });
    await docker(["network", "rm", `${n.prefix}-net`], { allowFailure: true });
    workspace.remove();
  });

  test("one up replaces the containers onto the new networks, removes the old one, keeps the data, and converges", async () => {
    const oldNetwork = (await docker(["network", "inspect", `${n.prefix}-net`, "--format", "{{.Name}}"])).stdout.trim();
    expect(oldNetwork).toBe(`${n.prefix}-net`);
    useProgram(workspace);
    const planned = changes(await stack.previewSteps());
    const { steps } = await stack.up();
    expect(changes(steps)).toEqual(planned);
    const services = ["postgres", "litellm", "open-webui", "nginx"];
    expect(planned).toEqual(
      expect.arrayContaining([
        ...services.map((s) => `replace Container ai-gateway-${s}`),
        "delete Network ai-gateway-network-network",
        ...["backend", "frontend", "egress", "edge"].map((role) => `create Network ai-gateway-${role}-network`),
      ]),
    );
    // The data volumes and the images stay; nginx's files move to a config volume of their own (read-only root);
    // the backups (issue 12) are new: their volume, and each backup container's image and config volume.
    expect(planned.filter((c) => / (Volume|RemoteImage) /.test(c))).toEqual([
      "create RemoteImage ai-gateway-backups-litellm-database-image",
      "create RemoteImage ai-gateway-backups-open-webui-volume-image",
      "create Volume ai-gateway-backups-litellm-database-config",
      "create Volume ai-gateway-backups-open-webui-volume-config",
      "create Volume ai-gateway-backups-volume",
      "create Volume ai-gateway-nginx-config",
    ]);
    expect(planned).toContain("create Container ai-gateway-nginx-config");
    await allHealthy(STACK);
    expect(await readMarkers(STACK)).toEqual({ postgres: ["before-upgrade"], openWebui: ["before-upgrade"] });
    expect((await docker(["network", "inspect", `${n.prefix}-net`], { allowFailure: true })).code).not.toBe(0);
    await stack.expectNoChanges();
  });
});
