/**
 * The medium stack, deployed for real: the Pulumi CLI and providers (scripts/pulumi-toolchain.sh)
 * bring it up from nothing on the Docker engine, then show it converged (preview, up and refresh
 * change nothing).
 */
import { pollUntil } from "../helpers/dockerEngine";
import * as fs from "fs";
import * as net from "net";
import * as https from "https";
import * as path from "path";
import { NGINX_TLS_CERTIFICATE_FILE, NGINX_TLS_KEY_FILE } from "../../lib/nginxConf";
import { selfSignedCertificate } from "../fixtures/nginx/selfSignedCert";
import { ROOT } from "../helpers/program";
import { PROFILES } from "../../profiles";
import { envRecord } from "../helpers/envList";
import {
  NGINX_CONFIG_DIR,
  NGINX_CONFIG_FILE,
  NGINX_TEMP_DIR,
  OPEN_WEBUI_SECRET_KEY_FILE,
  POSTGRES_DATA_DIR,
  REDIS_CONFIG_DIR,
} from "../../lib/constants";
import { scramSha256Verifier } from "../../lib/scram";
import { changes, docker, dockerExec, inspect, request, Stack, volumeExists, Workspace } from "./harness";
import {
  allHealthy,
  freshRegistryImages,
  IMAGES,
  names,
  promisedChanges,
  publicChecks,
  readMarkers,
  readmeChangeTable,
  removeLeftovers,
  Service,
  SERVICES,
  servicesOf,
  useLocalImages,
  virtualKeys,
  writeMarkers,
} from "./gateway";
import { describeE2E } from "./requirements";

const TLS_DOMAIN = "gateway.e2e.test";

/**
 * The config volume `container` mounts at `dir`: read-only, named after its files, and mounted
 * read-write only by the container that filled it, which never ran.
 */
async function configVolume(container: string, dir: string): Promise<string> {
  const mounts = (await inspect(container)).Mounts.filter((m: any) => m.Destination === dir);
  expect(mounts).toEqual([
    expect.objectContaining({ Type: "volume", RW: false, Name: expect.stringMatching(new RegExp(`^${container}-config-[0-9a-f]{12}$`)) }),
  ]);
  const users = (await docker(["ps", "-a", "--filter", `volume=${mounts[0].Name}`, "--format", "{{.Names}} {{.State}}"])).stdout;
  expect(users.trim().split("\n").sort()).toEqual([`${container} running`, `${container}-config created`]);
  return mounts[0].Name;
}
const HTTPS_PORT = 8443;

/** A GET over HTTPS to 127.0.0.1 with the gateway's domain as SNI and Host. */
function httpsGet(
  port: number,
  urlPath: string,
): Promise<{ status: number; headers: Record<string, unknown>; subject: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get(
      {
        host: "127.0.0.1",
        port,
        path: urlPath,
        servername: TLS_DOMAIN,
        headers: { Host: TLS_DOMAIN },
        rejectUnauthorized: false,
        timeout: 10_000,
      },
      (res) => {
        const subject = String((res.socket as import("tls").TLSSocket).getPeerCertificate().subject.CN);
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, subject, body: Buffer.concat(chunks).toString() }),
        );
      },
    );
    req.on("error", reject);
  });
}

