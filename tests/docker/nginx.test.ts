/**
 * The program's nginx container (medium profile) on a real Docker engine: the real nginx 1.30 of
 * the test image, the program's generated nginx.conf uploaded verbatim, the program's ports and
 * healthcheck. Upstreams are the LiteLLM and Open WebUI stand-ins, started after nginx.
 *
 * The tests run in order: nginx alone, then with its upstreams, then with LiteLLM replaced.
 */
import {
  DockerSandbox,
  freePort,
  httpGet,
  HttpAnswer,
  networkGateway,
  pollUntil,
  stopContainer,
  tcpConnect,
  TestContainer,
} from "../helpers/dockerEngine";
import { describeWith, requirements } from "../helpers/requirements";
import { stackConfig } from "../helpers/program";
import { NGINX_ADMIN_PORT, NGINX_HEALTH_PORT, NGINX_PUBLIC_PORT } from "../../lib/constants";
import {
  HEALTHY_WITHIN_MS,
  litellmAuth,
  RERESOLVE_WITHIN_MS,
  prepareStack,
  runLitellm,
  runNginx,
  runOpenWebui,
  StackSpecs,
  stackSpecs,
  StackTarget,
  testNetwork,
} from "./gateway";

/** GET that never throws: connection errors become status 0 with the error in the body. */
async function get(url: string, headers: Record<string, string> = {}, timeoutMs = 15_000): Promise<HttpAnswer> {
  try {
    return await httpGet(url, timeoutMs, headers);
  } catch (e) {
    return { status: 0, headers: {}, body: (e as Error).message };
  }
}

function json(answer: HttpAnswer): Record<string, unknown> {
  try {
    return JSON.parse(answer.body);
  } catch {
    return {};
  }
}

