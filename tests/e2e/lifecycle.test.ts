/**
 * The small stack through faults and its whole life, deployed for real: drift inside LiteLLM and
 * in Docker, an interrupted or killed `up`, a container that never turns healthy, `destroy` with LiteLLM
 * stopped, a new `up` on the kept volumes, a stack rename, and an ephemeral `destroy`.
 */
import { execFile, spawn } from "child_process";
import * as path from "path";
import { promisify } from "util";
import { ROOT } from "../helpers/program";
import { changes, docker, dockerObjects, inspect, request, Stack, volumeExists, Workspace } from "./harness";
import {
  allHealthy,
  freshRegistryImages,
  IMAGES,
  names,
  publicChecks,
  readMarkers,
  removeLeftovers,
  useLocalImages,
  virtualKeys,
  writeMarkers,
  withPidsLimits,
} from "./gateway";
import { describeE2E } from "./requirements";

const execFileAsync = promisify(execFile);

const BASE_URL = "http://127.0.0.1:8081";
const ADMIN_URL = "http://127.0.0.1:4002";

describeE2E("small stack: faults, destroy, a new life on the kept volumes", () => {
  const workspace = new Workspace("lifecycle");
  let stack: Stack = workspace.stack("small");
  let n = names("small");
  let outputs: Record<string, any>;
  const admin = (pathAndQuery: string, init: { method?: string; body?: string } = {}) =>
    request(`${ADMIN_URL}${pathAndQuery}`, { ...init, headers: { Authorization: `Bearer ${outputs.litellmMasterKey}` } });

  beforeAll(async () => {
    for (const leftover of ["small", "small-renamed"]) {
      await removeLeftovers(leftover, { volumes: true });
    }
    await freshRegistryImages();
    await stack.init();
    await useLocalImages(stack);
    await stack.up();
    await allHealthy("small");
    outputs = await stack.outputs();
    await writeMarkers("small", "first-life");
  });

  afterAll(async () => {
    await stack.destroy({ allowFailure: true });
    for (const leftover of ["small", "small-renamed"]) {
      await removeLeftovers(leftover, { volumes: true });
    }
    workspace.remove();
  });

  test("a virtual key deleted inside LiteLLM shows as an update in the next preview, and the next up heals it", async () => {
    const agents = outputs.apiKeys.agents;
    expect((await admin("/key/delete", { method: "POST", body: JSON.stringify({ keys: [agents] }) })).status).toBe(200);
    expect((await publicChecks(BASE_URL, { agents })).withKey.agents).toBe(401);

    expect(changes(await stack.previewSteps())).toEqual(["update LitellmKeyRegistration ai-gateway-keys-registration"]);
    expect(changes((await stack.up()).steps)).toEqual(["update LitellmKeyRegistration ai-gateway-keys-registration"]);
    expect((await publicChecks(BASE_URL, { agents })).withKey.agents).toBe(200);
    await stack.expectNoChanges();
  });

  test("a container removed by hand comes back with refresh + up, on its data", async () => {
    await docker(["rm", "-f", n.container("open-webui")]);
    await stack.refresh();
    // The container is new, its pids-limit step is not: it follows the new container.
    expect(changes(await stack.previewSteps())).toEqual([
      "create Container ai-gateway-open-webui",
      "update ContainerPidsLimit ai-gateway-open-webui-pids",
    ]);
    await stack.up();
    await allHealthy("small");
    expect((await readMarkers("small")).openWebui).toContain("first-life");
    await stack.expectNoChanges();
  });

  /** Starts `pulumi up` and sends `signal` while LiteLLM's replacement waits for health; resolves when the CLI is gone. */
  async function interruptedUp(signal: NodeJS.Signals): Promise<void> {
    const child = spawn("pulumi", ["--non-interactive", "--stack", stack.name, "up", "--yes", "--skip-preview"], {
      cwd: workspace.dir,
      env: workspace.env,
    });
    let output = "";
    child.stdout.on("data", (c: Buffer) => (output += c.toString()));
    child.stderr.on("data", (c: Buffer) => (output += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
    const deadline = Date.now() + 120_000;
    while (!/ai-gateway-litellm\s.*creating/.test(output) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(output).toMatch(/ai-gateway-litellm\s.*creating/);
    // Let the provider's create reach Docker (it then waits for health), so there is a step in flight.
    await new Promise((r) => setTimeout(r, 2000));
    child.kill(signal);
    expect(await exited).not.toBe(0);
  }

  test.each([
    ["Ctrl-C (SIGINT)", "SIGINT", "prod"],
    ["kill (SIGTERM)", "SIGTERM", "test"],
  ] as const)("an up interrupted midway by %s converges on the next run", async (_how, signal, budget) => {
    await stack.set("budget", budget);
    await interruptedUp(signal);
    // The step in flight finished and was recorded; the next up does the rest.
    const { steps } = await stack.up();
    expect(changes(steps)).toContain("update LitellmKeyRegistration ai-gateway-keys-registration");
    await stack.expectNoChanges();
    await allHealthy("small");
    const maxBudget = JSON.parse((await admin(`/key/info?key=${outputs.apiKeys.agents}`)).body).info.max_budget;
    expect(maxBudget).toBe(budget === "prod" ? 200 : 15);
  });

  test("an up killed hard (SIGKILL) converges after scripts/recover-interrupted.sh", async () => {
    await stack.set("budget", "prod");
    await interruptedUp("SIGKILL");
    // What a hard kill leaves: the lock, and a LiteLLM container Docker created but the state never recorded.
    const blocked = await stack.up([], { allowFailure: true });
    expect(blocked.result.code).not.toBe(0);
    expect(blocked.result.stdout + blocked.result.stderr).toMatch(/locked/);

    const recovered = await execFileAsync("bash", [path.join(ROOT, "scripts", "recover-interrupted.sh"), stack.name], {
      cwd: workspace.dir,
      env: workspace.env,
    });
    expect(recovered.stdout).toContain("no update of small holds the stack");
    expect(recovered.stdout).toContain(`removed container ${n.container("litellm")}`);

    await stack.up();
    await stack.expectNoChanges();
    await allHealthy("small");
    expect(JSON.parse((await admin(`/key/info?key=${outputs.apiKeys.agents}`)).body).info.max_budget).toBe(200);
    expect((await readMarkers("small")).postgres).toContain("first-life");
  });

  test("a container that misses its health wait fails the up, and the next up waits for it again instead of accepting it", async () => {
    // A pin that exists but never turns healthy: nginx's image with an entrypoint that serves
    // nothing (the stack gives nginx its command, so only the entrypoint can stop it serving).
    const broken = IMAGES.nginxImage.replace(/:[^:/]+$/, ":1.30.7-alpine");
    const base = (await docker(["create", IMAGES.nginxImage])).stdout.trim();
    await docker(["commit", "--change", 'ENTRYPOINT ["sh", "-c", "exec sleep infinity", "--"]', base, broken]);
    await docker(["rm", base]);
    await docker(["push", broken]);
    await stack.set("nginxImage", broken);

    const first = await stack.up([], { allowFailure: true });
    expect(first.result.code).not.toBe(0);
    expect(first.result.stdout + first.result.stderr).toMatch(/healthy state|health/i);

    // Same config: the engine must re-create and wait again, not record an empty update.
    expect(changes(await stack.previewSteps())).toEqual(withPidsLimits(["replace Container ai-gateway-nginx"]));
    const second = await stack.up([], { allowFailure: true });
    expect(second.result.code).not.toBe(0);
    expect((await inspect(n.container("nginx"))).State.Health.Status).not.toBe("healthy");

    await stack.set("nginxImage", IMAGES.nginxImage);
    await stack.up();
    await allHealthy("small");
    await stack.expectNoChanges();
  });

  test("destroy succeeds with LiteLLM stopped and leaves nothing but the data volumes", async () => {
    await docker(["stop", n.container("litellm")]);
    // A preview says why it plans an update of the registration it cannot check (review F9).
    const preview = await stack.preview();
    expect(preview.stdout).toMatch(/could not ask LiteLLM whether its virtual keys are registered, so an update is planned: .*not running/);
    await stack.destroy();
    expect(await dockerObjects("container", `label=${n.label}`)).toEqual([]);
    for (const network of n.networks) {
      expect(await dockerObjects("network", `name=${network}`)).toEqual([]);
    }
    for (const volume of n.volumes) {
      expect([volume, await volumeExists(volume)]).toEqual([volume, true]);
    }
  });

  test("a new up on the kept volumes comes back with the old data and working credentials", async () => {
    const before = outputs;
    await stack.up();
    await allHealthy("small");
    outputs = await stack.outputs();
    // New secrets (the old state is gone), the same data.
    expect(outputs.apiKeys.agents).not.toBe(before.apiKeys.agents);
    expect(await readMarkers("small")).toEqual({ postgres: ["first-life"], openWebui: ["first-life"] });
    const checks = await publicChecks(BASE_URL, virtualKeys(outputs));
    expect(checks.withKey).toEqual({ agents: 200, "open-webui": 200 });
    // The previous deployment's keys under the same aliases were taken over, not kept.
    expect((await publicChecks(BASE_URL, { old: before.apiKeys.agents })).withKey.old).toBe(401);
    await stack.expectNoChanges();
  });

  test("a stack rename keeps the data volumes: the renamed stack's containers mount them", async () => {
    await workspace.pulumi(["--stack", "small", "stack", "rename", "small-renamed"]);
    stack = workspace.stack("small-renamed");
    n = names("small-renamed");
    const planned = changes(await stack.previewSteps());
    // The data volumes stay; the config volumes, named after their containers, follow the new names.
    expect(planned.filter((c) => c.includes("Volume") && !c.endsWith("-config"))).toEqual([]);
    await stack.up();
    await allHealthy("small-renamed");
    const mounts = (await inspect(n.container("postgres"))).Mounts.map((m: { Name: string }) => m.Name);
    expect(mounts).toEqual(["ai-gateway-small-postgres-data"]);
    expect((await readMarkers("small-renamed")).postgres).toEqual(["first-life"]);
    await stack.expectNoChanges();
  });

  test("with ephemeral: true, destroy removes the volumes too and leaves nothing of the stack", async () => {
    await stack.set("ephemeral", "true");
    await stack.up();
    await stack.destroy();
    expect(await dockerObjects("container", "label=ai-gateway.gateway=ai-gateway-small-renamed")).toEqual([]);
    for (const volume of names("small").volumes) {
      expect([volume, await volumeExists(volume)]).toEqual([volume, false]);
    }
  });
});
