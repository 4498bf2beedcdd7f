/**
 * Runs the real index.ts with each stack file's config under Pulumi mocks and checks the resource
 * graph the engine would receive.
 */
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { DEFAULTS } from "../../lib/settings";
import { scramSha256Verifier } from "../../lib/scram";
import { waitTimeoutSeconds } from "../../lib/healthchecks";
import { litellmHealthcheck, nginxHealthcheck, openWebuiHealthcheck, postgresHealthcheck, redisHealthcheck } from "../../lib/services";
import { BUDGETS, PROFILES, ProfileName, totalMemoryMb } from "../../profiles";
import { envRecord } from "../helpers/envList";
import { filesOf, find, plainOccurrences, ProgramRun, RecordedResource, ROOT, runProgram, stackConfig, TYPES } from "../helpers/program";
import { configVolumeName } from "../../lib/containerSecurity";

const GO_DURATION = /^(\d+h)?(\d+m)?\d+s$|^\d+ms$/;
const SERVICES = ["postgres", "litellm", "open-webui", "nginx"] as const;
type Service = (typeof SERVICES)[number] | "redis";
/** Written out rather than computed, so a change to lib/containerSecurity.ts has to change this too. */
const NETWORKS_OF: Record<Service, string[]> = {
  postgres: ["backend"],
  redis: ["backend"],
  litellm: ["backend", "frontend", "egress"],
  "open-webui": ["frontend"],
  nginx: ["frontend", "edge"],
};

function envMap(container: RecordedResource): Record<string, string> {
  return envRecord(container.inputs.envs as string[]);
}

/** URNs a resource waits for, directly or through the resources it waits for. */
function waitsFor(run: ProgramRun, resource: RecordedResource): Set<string> {
  const byUrn = new Map(run.resources.map((r) => [r.urn, r]));
  const seen = new Set<string>();
  const stack = [resource];
  while (stack.length > 0) {
    const r = stack.pop()!;
    const next = [...r.dependencies, ...Object.values(r.propertyDependencies).flat()];
    for (const urn of next) {
      if (!seen.has(urn)) {
        seen.add(urn);
        const dep = byUrn.get(urn);
        if (dep) {
          stack.push(dep);
        }
      }
    }
  }
  return seen;
}