describeWith("nginx container from the program's spec", [requirements.docker(), requirements.rootfs()], () => {
  const sandbox = new DockerSandbox("nginx");
  let specs: StackSpecs;
  let target: StackTarget;
  let nginx: TestContainer;
  let litellm: TestContainer;
  let publicUrl: string;
  let adminUrl: string;
  /** LiteLLM's /v1/models through nginx's public API route, with LiteLLM's master key. */
  const getModels = () => get(`${publicUrl}/api/litellm/v1/models`, litellmAuth(specs));

  beforeAll(async () => {
    specs = await stackSpecs("medium");
    target = await prepareStack(sandbox, specs);
    nginx = await runNginx(target);
    const publicPort = await nginx.hostPort(NGINX_PUBLIC_PORT);
    const adminPort = await nginx.hostPort(NGINX_ADMIN_PORT);
    publicUrl = `http://127.0.0.1:${publicPort.port}`;
    adminUrl = `http://127.0.0.1:${adminPort.port}`;
  }, 300_000);

  afterAll(async () => {
    await sandbox.cleanup();
  }, 120_000);

  test("uploads the generated nginx.conf verbatim: Docker's resolver, re-resolved upstreams in a zone with keepalive", async () => {
    const upload = specs.nginx.uploads!.find((u) => u.file === "/etc/nginx/nginx.conf")!;
    const conf = upload.content!;
    expect(conf).toMatch(/^\s*resolver 127\.0\.0\.11 valid=10s\b/m);
    for (const [name, server] of [
      ["litellm", "litellm:4000"],
      ["open_webui", "open-webui:8080"],
    ]) {
      const block = new RegExp(`upstream ${name} \\{([^}]*)\\}`).exec(conf)?.[1] ?? "";
      expect(block).toMatch(/^\s*zone \S+ \d+k;$/m);
      expect(block).toContain(`server ${server} resolve;`);
      expect(block).toMatch(/^\s*keepalive \d+;$/m);
    }
    const inContainer = await nginx.exec(["cat", "/etc/nginx/nginx.conf"]);
    expect(inContainer.stdout).toBe(conf);
    expect((await nginx.exec(["stat", "-c", "%a %u", "/etc/nginx/nginx.conf"])).stdout.trim()).toBe("644 0");
  }, 30_000);

  test("started before any upstream exists, it turns healthy with its own healthcheck (wget on 127.0.0.1:8079/healthz)", async () => {
    const hc = specs.nginx.healthcheck!;
    expect(hc.tests).toEqual(["CMD", "wget", "-q", "-O", "/dev/null", `http://127.0.0.1:${NGINX_HEALTH_PORT}/healthz`]);
    const info = await nginx.waitHealthy(HEALTHY_WITHIN_MS);
    expect(info.Config.Healthcheck?.Test).toEqual(hc.tests);
    expect(info.RestartCount).toBe(0);
    expect(await nginx.logs(200)).not.toContain("host not found in upstream");
    // It answers; with no upstream yet, the proxied locations say so with 502.
    expect((await get(`${publicUrl}/`)).status).toBe(502);
    expect((await getModels()).status).toBe(502);
  }, 60_000);

  test("publishes the admin listener on 127.0.0.1 only and the public one on the configured bindAddress; the health port not at all", async () => {
    const bindAddress = stackConfig("medium")["ai-gateway:bindAddress"];
    expect(specs.nginx.ports).toEqual([
      expect.objectContaining({ internal: NGINX_PUBLIC_PORT, ip: bindAddress, protocol: "tcp" }),
      expect.objectContaining({ internal: NGINX_ADMIN_PORT, ip: "127.0.0.1", protocol: "tcp" }),
    ]);
    const info = await nginx.inspect();
    // The test maps the spec's host ports (8080, 4001) to free ones; the addresses are the spec's.
    expect(info.HostConfig.PortBindings).toEqual({
      [`${NGINX_PUBLIC_PORT}/tcp`]: [{ HostIp: bindAddress, HostPort: "" }],
      [`${NGINX_ADMIN_PORT}/tcp`]: [{ HostIp: "127.0.0.1", HostPort: "" }],
    });
    expect(Object.keys(info.NetworkSettings.Ports).sort()).toEqual([`${NGINX_PUBLIC_PORT}/tcp`, `${NGINX_ADMIN_PORT}/tcp`].sort());
    expect(info.NetworkSettings.Ports[`${NGINX_ADMIN_PORT}/tcp`]).toEqual([
      { HostIp: "127.0.0.1", HostPort: expect.stringMatching(/^[0-9]+$/) },
    ]);
    expect(info.NetworkSettings.Ports[`${NGINX_PUBLIC_PORT}/tcp`]).toEqual([
      { HostIp: bindAddress, HostPort: expect.stringMatching(/^[0-9]+$/) },
    ]);

    // In effect: the admin port answers on the host's loopback and not on its other addresses.
    const admin = await nginx.hostPort(NGINX_ADMIN_PORT);
    const hostAddress = await networkGateway(testNetwork(target));
    expect(await tcpConnect("127.0.0.1", admin.port)).toBe("connected");
    expect(await tcpConnect(hostAddress, admin.port)).toBe("ECONNREFUSED");
  }, 30_000);

  test("the public port follows bindAddress when it is not loopback", async () => {
    const hostAddress = await networkGateway(testNetwork(target));
    const elsewhere = await stackSpecs("medium", { bindAddress: hostAddress });
    expect(elsewhere.nginx.ports!.find((p) => p.internal === NGINX_PUBLIC_PORT)!.ip).toBe(hostAddress);
    // A port free on every address, so nothing else can answer on 127.0.0.1 at that number.
    const port = await freePort();
    const other = await runNginx(
      { ...target, specs: elsewhere },
      { name: sandbox.name(`${elsewhere.nginx.name}-bind`), hostPorts: { [NGINX_PUBLIC_PORT]: port } },
    );
    const bound = await other.hostPort(NGINX_PUBLIC_PORT);
    expect(bound).toEqual({ ip: hostAddress, port });
    await pollUntil("nginx listening", 15_000, async () =>
      (await tcpConnect(hostAddress, bound.port)) === "connected" ? true : undefined,
    );
    expect(await tcpConnect("127.0.0.1", bound.port)).toBe("ECONNREFUSED");
    await sandbox.remove(other);
  }, 60_000);

  test("reaches LiteLLM and Open WebUI once they start under their aliases", async () => {
    const startedAt = Date.now();
    const [litellmStarted, openWebui] = await Promise.all([runLitellm(target), runOpenWebui(target)]);
    litellm = litellmStarted;
    const litellmHost = (await litellm.inspect()).Config.Hostname;
    const openWebuiHost = (await openWebui.inspect()).Config.Hostname;

    const models = await pollUntil("LiteLLM through nginx", RERESOLVE_WITHIN_MS, async () => {
      const answer = await getModels();
      return answer.status === 200 ? answer : undefined;
    });
    // /api/litellm/v1/models is LiteLLM's /v1/models, which wants a key (nginx passes Authorization on).
    expect(json(models)).toMatchObject({ service: "litellm", hostname: litellmHost, path: "/v1/models", object: "list" });
    expect((await get(`${publicUrl}/api/litellm/v1/models`)).status).toBe(401);

    const page = await pollUntil("Open WebUI through nginx", RERESOLVE_WITHIN_MS, async () => {
      const answer = await get(`${publicUrl}/`);
      return answer.status === 200 ? answer : undefined;
    });
    expect(page.body).toContain(`<b id=hostname>${openWebuiHost}</b>`);
    expect(Date.now() - startedAt).toBeLessThan(RERESOLVE_WITHIN_MS);

    // The rest of LiteLLM's API is not public; the admin listener proxies all of it.
    expect((await get(`${publicUrl}/api/litellm/key/generate`)).status).toBe(403);
    expect(json(await get(`${adminUrl}/ui`))).toMatchObject({ service: "litellm", hostname: litellmHost, path: "/ui" });
  }, 90_000);

  test("follows a replaced LiteLLM container to its new address without a restart", async () => {
    const network = testNetwork(target);
    const oldIp = await litellm.ipOn(network);
    const oldHost = (await litellm.inspect()).Config.Hostname;
    const nginxPid = (await nginx.inspect()).State.Pid;
    expect(json(await getModels()).hostname).toBe(oldHost);

    await stopContainer(litellm.id, 10);
    await sandbox.remove(litellm);
    // Something else takes the freed address first, so the new LiteLLM cannot get the old one back.
    await sandbox.helper("ip-holder", { image: target.image, network });
    const replacement = await runLitellm(target, { name: sandbox.name(`${specs.litellm.name}-2`) });
    const replacedAt = Date.now();
    const newIp = await replacement.ipOn(network);
    const newHost = (await replacement.inspect()).Config.Hostname;
    expect(newIp).not.toBe(oldIp);

    const answers: { ms: number; status: number; hostname: unknown }[] = [];
    await pollUntil(
      "nginx to reach the new LiteLLM",
      RERESOLVE_WITHIN_MS,
      async () => {
        const answer = await getModels();
        answers.push({ ms: Date.now() - replacedAt, status: answer.status, hostname: json(answer).hostname });
        return answer.status === 200 && json(answer).hostname === newHost ? true : undefined;
      },
      500,
    );
    // nginx kept answering HTTP the whole time (at worst 502 while the name pointed nowhere) ...
    expect(answers.filter((a) => a.status === 0)).toEqual([]);
    expect(answers.every((a) => a.status === 200 || a.status === 502 || a.status === 504)).toBe(true);
    // ... and was not restarted to get there: same master process, still healthy.
    const info = await nginx.inspect();
    expect({ pid: info.State.Pid, restarts: info.RestartCount, health: info.State.Health?.Status }).toEqual({
      pid: nginxPid,
      restarts: 0,
      health: "healthy",
    });
    expect(answers[answers.length - 1].ms).toBeLessThan(RERESOLVE_WITHIN_MS);
  }, 90_000);
});
