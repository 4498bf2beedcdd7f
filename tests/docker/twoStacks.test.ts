/**
 * Two stacks of the program (small and medium) on one Docker host at the same time: every Docker
 * object gets the name the program gives it (plus this run's suffix, the same for both stacks, so
 * names that differ still differ and names that clash still clash), and nothing collides: each
 * network's aliases resolve to that stack's containers, each nginx reaches its own stack's
 * upstreams, and each LiteLLM reaches its own stack's PostgreSQL.
 */
import { DockerSandbox, httpGet, listContainers, pollUntil, RUN_LABEL, TestContainer } from "../helpers/dockerEngine";
import { describeWith, requirements } from "../helpers/requirements";
import { HOSTNAMES, NGINX_PUBLIC_PORT } from "../../lib/constants";
import {
  HEALTHY_WITHIN_MS,
  litellmAuth,
  RERESOLVE_WITHIN_MS,
  prepareStack,
  runLitellm,
  runNginx,
  runOpenWebui,
  runPostgres,
  StackSpecs,
  stackSpecs,
  StackTarget,
  testNetwork,
} from "./gateway";

const STACKS = ["small", "medium"] as const;

interface RunningStack {
  readonly specs: StackSpecs;
  readonly target: StackTarget;
  readonly containers: Record<"postgres" | "litellm" | "openWebui" | "nginx", TestContainer>;
  readonly client: TestContainer;
}

describeWith("two stacks on one Docker host", [requirements.docker(), requirements.rootfs()], () => {
  const sandbox = new DockerSandbox("two-stacks");
  const stacks: Record<string, RunningStack> = {};
  const specs: Record<string, StackSpecs> = {};

  beforeAll(async () => {
    for (const stack of STACKS) {
      specs[stack] = await stackSpecs(stack);
    }
    // Both stacks at once, every container started concurrently.
    await Promise.all(
      STACKS.map(async (stack) => {
        const target = await prepareStack(sandbox, specs[stack]);
        const [postgres, litellm, openWebui, nginx] = await Promise.all([
          runPostgres(target),
          runLitellm(target),
          runOpenWebui(target),
          runNginx(target),
        ]);
        const client = await sandbox.helper(`${stack}-client`, { image: target.image, network: testNetwork(target) });
        stacks[stack] = { specs: specs[stack], target, containers: { postgres, litellm, openWebui, nginx }, client };
      }),
    );
    await Promise.all(STACKS.flatMap((stack) => Object.values(stacks[stack].containers).map((c) => c.waitHealthy(HEALTHY_WITHIN_MS))));
  }, 300_000);

  afterAll(async () => {
    await sandbox.cleanup();
  }, 120_000);

  test("the program gives the two stacks different container, network and volume names and host ports", () => {
    const [a, b] = STACKS.map((stack) => specs[stack]);
    const names = (s: StackSpecs) => [s.postgres.name, s.litellm.name, s.openWebui.name, s.nginx.name, s.network, ...s.volumes];
    expect(names(a).filter((n) => names(b).includes(n))).toEqual([]);
    const ports = (s: StackSpecs) => (s.nginx.ports ?? []).map((p) => p.external);
    expect(ports(a).filter((p) => ports(b).includes(p))).toEqual([]);
    // Aliases are the same in every stack; they only have to be unique within a network.
    expect(a.litellm.networksAdvanced).toEqual([{ name: a.network, aliases: [HOSTNAMES.litellm] }]);
    expect(b.litellm.networksAdvanced).toEqual([{ name: b.network, aliases: [HOSTNAMES.litellm] }]);
  });

  test("all eight containers run side by side under the program's names, each healthy", async () => {
    for (const stack of STACKS) {
      for (const container of Object.values(stacks[stack].containers)) {
        const info = await container.inspect();
        expect(info.Name).toBe(`/${sandbox.name(container.spec!.name)}`);
        expect(info.State.Health?.Status).toBe("healthy");
      }
    }
  });

  test("within each network the aliases resolve to that stack's containers only", async () => {
    for (const stack of STACKS) {
      const { containers, client, target } = stacks[stack];
      const network = testNetwork(target);
      const expected: Record<string, string> = {
        [HOSTNAMES.postgres]: await containers.postgres.ipOn(network),
        [HOSTNAMES.litellm]: await containers.litellm.ipOn(network),
        [HOSTNAMES.openWebui]: await containers.openWebui.ipOn(network),
        [HOSTNAMES.nginx]: await containers.nginx.ipOn(network),
      };
      const resolved = await client.exec([
        "python3",
        "-c",
        "import json, socket, sys; print(json.dumps({n: sorted(socket.gethostbyname_ex(n)[2]) for n in sys.argv[1:]}))",
        ...Object.keys(expected),
      ]);
      expect(resolved.exitCode).toBe(0);
      expect(JSON.parse(resolved.stdout)).toEqual(Object.fromEntries(Object.entries(expected).map(([alias, ip]) => [alias, [ip]])));
    }
  }, 30_000);

  test("each nginx reaches its own stack's LiteLLM and Open WebUI", async () => {
    // An nginx that started before its upstreams resolves them at its next re-resolution (valid=10s).
    const answered = (url: string, headers?: Record<string, string>) =>
      pollUntil(url, RERESOLVE_WITHIN_MS, async () => {
        const answer = await httpGet(url, undefined, headers);
        return answer.status === 200 ? answer : undefined;
      });
    for (const stack of STACKS) {
      const { containers } = stacks[stack];
      const port = (await containers.nginx.hostPort(NGINX_PUBLIC_PORT)).port;
      const models = await answered(`http://127.0.0.1:${port}/api/litellm/v1/models`, litellmAuth(specs[stack]));
      expect(JSON.parse(models.body).hostname).toBe((await containers.litellm.inspect()).Config.Hostname);
      const page = await answered(`http://127.0.0.1:${port}/`);
      expect(page.body).toContain(`<b id=hostname>${(await containers.openWebui.inspect()).Config.Hostname}</b>`);
    }
  }, 90_000);

  test("each LiteLLM reaches its own stack's PostgreSQL with its DATABASE_URL", async () => {
    for (const stack of STACKS) {
      const { containers, target, specs: s } = stacks[stack];
      const answer = await containers.litellm.exec([
        "/bin/sh",
        "-c",
        `psql "$DATABASE_URL" --no-psqlrc -tA -c "SELECT host(inet_server_addr()) || ' ' || current_setting('max_connections')"`,
      ]);
      expect(answer).toMatchObject({ exitCode: 0 });
      const maxConnections = s.postgres.command![s.postgres.command!.indexOf("-c") + 1].replace("max_connections=", "");
      expect(answer.stdout.trim()).toBe(`${await containers.postgres.ipOn(testNetwork(target))} ${maxConnections}`);
    }
    expect(stacks.small.specs.postgres.command).not.toEqual(stacks.medium.specs.postgres.command);
  }, 30_000);

  test("each stack's label selects exactly its own containers", async () => {
    for (const stack of STACKS) {
      const label = stacks[stack].specs.postgres.labels!.find((l) => l.label === "ai-gateway.gateway")!;
      const listed = await listContainers({ [label.label]: label.value, [RUN_LABEL]: sandbox.runId });
      const ids = Object.values(stacks[stack].containers).map((c) => c.id);
      expect(listed.map((c) => c.Id).sort()).toEqual(ids.sort());
    }
  }, 30_000);
});