describe.each(["small", "medium", "large"] as ProfileName[])("stack %s", (stack) => {
  let run: ProgramRun;
  const profile = PROFILES[stack];
  const prefix = `ai-gateway-${stack}`;
  const container = (service: Service) => find(run, TYPES.container, `-${service}`);
  // Redis runs exactly when LiteLLM has more than one worker (medium and large).
  const withRedis = profile.litellm.workers > 1;
  const services: readonly Service[] = withRedis ? [...SERVICES, "redis"] : SERVICES;

  beforeAll(async () => {
    run = await runProgram({ stack });
    if (run.error) {
      throw run.error;
    }
  });

  test("registers exactly the gateway's resources", () => {
    const count = (type: string) => run.resources.filter((r) => r.type === type).length;
    const containers = services.length;
    // nginx and Redis (read-only roots) each have a config volume and the container that fills it.
    const configVolumes = withRedis ? 2 : 1;
    // The two backup containers (components/backups.ts), each with its image, config volume and
    // filling container, and the backups volume: tests/program/backups.test.ts.
    const backupResources = 9;
    expect(count(TYPES.container)).toBe(containers + configVolumes + 4);
    expect(count(TYPES.image)).toBe(containers + 2);
    expect(count(TYPES.volume)).toBe(2 + configVolumes + 3);
    expect(count(TYPES.network)).toBe(4);
    expect(count(TYPES.dockerProvider)).toBe(1);
    // Seven gateway secrets (Redis's too, on every profile), and a virtual key each for Open WebUI
    // and the default "agents" consumer.
    expect(count(TYPES.password)).toBe(9);
    expect(count(TYPES.keyRegistration)).toBe(1);
    expect(count(TYPES.openWebuiSettings)).toBe(1);
    expect(count(TYPES.pidsLimit)).toBe(containers + 2);
    expect(count(TYPES.postgresDataGuard)).toBe(1);
    expect(count(TYPES.litellmMigration)).toBe(1);
    expect(count(TYPES.preUpgradeSnapshot)).toBe(2);
    const components = run.resources.filter((r) => !r.custom).map((r) => r.type);
    const networks = ["PrivateNetwork", "PrivateNetwork", "PrivateNetwork", "PrivateNetwork"];
    const expected = ["Backups", "Gateway", "GatewaySecrets", "Litellm", "Nginx", "OpenWebui", "Postgres", ...networks, "VirtualKeys"];
    expect(components.sort()).toEqual([...expected, ...(withRedis ? ["Redis"] : [])].sort().map((t) => `ai-gateway:index:${t}`));
    // ... and one each: key registration, Open WebUI settings step, PostgreSQL data guard, LiteLLM
    // migration step; two pre-upgrade snapshot steps (LiteLLM's, Open WebUI's).
    expect(run.resources).toHaveLength(
      3 * containers + 2 * configVolumes + 2 + 4 + 1 + 9 + 1 + 1 + 1 + 1 + 2 + backupResources + 2 + components.length,
    );
  });

  test("every resource but the Gateway has a parent inside the Gateway, named from the Gateway's name", () => {
    const gateway = run.resources.find((r) => r.type === "ai-gateway:index:Gateway")!;
    expect(gateway.parent).toBe("");
    const urns = new Set(run.resources.map((r) => r.urn));
    for (const r of run.resources.filter((r) => r !== gateway)) {
      expect(urns.has(r.parent)).toBe(true);
      expect(r.name.startsWith("ai-gateway")).toBe(true);
    }
  });

  test("every Docker resource goes through the one explicit Docker provider for the local socket", () => {
    const provider = run.resources.find((r) => r.type === TYPES.dockerProvider)!;
    expect(provider.inputs.host).toBe("unix:///var/run/docker.sock");
    const dockerResources = run.resources.filter((r) => r.type.startsWith("docker:"));
    // The backups': two containers, two images, two config volumes and their filling containers, the backups volume.
    expect(dockerResources.length).toBe(2 * services.length + 2 * (withRedis ? 2 : 1) + 2 + 4 + 9);
    for (const r of dockerResources) {
      expect(r.provider).toBe(`${provider.urn}::${provider.name}-id`);
    }
  });

  test("PostgreSQL and Redis sit on an internal network, nginx on the frontend and an edge without NAT, only LiteLLM on the egress", () => {
    const network = (role: string) => find(run, TYPES.network, `-${role}-network`).inputs;
    expect(["backend", "frontend", "egress", "edge"].map((role) => network(role).internal)).toEqual([true, true, false, false]);
    expect(network("edge").options).toEqual({ "com.docker.network.bridge.enable_ip_masquerade": "false" });
    expect(network("backend").options).toBeUndefined();
    const members = (role: string) =>
      services.filter((s) => container(s).inputs.networksAdvanced.some((n: any) => n.name === `${prefix}-${role}`));
    expect(members("egress")).toEqual(["litellm"]);
    expect(members("edge")).toEqual(["nginx"]);
  });

  test("Docker names are derived from the stack, so stacks coexist on one host", () => {
    expect(services.map((s) => container(s).inputs.name)).toEqual(services.map((s) => `${prefix}-${s}`));
    for (const role of ["backend", "frontend", "egress", "edge"]) {
      expect(find(run, TYPES.network, `-${role}-network`).inputs.name).toBe(`${prefix}-${role}`);
    }
    expect(run.resources.filter((r) => r.type === TYPES.volume).map((r) => r.inputs.name)).toEqual(
      expect.arrayContaining([`${prefix}-postgres-data`, `${prefix}-open-webui-data`]),
    );
  });

  test.each([...SERVICES, "redis"] as const)("%s: hardened, health-gated, log-rotated, memory-limited container", (service) => {
    if (!services.includes(service)) {
      expect(run.resources.filter((r) => r.type === TYPES.container && r.name.endsWith(`-${service}`))).toEqual([]);
      return;
    }
    const c = container(service);
    const i = c.inputs;
    expect(i.restart).toBe("unless-stopped");
    expect(i.logDriver).toBe("json-file");
    expect(i.logOpts).toEqual({ "max-size": "10m", "max-file": "3" });
    expect(i.securityOpts).toEqual(["no-new-privileges=true"]);
    expect(i.memorySwap).toBe(i.memory);
    expect(i.networkMode).toBe("bridge");
    expect(i.networksAdvanced).toEqual(NETWORKS_OF[service].map((role) => ({ name: `${prefix}-${role}`, aliases: [service] })));
    expect(i.capabilities.drops).toEqual(["ALL"]);
    expect(i.capabilities.adds).toEqual(service === "nginx" ? ["CAP_CHOWN", "CAP_SETGID", "CAP_SETUID"] : undefined);
    expect(i.user).toBe(service === "postgres" || service === "redis" ? "999:999" : undefined);
    expect(i.readOnly).toBe(service === "postgres" || service === "nginx" || service === "redis");
    const pids = run.resources.find((r) => r.type === TYPES.pidsLimit && r.name.endsWith(`-${service}-pids`))!;
    expect(pids.inputs.container).toBe(i.name);
    expect(pids.inputs.pidsLimit).toBe(
      { nginx: 64, redis: 64, postgres: 256, "open-webui": 1024, litellm: 256 + 128 * profile.litellm.workers }[service],
    );
    expect(pids.inputs.dockerHost).toBe("unix:///var/run/docker.sock");
    expect(i.cpuShares).toBe({ nginx: 2048, litellm: 2048, postgres: 1024, redis: 1024, "open-webui": 512 }[service]);
    expect(i.entrypoints).toBeUndefined();
    expect(i.wait).toBe(true);
    for (const field of ["interval", "timeout", "startPeriod"]) {
      expect(i.healthcheck[field]).toMatch(GO_DURATION);
    }
    expect(i.healthcheck.retries).toBeGreaterThan(0);
    expect(c.options.deleteBeforeReplace).toBe(true);
    expect(c.options.replaceOnChanges).toEqual(["healthcheck", "#initerror"]);
  });

  test.each([
    ["postgres", () => postgresHealthcheck(), () => profile.postgres.memoryMb],
    ["litellm", () => litellmHealthcheck(), () => profile.litellm.memoryMb],
    ["open-webui", () => openWebuiHealthcheck(), () => profile.openWebui.memoryMb],
    ["nginx", () => nginxHealthcheck(), () => profile.nginx.memoryMb],
  ] as const)("%s: memory from the profile, and a wait long enough for the healthcheck to settle", (service, spec, memory) => {
    const i = container(service).inputs;
    expect(i.memory).toBe(memory());
    const h = spec();
    expect(i.healthcheck.tests).toEqual(h.test);
    expect(i.waitTimeout).toBe(waitTimeoutSeconds(h));
    expect(i.waitTimeout).toBeGreaterThan(h.startPeriodSeconds + h.retries * (h.intervalSeconds + h.timeoutSeconds));
  });

  test.each([
    ["postgres", DEFAULTS.images.postgres],
    ["litellm", DEFAULTS.images.litellm],
    ["open-webui", DEFAULTS.images.openWebui],
    ["nginx", DEFAULTS.images.nginx],
  ] as const)("%s: pinned image pulled with keepLocally and referenced by its id", (service, ref) => {
    const image = find(run, TYPES.image, `-${service}-image`);
    expect(image.inputs).toEqual({ name: ref, keepLocally: true });
    // A version tag; Docker Hub's images also carry the digest that tag pointed at.
    expect(ref).toMatch(/:v?\d+\.\d+(\.\d+)?(-[a-z0-9.]+)?(@sha256:[0-9a-f]{64})?$/);
    expect(ref.includes("@sha256:")).toBe(!ref.startsWith("ghcr.io/"));
    expect(container(service).inputs.image).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(container(service).dependencies).toContain(image.urn);
  });

  test("only nginx publishes host ports: the public one on bindAddress, the admin one on 127.0.0.1", () => {
    for (const s of services.filter((s) => s !== "nginx")) {
      expect(container(s).inputs.ports).toBeUndefined();
    }
    const stackFile = parse(require("fs").readFileSync(`${__dirname}/../../Pulumi.${stack}.yaml`, "utf8")).config;
    expect(container("nginx").inputs.ports).toEqual([
      { internal: 8080, external: stackFile["ai-gateway:httpPort"], ip: "127.0.0.1", protocol: "tcp" },
      { internal: 8081, external: stackFile["ai-gateway:adminPort"], ip: "127.0.0.1", protocol: "tcp" },
    ]);
  });

  test("read-only nginx and Redis get their files on a config volume, filled by a container that never starts", () => {
    for (const service of ["nginx", "redis"] as const) {
      if (service === "redis" && profile.redis === undefined) {
        continue;
      }
      const c = container(service);
      const filler = find(run, TYPES.container, `${c.name}-config`);
      const volume = find(run, TYPES.volume, `${c.name}-config`);
      const configDir = service === "nginx" ? "/etc/nginx/ai-gateway" : "/usr/local/etc/redis";
      // The volume is named after the files it holds, and the service mounts it read-only.
      expect(volume.inputs.name).toBe(configVolumeName(c.inputs.name, filler.inputs.uploads));
      expect(c.inputs.uploads).toBeUndefined();
      expect(c.inputs.volumes.filter((v: any) => v.containerPath === configDir)).toEqual([
        { volumeName: volume.inputs.name, containerPath: configDir, readOnly: true },
      ]);
      // ... once the filler exists: the mount's value comes through it.
      expect(c.propertyDependencies.volumes).toEqual(expect.arrayContaining([filler.urn, volume.urn]));
      expect(filler.inputs).toEqual(
        expect.objectContaining({
          name: `${c.inputs.name}-config`,
          image: c.inputs.image,
          start: false,
          mustRun: false,
          restart: "no",
          networkMode: "none",
          volumes: [{ volumeName: volume.inputs.name, containerPath: configDir }],
        }),
      );
      expect(filler.inputs.ports).toBeUndefined();
      // The stack's labels, so cleanup by label finds them, but not the service's.
      for (const r of [filler, volume]) {
        const labels = Object.fromEntries(r.inputs.labels.map((l: any) => [l.label, l.value]));
        expect(labels).toEqual(
          expect.objectContaining({ "ai-gateway.gateway": expect.any(String), "ai-gateway.config-of": c.inputs.name }),
        );
        expect(labels["ai-gateway.service"]).toBeUndefined();
      }
      expect(filler.inputs.uploads.every((u: any) => u.file.startsWith(`${configDir}/`))).toBe(true);
      expect(filler.options.deleteBeforeReplace).toBe(true);
      expect(volume.options.retainOnDelete).toBe(false);
    }
  });

  test("PostgreSQL: data volume at exactly PGDATA, TCP healthcheck, tuning from the profile, slow stop", () => {
    const pg = container("postgres");
    const volume = find(run, TYPES.volume, "-postgres-data");
    expect(pg.inputs.volumes).toEqual([{ volumeName: volume.inputs.name, containerPath: "/var/lib/postgresql/data" }]);
    expect(pg.inputs.healthcheck.tests.join(" ")).toContain("pg_isready -h 127.0.0.1 -p 5432");
    const t = profile.postgres.tuning;
    // The image's entrypoint runs the start script (given to sh -c: the root is read-only, so
    // nothing is uploaded), which runs the server with the profile's flags.
    expect(pg.inputs.uploads).toBeUndefined();
    expect(pg.inputs.readOnly).toBe(true);
    expect(pg.inputs.tmpfs).toEqual({ "/var/run/postgresql": "size=1m", "/tmp": "size=1m" });
    expect(pg.inputs.command).toEqual([
      "sh",
      "-c",
      fs.readFileSync(path.join(ROOT, "runtime", "postgres-start.sh"), "utf8"),
      "ai-gateway-postgres-start",
      "postgres",
      "-c",
      `max_connections=${t.maxConnections}`,
      "-c",
      `shared_buffers=${t.sharedBuffersMb}MB`,
      "-c",
      `effective_cache_size=${t.effectiveCacheSizeMb}MB`,
      "-c",
      `work_mem=${t.workMemMb}MB`,
      "-c",
      `maintenance_work_mem=${t.maintenanceWorkMemMb}MB`,
    ]);
    expect(t.maxConnections).toBeGreaterThanOrEqual(profile.litellm.workers * 10 + 20);
    expect(pg.inputs.shmSize).toBe(profile.postgres.shmSizeMb);
    expect(pg.inputs.stopTimeout).toBeGreaterThanOrEqual(30);
    expect(pg.inputs.destroyGraceSeconds).toBe(pg.inputs.stopTimeout);
    const env = envMap(pg);
    expect(env.POSTGRES_USER).toBe("litellm");
    expect(env.POSTGRES_DB).toBe("litellm");
    // The password's SCRAM verifier, never the password (that is in LiteLLM's DATABASE_URL only).
    const password = /^postgresql:\/\/litellm:([A-Za-z0-9]{32})@/.exec(envMap(container("litellm")).DATABASE_URL)![1];
    expect(env.POSTGRES_PASSWORD).toBe(scramSha256Verifier(password));
    expect(Object.values(env).join("\n")).not.toContain(password);
  });

  test("LiteLLM: args only, a single config file, generated keys, and it waits for a healthy PostgreSQL", () => {
    const l = container("litellm");
    // Several workers are recycled with jitter; one worker never (its process would end).
    const recycling =
      profile.litellm.workers > 1 ? ["--max_requests_before_restart", "10000", "--max_requests_before_restart_jitter", "2000"] : [];
    expect(l.inputs.command).toEqual([
      "--config",
      "/app/config.yaml",
      "--port",
      "4000",
      "--num_workers",
      String(profile.litellm.workers),
      ...recycling,
    ]);
    expect(l.inputs.volumes).toBeUndefined();
    expect(l.inputs.uploads).toHaveLength(1);
    const upload = l.inputs.uploads[0];
    expect(upload.file).toBe("/app/config.yaml");
    expect(upload.permissions).toBe("0644");
    const config = parse(upload.content);
    expect(config.litellm_settings.max_budget).toBe(BUDGETS[stack === "large" ? "prod" : "test"].maxBudgetUsd);
    expect(config.litellm_settings.budget_duration).toBe("30d");
    const env = envMap(l);
    expect(env.LITELLM_MASTER_KEY).toMatch(/^sk-[A-Za-z0-9]{48}$/);
    expect(env.LITELLM_SALT_KEY).toMatch(/^sk-[A-Za-z0-9]{48}$/);
    expect(env.LITELLM_SALT_KEY).not.toBe(env.LITELLM_MASTER_KEY);
    expect(env.DATABASE_URL).toMatch(/^postgresql:\/\/litellm:[A-Za-z0-9]{32}@postgres:5432\/litellm$/);
    expect(env.STORE_MODEL_IN_DB).toBe("True");
    expect(env.LITELLM_MODE).toBe("PRODUCTION");
    expect(env.UI_USERNAME).toBe("admin");
    expect(env.UI_PASSWORD).toMatch(/^[A-Za-z0-9]{24}$/);
    expect(Object.keys(env)).not.toContain("LITELLM_NUM_RETRIES");
    expect(l.inputs.healthcheck.tests.slice(0, 2)).toEqual(["CMD", "python3"]);
    expect(l.inputs.healthcheck.tests[3]).toContain("/health/liveliness");
    expect(l.dependencies).toContain(container("postgres").urn);
  });

  test("Redis exactly when LiteLLM has several workers: password-protected, unpublished, no disk, and LiteLLM waits for it", () => {
    const l = container("litellm");
    const env = envMap(l);
    const config = parse(l.inputs.uploads[0].content);
    if (!withRedis) {
      expect(profile.redis).toBeUndefined();
      expect(config.general_settings.coordination_redis).toBeUndefined();
      expect(env.REDIS_PASSWORD).toBeUndefined();
      // One worker has nothing to share: LiteLLM's "no Redis" banner would only alarm the admin.
      expect(env.LITELLM_DISABLE_NO_REDIS_WARNING).toBe("true");
      return;
    }
    const redis = container("redis");
    const image = find(run, TYPES.image, "-redis-image");
    expect(image.inputs).toEqual({ name: DEFAULTS.images.redis, keepLocally: true });
    expect(redis.inputs.memory).toBe(profile.redis!.memoryMb);
    expect(redis.inputs.ports).toBeUndefined();
    expect(redis.inputs.volumes).toEqual([
      { volumeName: expect.stringMatching(/-redis-config-[0-9a-f]{12}$/), containerPath: "/usr/local/etc/redis", readOnly: true },
    ]);
    expect(redis.inputs.command).toEqual(["redis-server", "/usr/local/etc/redis/redis.conf"]);
    expect(redis.inputs.healthcheck.tests).toEqual(redisHealthcheck().test);
    expect(redis.inputs.waitTimeout).toBe(waitTimeoutSeconds(redisHealthcheck()));
    // The password is in the uploaded config alone (a secret), never in the environment or on the command line.
    expect(redis.inputs.envs).toBeUndefined();
    const files = filesOf(run, redis);
    expect(files).toHaveLength(1);
    const conf: string = files[0].content;
    const password = /^requirepass (\S+)$/m.exec(conf)![1];
    expect(password).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(conf).toContain(`maxmemory ${profile.redis!.maxMemoryMb}mb`);
    expect(find(run, TYPES.container, `${redis.name}-config`).wireInputs.uploads[0].content).toEqual(
      expect.objectContaining({ value: conf }),
    );
    // LiteLLM reads the same password through the block LiteLLM documents as the explicit opt-in.
    expect(config.general_settings.coordination_redis).toEqual({ host: "redis", port: 6379, password: "os.environ/REDIS_PASSWORD" });
    expect(env.REDIS_PASSWORD).toBe(password);
    expect(env.LITELLM_DISABLE_NO_REDIS_WARNING).toBeUndefined();
    expect(l.dependencies).toContain(redis.urn);
    for (const other of ["open-webui", "nginx", "postgres"] as const) {
      expect(waitsFor(run, container(other)).has(redis.urn)).toBe(false);
    }
  });

  test("Open WebUI: its own virtual key (never the master key), fixed secret key, no Ollama, no open signup", () => {
    const env = envMap(container("open-webui"));
    const master = envMap(container("litellm")).LITELLM_MASTER_KEY;
    expect(env.OPENAI_API_BASE_URL).toBe("http://litellm:4000/v1");
    expect(env.OPENAI_API_KEY).toMatch(/^sk-[A-Za-z0-9]{48}$/);
    expect(env.OPENAI_API_KEY).not.toBe(master);
    expect(Object.values(env).join("\n")).not.toContain(master);
    // The secret key is the image's key file, root-only, not an environment variable.
    expect(env.WEBUI_SECRET_KEY).toBeUndefined();
    expect(container("open-webui").inputs.uploads).toEqual([
      { file: "/app/backend/.webui_secret_key", content: expect.stringMatching(/^[A-Za-z0-9]{48}$/), permissions: "0600" },
    ]);
    expect(env.ENABLE_OLLAMA_API).toBe("False");
    expect(env.ENABLE_SIGNUP).toBe("False");
    expect(env.BYPASS_MODEL_ACCESS_CONTROL).toBe("True");
    expect(env.ENABLE_FOLLOW_UP_GENERATION).toBe("False");
    expect(env.ENABLE_PERSISTENT_CONFIG).toBe("True");
    expect(env.WEBUI_ADMIN_EMAIL).toBe("admin@example.com");
    expect(env.AIOHTTP_CLIENT_TIMEOUT).toBe("");
    expect(Number(env.AIOHTTP_CLIENT_STREAM_IDLE_TIMEOUT)).toBeGreaterThan(600);
    const volume = find(run, TYPES.volume, "-open-webui-data");
    expect(container("open-webui").inputs.volumes).toEqual([{ volumeName: volume.inputs.name, containerPath: "/app/backend/data" }]);
  });

  test("Open WebUI settings step: the declared settings, enforced in the Open WebUI container once it is healthy", () => {
    const step = run.resources.find((r) => r.type === TYPES.openWebuiSettings)!;
    const openWebui = container("open-webui");
    const env = envMap(openWebui);
    const o = run.outputs as any;
    expect(step.inputs.container).toBe(`${prefix}-open-webui`);
    expect(step.inputs.dockerHost).toBe("unix:///var/run/docker.sock");
    expect(step.inputs.adminEmail).toBe(env.WEBUI_ADMIN_EMAIL);
    // It acts with a token from the container's secret key: no admin password in its state.
    expect(step.inputs.adminPassword).toBeUndefined();
    expect(JSON.stringify(step.inputs)).not.toContain(env.WEBUI_ADMIN_PASSWORD);
    // The same values the environment seeds a new volume with.
    expect(step.inputs.settings).toEqual({
      openai: { url: env.OPENAI_API_BASE_URL, key: o.openWebuiApiKey },
      ollama: false,
      admin: { WEBUI_URL: env.WEBUI_URL, ENABLE_SIGNUP: false, DEFAULT_USER_ROLE: env.DEFAULT_USER_ROLE, ENABLE_COMMUNITY_SHARING: false },
    });
    expect(step.inputs.script).toContain("def reconcile(");
    expect(step.options.additionalSecretOutputs).toEqual(["settings", "dockerTls"]);
    expect(step.dependencies).toContain(openWebui.urn);
    expect(waitsFor(run, container("nginx")).has(step.urn)).toBe(false);
  });

  test("key registration: every consumer's key with its budget, run in the LiteLLM container once it is healthy", () => {
    const registration = run.resources.find((r) => r.type === TYPES.keyRegistration)!;
    const litellm = container("litellm");
    const budget = BUDGETS[stack === "large" ? "prod" : "test"];
    const o = run.outputs as any;
    expect(registration.inputs.container).toBe(`${prefix}-litellm`);
    expect(registration.inputs.dockerHost).toBe("unix:///var/run/docker.sock");
    expect(registration.inputs.masterKey).toBe(o.litellmMasterKey);
    expect(registration.inputs.keys).toEqual([
      {
        alias: `${prefix}-open-webui`,
        key: o.openWebuiApiKey,
        models: [],
        max_budget: budget.maxBudgetUsd,
        budget_duration: "30d",
        rpm_limit: null,
        tpm_limit: null,
      },
      {
        alias: `${prefix}-agents`,
        key: o.apiKeys.agents,
        models: [],
        max_budget: budget.maxBudgetUsd,
        budget_duration: "30d",
        rpm_limit: null,
        tpm_limit: null,
      },
    ]);
    expect(registration.inputs.script).toContain("def reconcile(");
    // Secrets in, secrets out: the state keeps the keys (to remove them later) only as secrets.
    expect(registration.wireInputs.masterKey).toEqual({
      "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
      value: o.litellmMasterKey,
    });
    expect(registration.options.additionalSecretOutputs.sort()).toEqual(["dockerTls", "keys", "masterKey"]);
    // It waits for LiteLLM (created only once healthy), and nothing waits for it.
    expect(registration.dependencies).toContain(litellm.urn);
    const deps = waitsFor(run, registration);
    for (const other of ["open-webui", "nginx"] as const) {
      expect(deps.has(container(other).urn)).toBe(false);
      expect(waitsFor(run, container(other)).has(registration.urn)).toBe(false);
    }
  });

  test("nothing waits on more than it needs: Open WebUI and nginx never wait for LiteLLM or PostgreSQL", () => {
    const litellm = container("litellm");
    const postgres = container("postgres");
    const litellmComponent = run.resources.find((r) => r.type === "ai-gateway:index:Litellm")!;
    for (const service of ["open-webui", "nginx"] as const) {
      const deps = waitsFor(run, container(service));
      expect(deps.has(litellm.urn)).toBe(false);
      expect(deps.has(litellmComponent.urn)).toBe(false);
      expect(deps.has(postgres.urn)).toBe(false);
    }
    expect(waitsFor(run, litellm).has(postgres.urn)).toBe(true);
    expect(waitsFor(run, postgres).has(litellm.urn)).toBe(false);
  });

  test("data volumes: constant inputs, kept on destroy", () => {
    const dataVolumes = run.resources.filter((r) => r.type === TYPES.volume && r.name.endsWith("-data"));
    expect(dataVolumes).toHaveLength(2);
    for (const v of dataVolumes) {
      expect(Object.keys(v.inputs).sort()).toEqual(["driver", "name"]);
      expect(v.options.retainOnDelete).toBe(true);
      expect(v.options.deleteBeforeReplace).toBe(false);
    }
  });

  test("every generated secret is a Pulumi secret wherever it appears in resource inputs", () => {
    const passwords = run.resources.filter((r) => r.type === TYPES.password);
    const env = { ...envMap(container("litellm")), ...envMap(container("open-webui")) };
    const secrets = [
      env.LITELLM_MASTER_KEY,
      env.LITELLM_SALT_KEY,
      env.UI_PASSWORD,
      env.OPENAI_API_KEY,
      container("open-webui").inputs.uploads[0].content,
      env.WEBUI_ADMIN_PASSWORD,
    ];
    secrets.push((run.outputs as any).apiKeys.agents);
    if (withRedis) {
      secrets.push(env.REDIS_PASSWORD);
    }
    expect(secrets.every((s) => typeof s === "string" && s.length >= 24)).toBe(true);
    expect(passwords).toHaveLength(9);
    const leaks = run.resources.flatMap((r) => secrets.flatMap((s) => plainOccurrences(r.wireInputs, s).map((p) => `${r.name} ${p}`)));
    expect(leaks).toEqual([]);
    // The secrets do reach the containers: inside the secret-wrapped envs.
    expect(JSON.stringify(container("litellm").wireInputs.envs)).toContain(env.LITELLM_MASTER_KEY);
  });

  test("outputs: URLs, access path, secrets as secrets, the effective profile", () => {
    const o = run.outputs as any;
    const stackFile = parse(require("fs").readFileSync(`${__dirname}/../../Pulumi.${stack}.yaml`, "utf8")).config;
    const port = stackFile["ai-gateway:httpPort"];
    expect(o.openWebuiUrl).toBe(`http://127.0.0.1:${port}/`);
    // The websocket's origin allow-list covers both loopback names (lib/openWebuiOrigins.ts).
    expect(envMap(container("open-webui")).CORS_ALLOW_ORIGIN).toBe(`http://127.0.0.1:${port};http://localhost:${port}`);
    expect(o.apiBaseUrl).toBe(`http://127.0.0.1:${port}/api/litellm/v1`);
    expect(o.adminUiUrl).toBe(`http://127.0.0.1:${stackFile["ai-gateway:adminPort"]}/ui`);
    expect(o.adminUiAccess).toContain(o.adminUiUrl);
    expect([...run.secretOutputs].sort()).toEqual(["adminCredentials", "apiForAgents", "apiKeys", "litellmMasterKey", "openWebuiApiKey"]);
    expect(Object.keys(o.apiKeys)).toEqual(["agents"]);
    expect(o.apiKeys.agents).toMatch(/^sk-[A-Za-z0-9]{48}$/);
    expect(o.apiKeys.agents).not.toBe(o.openWebuiApiKey);
    expect(o.apiForAgents).toMatchObject({ baseUrl: o.apiBaseUrl, apiKey: o.apiKeys.agents });
    expect(o.apiForAgents.exampleCurl).toContain(`${o.apiBaseUrl}/chat/completions`);
    expect(o.continueConfig).toBeUndefined();
    expect(o.openWebuiApiKey).toBe(envMap(container("open-webui")).OPENAI_API_KEY);
    expect(o.adminCredentials.litellmUi).toEqual({ username: "admin", password: envMap(container("litellm")).UI_PASSWORD });
    expect(o.adminCredentials.openWebui.password).toBe(envMap(container("open-webui")).WEBUI_ADMIN_PASSWORD);
    expect(o.effectiveProfile).toEqual({
      name: stack,
      litellmWorkers: profile.litellm.workers,
      memoryMb: {
        postgres: profile.postgres.memoryMb,
        litellm: profile.litellm.memoryMb,
        openWebui: profile.openWebui.memoryMb,
        nginx: profile.nginx.memoryMb,
        ...(withRedis ? { redis: profile.redis!.memoryMb } : {}),
        backupLitellm: profile.backups.litellmMemoryMb,
        backupOpenWebui: profile.backups.openWebuiMemoryMb,
      },
      totalMemoryMb: totalMemoryMb(profile),
    });
    const plainOutputs = JSON.stringify(Object.fromEntries(Object.entries(o).filter(([k]) => !run.secretOutputs.has(k))));
    for (const secret of [o.openWebuiApiKey, o.litellmMasterKey, o.adminCredentials.litellmUi.password, o.apiKeys.agents]) {
      expect(plainOutputs).not.toContain(secret);
    }
  });
});