describeE2E("medium stack: pulumi up from nothing, then converged", () => {
  const workspace = new Workspace("converge");
  const stack: Stack = workspace.stack("medium");
  const n = names("medium");
  let outputs: Record<string, any>;

  beforeAll(async () => {
    await removeLeftovers("medium", { volumes: true });
    await freshRegistryImages();
    await stack.init();
    await useLocalImages(stack);
  });

  afterAll(async () => {
    await stack.destroy({ allowFailure: true });
    await removeLeftovers("medium", { volumes: true });
    workspace.remove();
  });

  test("pulumi up pulls the images from the registry, creates every resource, and every container turns healthy", async () => {
    for (const image of Object.values(IMAGES)) {
      expect([image, (await docker(["image", "inspect", image], { allowFailure: true })).code]).toEqual([image, 1]);
    }
    const { steps } = await stack.up();
    expect(steps.length).toBeGreaterThan(0);
    expect(steps.filter((s) => s.op !== "create")).toEqual([]);
    for (const image of Object.values(IMAGES)) {
      const pulled = JSON.parse((await docker(["image", "inspect", image])).stdout)[0];
      expect(pulled.RepoDigests.some((d: string) => d.startsWith(image.replace(/:[^:/]+$/, "@sha256:")))).toBe(true);
    }
    expect(await allHealthy("medium")).toEqual({
      postgres: "healthy",
      litellm: "healthy",
      "open-webui": "healthy",
      nginx: "healthy",
      redis: "healthy",
    });
    outputs = await stack.outputs();
  });

  test("through nginx: Open WebUI on /, the API takes each virtual key and refuses a missing or wrong one, management is refused", async () => {
    const keys = virtualKeys(outputs);
    expect(Object.keys(keys).sort()).toEqual(["agents", "open-webui"]);
    const checks = await publicChecks("http://127.0.0.1:8080", keys);
    // The stand-in names its container's host name: nginx reached this stack's Open WebUI.
    expect(checks.openWebui.body).toContain((await inspect(n.container("open-webui"))).Config.Hostname);
    expect(checks.withKey).toEqual({ agents: 200, "open-webui": 200 });
    expect(checks.missingKey).toBe(401);
    expect(checks.wrongKey).toBe(401);
    expect(checks.management).toBe(403);
  });

  test("Redis: refuses clients without the password, and LiteLLM's workers reach it with theirs across the private network", async () => {
    const redis = n.container("redis");
    const info = await inspect(redis);
    // Published nowhere (on an internal network only, Docker lists no port for it at all).
    expect(Object.values(info.NetworkSettings.Ports ?? {}).filter((binding) => binding !== null)).toEqual([]);
    expect(info.HostConfig.PortBindings ?? {}).toEqual({});
    expect(info.Config.Cmd).toEqual(["redis-server", "/usr/local/etc/redis/redis.conf"]);
    expect(info.Config.Env.join("\n")).not.toMatch(/PASSWORD|REDISCLI_AUTH/);
    expect((await dockerExec(redis, ["redis-cli", "ping"])).trim()).toMatch(/^NOAUTH/);
    // LiteLLM's own environment and config.yaml (host, port, os.environ/ password), used from the
    // LiteLLM container by the redis client LiteLLM itself uses (redis-py).
    const script = [
      "import os, yaml, redis",
      "block = yaml.safe_load(open('/app/config.yaml'))['general_settings']['coordination_redis']",
      "password = os.environ[block['password'][len('os.environ/'):]]",
      "client = redis.Redis(host=block['host'], port=block['port'], password=password)",
      "print(client.ping(), client.config_get('maxmemory')['maxmemory'])",
    ].join("\n");
    const answer = (await dockerExec(n.container("litellm"), ["python3", "-c", script])).trim();
    expect(answer).toBe(`True ${(outputs.effectiveProfile.memoryMb.redis / 2) * 1024 * 1024}`);
  });

  test("the admin listener answers on 127.0.0.1 only", async () => {
    const nginx = await inspect(n.container("nginx"));
    const bindings: Record<string, { HostIp: string; HostPort: string }[]> = nginx.HostConfig.PortBindings;
    const admin = Object.values(bindings)
      .flat()
      .filter((b) => b.HostPort === "4001");
    expect(admin).toEqual([{ HostIp: "127.0.0.1", HostPort: "4001" }]);
    const answer = await request("http://127.0.0.1:4001/key/info?key=x", {
      headers: { Authorization: `Bearer ${outputs.litellmMasterKey}` },
    });
    expect(answer.status).toBe(404);
    // Not on any other address of this host.
    const addresses = (await docker(["network", "inspect", "bridge", "--format", "{{(index .IPAM.Config 0).Gateway}}"])).stdout.trim();
    await expect(request(`http://${addresses}:4001/`)).rejects.toThrow(/ECONNREFUSED|did not answer/);
  });

  test("each container keeps only the capabilities its image needs, as the user it needs, with its CPU weight", async () => {
    const expected: Record<string, { capEff: string; uid: string; shares: number }> = {
      postgres: { capEff: "0000000000000000", uid: "999", shares: 1024 },
      redis: { capEff: "0000000000000000", uid: "999", shares: 1024 },
      litellm: { capEff: "0000000000000000", uid: "65532", shares: 2048 },
      "open-webui": { capEff: "0000000000000000", uid: "0", shares: 512 },
      // CHOWN, SETGID, SETUID: nginx's master re-owns its temp directories and starts its workers as user nginx.
      nginx: { capEff: "00000000000000c1", uid: "0", shares: 2048 },
    };
    for (const service of SERVICES) {
      const status = await dockerExec(n.container(service), ["cat", "/proc/1/status"]);
      const field = (name: string) => status.match(new RegExp(`^${name}:\\s+(\\S+)`, "m"))?.[1];
      const info = await inspect(n.container(service));
      expect([service, field("CapEff"), field("CapBnd"), field("Uid"), field("NoNewPrivs"), info.HostConfig.CpuShares]).toEqual([
        service,
        expected[service].capEff,
        expected[service].capEff,
        expected[service].uid,
        "1",
        expected[service].shares,
      ]);
    }
    // Pids limits from the profile, set by the pids-limit steps, and enforced: threads stop short of nginx's 64.
    const profile = PROFILES.medium;
    const pidsLimits = {
      postgres: profile.postgres.pidsLimit,
      redis: profile.redis!.pidsLimit,
      litellm: profile.litellm.pidsLimit,
      "open-webui": profile.openWebui.pidsLimit,
      nginx: profile.nginx.pidsLimit,
    };
    for (const service of SERVICES) {
      expect([service, (await inspect(n.container(service))).HostConfig.PidsLimit]).toEqual([service, pidsLimits[service]]);
    }
    const threads = await dockerExec(n.container("nginx"), [
      "python3",
      "-c",
      "import threading, time\nn = 0\ntry:\n    while n < 1000:\n        threading.Thread(target=time.sleep, args=(10,), daemon=True).start()\n        n += 1\nexcept RuntimeError:\n    pass\nprint(n)",
    ]);
    expect(Number(threads.trim())).toBeGreaterThan(0);
    expect(Number(threads.trim())).toBeLessThan(64);
    // nginx's workers run as user nginx, with nothing.
    const workers = await dockerExec(n.container("nginx"), [
      "sh",
      "-c",
      'for p in /proc/[0-9]*; do if grep -q "^PPid:[[:space:]]*1$" $p/status; then grep -E "^(Uid|CapEff):" $p/status; fi; done',
    ]);
    expect(workers).toMatch(/^CapEff:\s+0{16}$/m);
    expect(workers).not.toMatch(/^Uid:\s+0\s/m);
  });

  test("nginx, PostgreSQL and Redis run on a read-only root: writes fail but in their tmpfs and volumes; nginx's and Redis's files are on a read-only config volume", async () => {
    const readOnly: Record<Service, { tmpfs: string[]; writable?: string[]; configDir?: string }> = {
      postgres: { tmpfs: ["/tmp", "/var/run/postgresql"], writable: [POSTGRES_DATA_DIR] },
      redis: { tmpfs: ["/tmp"], writable: ["/data"], configDir: REDIS_CONFIG_DIR },
      nginx: { tmpfs: ["/run", "/tmp", NGINX_TEMP_DIR], configDir: NGINX_CONFIG_DIR },
      // LiteLLM's prisma writes into its site-packages, Open WebUI copies its static files into /app.
      litellm: { tmpfs: [] },
      "open-webui": { tmpfs: [] },
    };
    for (const service of SERVICES) {
      const container = n.container(service);
      const info = await inspect(container);
      const expected = readOnly[service];
      const isReadOnly = expected.tmpfs.length > 0;
      expect([service, info.HostConfig.ReadonlyRootfs, Object.keys(info.HostConfig.Tmpfs ?? {}).sort()]).toEqual([
        service,
        isReadOnly,
        expected.tmpfs,
      ]);
      if (!isReadOnly) {
        continue;
      }
      // As the container's user: root in nginx, which only the read-only mount stops.
      const write = await docker(["exec", container, "touch", "/ai-gateway-probe"], { allowFailure: true });
      expect([service, write.code, write.stderr]).toEqual([service, 1, expect.stringContaining("Read-only file system")]);
      for (const dir of [...expected.tmpfs, ...(expected.writable ?? [])]) {
        const probe = await docker(["exec", container, "sh", "-c", `touch ${dir}/ai-gateway-probe && rm ${dir}/ai-gateway-probe`], {
          allowFailure: true,
        });
        expect([service, dir, probe.code, probe.stderr]).toEqual([service, dir, 0, ""]);
      }
      if (expected.configDir !== undefined) {
        await configVolume(container, expected.configDir);
        // Read-only for the service too: root in nginx cannot rewrite its own config.
        const rewrite = await docker(["exec", container, "sh", "-c", `echo x >> ${expected.configDir}/probe`], { allowFailure: true });
        expect([service, rewrite.code, rewrite.stderr]).toEqual([
          service,
          expect.any(Number),
          expect.stringContaining("Read-only file system"),
        ]);
      }
    }
    // nginx writes its temp files where the tmpfs is, not where its build would (Debian: /var/lib/nginx).
    expect((await dockerExec(n.container("nginx"), ["ls", NGINX_TEMP_DIR])).trim().split("\n")).toEqual([
      "client_body",
      "fastcgi",
      "proxy",
      "scgi",
      "uwsgi",
    ]);
    expect((await inspect(n.container("nginx"))).Config.Cmd).toEqual(["nginx", "-c", NGINX_CONFIG_FILE, "-g", "daemon off;"]);
  });

  test("secrets out of the environments where the image offers a way: PostgreSQL holds a verifier, Open WebUI's key is a root-only file", async () => {
    const password = decodeURIComponent(new URL(envRecord((await inspect(n.container("litellm"))).Config.Env).DATABASE_URL).password);
    const postgres = await inspect(n.container("postgres"));
    expect(envRecord(postgres.Config.Env).POSTGRES_PASSWORD).toBe(scramSha256Verifier(password));
    expect(postgres.Config.Env.join("\n")).not.toContain(password);
    const openWebui = n.container("open-webui");
    expect((await inspect(openWebui)).Config.Env.filter((e: string) => e.startsWith("WEBUI_SECRET_KEY"))).toEqual([]);
    expect((await dockerExec(openWebui, ["stat", "-c", "%a %u:%g", OPEN_WEBUI_SECRET_KEY_FILE])).trim()).toBe("600 0:0");
    // The settings step signed its admin token with the key from that file (this up ran it).
    const settingsStep = (await stack.exportState()).deployment.resources.find((r: any) => r.type.endsWith(":OpenWebuiSettings"));
    expect(settingsStep.outputs.applied).toBeDefined();
  });

  test("a pids limit changed by hand shows in the next preview, and the next up puts it back", async () => {
    await docker(["update", "--pids-limit", "500", n.container("nginx")]);
    expect(changes(await stack.previewSteps())).toEqual(["update ContainerPidsLimit ai-gateway-nginx-pids"]);
    expect(changes((await stack.up()).steps)).toEqual(["update ContainerPidsLimit ai-gateway-nginx-pids"]);
    expect((await inspect(n.container("nginx"))).HostConfig.PidsLimit).toBe(PROFILES.medium.nginx.pidsLimit);
  });

  test("networks: PostgreSQL and Redis answer LiteLLM only; nginx reaches LiteLLM and Open WebUI; only LiteLLM gets out", async () => {
    // "The internet": a listener on the host's address on Docker's default bridge, outside every network of the stack.
    const outside = (await docker(["network", "inspect", "bridge", "--format", "{{(index .IPAM.Config 0).Gateway}}"])).stdout.trim();
    // The probe closes its connection at once, so writing may meet a reset: not an error here.
    const server = net.createServer((socket) => {
      socket.on("error", () => undefined);
      socket.end("outside\n");
    });
    await new Promise<void>((resolve) => server.listen(0, outside, resolve));
    const outsidePort = (server.address() as net.AddressInfo).port;
    // One TCP connection per target from inside a container: "ok", or why not.
    const probe = [
      "import socket, sys",
      "for target in sys.argv[1:]:",
      "    host, port = target.rsplit(':', 1)",
      "    try:",
      "        socket.create_connection((host, int(port)), timeout=3).close()",
      "        print(target, 'ok')",
      "    except socket.gaierror:",
      "        print(target, 'unresolvable')",
      "    except OSError as e:",
      "        print(target, type(e).__name__)",
    ].join("\n");
    const reach = async (service: (typeof SERVICES)[number]): Promise<Record<string, boolean>> => {
      const targets = ["postgres:5432", "redis:6379", "litellm:4000", "open-webui:8080", `${outside}:${outsidePort}`];
      const lines = (await dockerExec(n.container(service), ["python3", "-c", probe, ...targets])).trim().split("\n");
      return Object.fromEntries(
        lines.map((l) => [l.split(" ")[0] === `${outside}:${outsidePort}` ? "outside" : l.split(":")[0], l.endsWith(" ok")]),
      );
    };
    try {
      expect(await reach("litellm")).toEqual({ postgres: true, redis: true, litellm: true, "open-webui": true, outside: true });
      expect(await reach("open-webui")).toEqual({ postgres: false, redis: false, litellm: true, "open-webui": true, outside: false });
      expect(await reach("postgres")).toEqual({ postgres: true, redis: true, litellm: true, "open-webui": false, outside: false });
      expect(await reach("redis")).toEqual({ postgres: true, redis: true, litellm: true, "open-webui": false, outside: false });
      // nginx's edge network has a gateway (Docker publishes ports only from such a network) but no
      // NAT: the host's own addresses stay reachable through it, the internet does not (README).
      const nginx = await reach("nginx");
      expect({ ...nginx, outside: undefined }).toEqual({
        postgres: false,
        redis: false,
        litellm: true,
        "open-webui": true,
        outside: undefined,
      });
      const edge = JSON.parse((await docker(["network", "inspect", `${n.prefix}-edge`])).stdout)[0];
      expect(edge.Options).toEqual({ "com.docker.network.bridge.enable_ip_masquerade": "false" });
      expect(edge.Internal).toBe(false);
    } finally {
      server.close();
    }
  });

  test("converged: preview plans nothing, a second up changes nothing, refresh finds nothing", async () => {
    await stack.expectNoChanges();
    const { steps } = await stack.up();
    expect(changes(steps)).toEqual([]);
    await stack.refresh(["--expect-no-changes"]);
    await stack.expectNoChanges();
  });

  describe("each change changes exactly what the README says, keeps the data, and converges", () => {
    const table = readmeChangeTable(fs.readFileSync(path.join(ROOT, "README.md"), "utf8"));
    const admin = (pathAndQuery: string, init: { method?: string; body?: string } = {}) =>
      request(`http://127.0.0.1:4001${pathAndQuery}`, { ...init, headers: { Authorization: `Bearer ${outputs.litellmMasterKey}` } });
    const bumpedNginx = IMAGES.nginxImage.replace(/:[^:/]+$/, ":1.30.6-alpine");

    beforeAll(async () => {
      await writeMarkers("medium", "before-changes");
      // A new pin must be a different image: the same image under a new tag would not change the container.
      const base = (await docker(["create", IMAGES.nginxImage])).stdout.trim();
      await docker(["commit", "--change", "LABEL ai-gateway.e2e=bumped", base, bumpedNginx]);
      await docker(["rm", base]);
      await docker(["push", bumpedNginx]);
      await docker(["image", "rm", bumpedNginx]);
    });

    /** Makes a change, checks the planned steps against the README row, applies it, and checks convergence and data. */
    async function change(
      row: string,
      marker: string,
      configure: () => Promise<void>,
      subject?: Parameters<typeof promisedChanges>[1],
    ): Promise<void> {
      expect(table).toHaveProperty([row]);
      await configure();
      const planned = changes(await stack.previewSteps());
      expect(planned).toEqual(promisedChanges(table[row], subject));
      const { steps } = await stack.up();
      expect(changes(steps)).toEqual(planned);
      await stack.expectNoChanges();
      await allHealthy("medium");
      const kept = await readMarkers("medium");
      expect(kept.postgres).toContain("before-changes");
      expect(kept.openWebui).toContain("before-changes");
      await writeMarkers("medium", marker);
      outputs = await stack.outputs();
    }

    test("profile medium -> large: LiteLLM runs 6 workers with the large limits", async () => {
      await change("`profile` between medium and large", "large", () => stack.set("profile", "large"));
      const litellm = await inspect(n.container("litellm"));
      expect(litellm.Config.Cmd).toEqual(expect.arrayContaining(["--num_workers", "6"]));
      expect(litellm.HostConfig.Memory).toBe(outputs.effectiveProfile.memoryMb.litellm * 1024 * 1024);
      expect(outputs.effectiveProfile.name).toBe("large");
    });

    test("profile large -> small: one worker, and Redis goes", async () => {
      await change("`profile` to small", "small", () => stack.set("profile", "small"));
      expect((await inspect(n.container("open-webui"))).HostConfig.Memory).toBe(outputs.effectiveProfile.memoryMb.openWebui * 1024 * 1024);
      expect(await servicesOf("medium")).not.toContain("redis");
      expect(await dockerExec(n.container("litellm"), ["cat", "/app/config.yaml"])).not.toContain("coordination_redis");
    });

    test("profile small -> medium: Redis comes back, with the same password", async () => {
      await change("`profile` from small", "back-to-medium", () => stack.set("profile", "medium"));
      expect(await servicesOf("medium")).toContain("redis");
      const env: string[] = (await inspect(n.container("litellm"))).Config.Env;
      const password = env.find((e) => e.startsWith("REDIS_PASSWORD="))!.slice("REDIS_PASSWORD=".length);
      const conf = await dockerExec(n.container("redis"), ["cat", "/usr/local/etc/redis/redis.conf"]);
      expect(conf).toMatch(new RegExp(`^requirepass ${password}$`, "m"));
    });

    test("budget test -> prod: the keys' budgets follow, the LiteLLM config says $200", async () => {
      await change("`budget`", "budget", () => stack.set("budget", "prod"));
      const info = JSON.parse((await admin(`/key/info?key=${outputs.apiKeys.agents}`)).body).info;
      expect(info.max_budget).toBe(200);
      expect(await dockerExec(n.container("litellm"), ["cat", "/app/config.yaml"])).toMatch(/max_budget: 200\b/);
    });

    test("adding an apiKeys consumer creates its key, which the API then accepts", async () => {
      await change(
        "add an `apiKeys` entry",
        "add-key",
        async () => {
          await stack.set("apiKeys[0].name", "agents", { path: true });
          await stack.set("apiKeys[1].name", "ci", { path: true });
          await stack.set("apiKeys[1].maxBudget", "5", { path: true });
        },
        { consumer: "ci" },
      );
      expect(Object.keys(outputs.apiKeys).sort()).toEqual(["agents", "ci"]);
      expect((await publicChecks("http://127.0.0.1:8080", { ci: outputs.apiKeys.ci })).withKey.ci).toBe(200);
      expect(JSON.parse((await admin(`/key/info?key=${outputs.apiKeys.ci}`)).body).info.max_budget).toBe(5);
    });

    test("removing it deletes its key: the API refuses it", async () => {
      const removedKey = outputs.apiKeys.ci;
      await change("remove an `apiKeys` entry", "remove-key", () => stack.unset("apiKeys[1]", { path: true }), { consumer: "ci" });
      expect(Object.keys(outputs.apiKeys)).toEqual(["agents"]);
      expect(
        (await request("http://127.0.0.1:8080/api/litellm/v1/models", { headers: { Authorization: `Bearer ${removedKey}` } })).status,
      ).toBe(401);
      // LiteLLM archives deleted keys: /key/info still answers, marked deleted.
      const info = await admin(`/key/info?key=${removedKey}`);
      expect({ status: info.status, keyStatus: JSON.parse(info.body).info?.status }).toEqual({ status: 200, keyStatus: "deleted" });
    });

    test("an image pin bump replaces that image and its container only", async () => {
      await change("an image pin, e.g. `nginxImage`", "image", () => stack.set("nginxImage", bumpedNginx), { service: "nginx" });
      expect((await inspect(n.container("nginx"))).Config.Labels["ai-gateway.e2e"]).toBe("bumped");
    });

    test("httpPort 8080 -> 8090: the gateway answers on the new port only", async () => {
      await change("`httpPort`", "port", () => stack.set("httpPort", "8090"));
      expect(outputs.openWebuiUrl).toBe("http://127.0.0.1:8090/");
      expect((await publicChecks("http://127.0.0.1:8090", virtualKeys(outputs))).withKey).toEqual({ agents: 200, "open-webui": 200 });
      await expect(request("http://127.0.0.1:8080/")).rejects.toThrow(/ECONNREFUSED/);
    });

    /** A line of the TLS key's base64 body, and the config volume it was uploaded into. */
    let tlsKeyLine = "";
    let tlsConfigVolume = "";

    test("tls on: HTTPS with the stack's certificate and HSTS, plain HTTP redirects, the key file is root's only", async () => {
      const certificate = selfSignedCertificate([TLS_DOMAIN]);
      tlsKeyLine = certificate.key.split("\n")[1];
      expect(tlsKeyLine).toMatch(/^[A-Za-z0-9+/=]{40,}$/);
      await change("`tls` on or off (with `domain`, certificate, key)", "tls-on", async () => {
        await stack.set("tls", "true");
        await stack.set("domain", TLS_DOMAIN);
        await stack.set("httpsPort", String(HTTPS_PORT));
        await stack.set("tlsCertificate", certificate.cert, { secret: true });
        await stack.set("tlsKey", certificate.key, { secret: true });
      });
      expect(outputs.openWebuiUrl).toBe(`https://${TLS_DOMAIN}:${HTTPS_PORT}/`);
      const page = await pollUntil("HTTPS", 60_000, async () => {
        const answer = await httpsGet(HTTPS_PORT, "/");
        return answer.status === 200 ? answer : undefined;
      });
      expect(page.subject).toBe(TLS_DOMAIN);
      expect(String(page.headers["strict-transport-security"])).toMatch(/max-age=\d{8}/);
      const redirect = await request("http://127.0.0.1:8090/some/page", { headers: { Host: TLS_DOMAIN } });
      expect([301, 308]).toContain(redirect.status);
      expect(redirect.headers.location).toBe(`https://${TLS_DOMAIN}:${HTTPS_PORT}/some/page`);
      const modes = await dockerExec(n.container("nginx"), ["stat", "-c", "%n %a %u", NGINX_TLS_CERTIFICATE_FILE, NGINX_TLS_KEY_FILE]);
      expect(modes.trim().split("\n")).toEqual([`${NGINX_TLS_CERTIFICATE_FILE} 644 0`, `${NGINX_TLS_KEY_FILE} 600 0`]);
      tlsConfigVolume = await configVolume(n.container("nginx"), NGINX_CONFIG_DIR);
    });

    test("tls off: plain HTTP again", async () => {
      await change("`tls` on or off (with `domain`, certificate, key)", "tls-off", async () => {
        await stack.set("tls", "false");
        for (const key of ["domain", "httpsPort", "tlsCertificate", "tlsKey"]) {
          await stack.unset(key);
        }
      });
      expect(outputs.openWebuiUrl).toBe("http://127.0.0.1:8090/");
      expect((await request("http://127.0.0.1:8090/")).status).toBe(200);
      await expect(httpsGet(HTTPS_PORT, "/")).rejects.toThrow(/ECONNREFUSED/);
      // The key went with the container and its config volume: the new container has a new volume
      // holding nginx.conf alone, and no file anywhere in it holds the key.
      expect(tlsKeyLine).not.toBe("");
      expect(await volumeExists(tlsConfigVolume)).toBe(false);
      const nginx = n.container("nginx");
      const current = await configVolume(nginx, NGINX_CONFIG_DIR);
      expect(current).not.toBe(tlsConfigVolume);
      // The old volume is gone from the engine, not only from the stack: nginx's only config volume is the new one.
      expect((await docker(["volume", "ls", "-q", "--filter", `name=${nginx}-config-`])).stdout.trim().split("\n")).toEqual([current]);
      expect((await dockerExec(nginx, ["ls", "-A", NGINX_CONFIG_DIR])).trim()).toBe("nginx.conf");
      const search = await docker(
        // Privileged: the container's root has no capability to read other users' files (nginx's temp directories).
        ["exec", "--privileged", nginx, "grep", "-rlF", "--exclude-dir=proc", "--exclude-dir=sys", "--exclude-dir=dev", tlsKeyLine, "/"],
        { allowFailure: true },
      );
      expect([search.code, search.stdout]).toEqual([1, ""]);
    });

    test("adminPort 4001 -> 4011 moves the admin listener", async () => {
      await change("`adminPort`", "admin-port", () => stack.set("adminPort", "4011"));
      expect(outputs.adminUiUrl).toBe("http://127.0.0.1:4011/ui");
      expect(
        (await request("http://127.0.0.1:4011/key/info?key=x", { headers: { Authorization: `Bearer ${outputs.litellmMasterKey}` } }))
          .status,
      ).toBe(404);
    });
  });

  test("every container carries the stack's labels and the hardening the README promises", async () => {
    const services = await servicesOf("medium");
    expect(services).toEqual(SERVICES);
    for (const service of services) {
      const info = await inspect(n.container(service));
      expect(info.Config.Labels["ai-gateway.gateway"]).toBe(n.prefix);
      expect(info.HostConfig.RestartPolicy.Name).toBe("unless-stopped");
      expect(info.HostConfig.SecurityOpt).toEqual(["no-new-privileges=true"]);
      expect(info.HostConfig.Memory).toBe(info.HostConfig.MemorySwap);
      expect(info.HostConfig.LogConfig).toEqual({ Type: "json-file", Config: { "max-file": "3", "max-size": "10m" } });
    }
  });
});