test("stacks on one Docker host share no container, volume or network name and no host port", async () => {
  const names: string[] = [];
  const ports: number[] = [];
  for (const stack of ["small", "medium", "large"]) {
    const run = await runProgram({ stack });
    for (const r of run.resources.filter((r) => [TYPES.container, TYPES.volume, TYPES.network].includes(r.type as never))) {
      names.push(r.inputs.name);
    }
    ports.push(...(find(run, TYPES.container, "-nginx").inputs.ports as { external: number }[]).map((p) => p.external));
  }
  expect(new Set(names).size).toBe(names.length);
  expect(new Set(ports).size).toBe(ports.length);
});

test("an ephemeral stack's volumes are deleted with it", async () => {
  // As stack medium: under another name its fixed ports would be the permanent medium's (Pulumi.medium.yaml), which is refused.
  const run = await runProgram({ stack: "medium", config: { ...stackConfig("medium"), "ai-gateway:ephemeral": "true" } });
  expect(run.error).toBeUndefined();
  const volumes = run.resources.filter((r) => r.type === TYPES.volume && r.name.endsWith("-data"));
  expect(volumes).toHaveLength(2);
  expect(volumes.every((v) => !v.options.retainOnDelete)).toBe(true);
});

test("openWebuiEgress: true puts Open WebUI on the egress network too, and changes nothing else", async () => {
  const base = stackConfig("medium");
  const run = await runProgram({ stack: "medium", config: { ...base, "ai-gateway:openWebuiEgress": "true" } });
  if (run.error) {
    throw run.error;
  }
  const networksOf = (service: string) =>
    find(run, TYPES.container, `-${service}`).inputs.networksAdvanced.map((n: { name: string }) => n.name);
  expect(networksOf("open-webui")).toEqual(["ai-gateway-medium-frontend", "ai-gateway-medium-egress"]);
  expect(networksOf("postgres")).toEqual(["ai-gateway-medium-backend"]);
  expect(networksOf("nginx")).toEqual(["ai-gateway-medium-frontend", "ai-gateway-medium-edge"]);
  // Told it is online; by default (no egress) it is told it is offline.
  expect(envMap(find(run, TYPES.container, "-open-webui")).OFFLINE_MODE).toBeUndefined();
  const byDefault = await runProgram({ stack: "medium" });
  expect(envMap(find(byDefault, TYPES.container, "-open-webui")).OFFLINE_MODE).toBe("True");
});
