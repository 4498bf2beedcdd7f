/**
 * The generated redis.conf, the container's healthcheck and LiteLLM's Redis settings, run for real
 * against Debian's redis-server (the test rootfs, Debian sid) in a private network namespace: the
 * server reads the very file the container gets, at the path the container has it, and the
 * healthcheck runs verbatim. LiteLLM's side is its config.yaml block and environment as the program
 * renders them, resolved the way LiteLLM resolves `os.environ/` references, and used by the redis
 * client LiteLLM itself uses (redis-py).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse } from "yaml";
import { REDIS_CONFIG_PATH, REDIS_PORT } from "../../lib/constants";
import { renderLitellmConfig } from "../../lib/litellmConfig";
import { renderRedisConfig } from "../../lib/redisConfig";
import { litellmEnv, redisCommand, redisHealthcheck } from "../../lib/services";
import { BUDGETS, PROFILES } from "../../profiles";
import { pollUntil, probeCommand } from "../helpers/dockerEngine";
import { NetNs } from "../helpers/netns";
import { envRecord } from "../helpers/envList";
import { describeWith, requirements, testRootfs } from "../helpers/requirements";

const PASSWORD = "generatedRedisPassword0123456789";
const sizing = PROFILES.medium.redis!;

describeWith("Redis: config, healthcheck and LiteLLM's settings (real redis-server)", [requirements.rootfs(), requirements.netns()], () => {
  let ns: NetNs;
  let dir: string;

  /** Runs `argv` in the rootfs inside the namespace, with `conf` at the container's config path. */
  const inRootfs = (conf: string, argv: string[]): string[] => [
    "bwrap",
    "--bind",
    testRootfs()!,
    "/",
    "--dev",
    "/dev",
    "--proc",
    "/proc",
    // A tmpfs first, so the config's directory is made there and not in the shared rootfs.
    "--tmpfs",
    "/usr/local/etc",
    "--ro-bind",
    conf,
    REDIS_CONFIG_PATH,
    // The container finds Redis by its network alias; here the alias is this namespace's loopback.
    "--ro-bind",
    path.join(dir, "hosts"),
    "/etc/hosts",
    "--unshare-pid",
    "--die-with-parent",
    ...argv,
  ];
  const writeConf = (name: string, text: string) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, text);
    return file;
  };
  const serverConf = () => path.join(dir, "server.conf");
  const probe = (conf = serverConf()) => ns.run(inRootfs(conf, probeCommand(redisHealthcheck().test)), { timeoutMs: 10000 });
  const cli = (args: string[], env: Record<string, string> = {}) =>
    ns.run(inRootfs(serverConf(), ["env", ...Object.entries(env).map(([k, v]) => `${k}=${v}`), "redis-cli", "-h", "127.0.0.1", ...args]));

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "aigw-redis-"));
    fs.writeFileSync(path.join(dir, "hosts"), "127.0.0.1 localhost redis\n");
    writeConf("server.conf", renderRedisConfig({ password: PASSWORD, maxMemoryMb: sizing.maxMemoryMb }));
    ns = new NetNs();
  });

  afterAll(() => {
    ns?.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("the healthcheck fails while no server runs", () => {
    expect(probe().status).not.toBe(0);
  });

  test("the server starts with the container's command and config, and the healthcheck turns healthy", async () => {
    const server = ns.start(inRootfs(serverConf(), redisCommand()));
    let log = "";
    server.stdout!.on("data", (d) => (log += d));
    server.stderr!.on("data", (d) => (log += d));
    await pollUntil("redis to turn healthy", 15000, async () => (probe().status === 0 ? true : undefined)).catch((e) => {
      throw new Error(`${e}; redis-server said: ${log}`);
    });
    expect(server.exitCode).toBeNull();
  });

  test("every command but AUTH is refused without the password, and a wrong one is refused", () => {
    expect(cli(["ping"]).stdout).toMatch(/NOAUTH/);
    const wrong = cli(["ping"], { REDISCLI_AUTH: "wrong-password-0000" });
    expect(wrong.stdout + wrong.stderr).toMatch(/WRONGPASS/);
    expect(cli(["ping"], { REDISCLI_AUTH: PASSWORD }).stdout.trim()).toBe("PONG");
  });

  test("a healthcheck whose password differs from the server's reports unhealthy (redis-cli's exit code alone would not)", () => {
    const other = writeConf("other.conf", renderRedisConfig({ password: "someOtherPassword0123456789", maxMemoryMb: sizing.maxMemoryMb }));
    const wrong = probe(other);
    expect(wrong.status).not.toBe(0);
    // redis-cli itself exits 0 after printing the error: the healthcheck's PONG test is what fails.
    const bare = ns.run(inRootfs(other, ["sh", "-c", `REDISCLI_AUTH=nope redis-cli -h 127.0.0.1 -p ${REDIS_PORT} ping`]));
    expect(bare.status).toBe(0);
    expect(bare.stdout.trim()).not.toBe("PONG");
  });

  test("the server runs with the profile's maxmemory, evicts rather than refuses, and keeps nothing on disk", () => {
    const get = (key: string) => cli(["--no-raw", "config", "get", key], { REDISCLI_AUTH: PASSWORD }).stdout;
    expect(get("maxmemory")).toContain(String(sizing.maxMemoryMb * 1024 * 1024));
    expect(get("maxmemory-policy")).toContain("allkeys-lru");
    expect(get("appendonly")).toContain("no");
    expect(get("save")).toMatch(/"save"\n\d+\) ""/);
    expect(get("protected-mode")).toContain("yes");
  });

  test("LiteLLM's generated settings reach the server: config.yaml's coordination_redis with the password from its environment", () => {
    const config = parse(renderLitellmConfig({ models: [], budget: BUDGETS.test, redis: true, spendLogRetention: "90d" })).general_settings
      .coordination_redis;
    const env = envRecord(
      litellmEnv({
        masterKey: "sk-m",
        saltKey: "sk-s",
        databaseUrl: "postgresql://x",
        uiUsername: "admin",
        uiPassword: "p",
        providerApiKeys: {},
        redisPassword: PASSWORD,
      }),
    );
    // litellm's get_secret: an "os.environ/NAME" value is the environment's NAME.
    const script = [
      "import json, os, sys, redis",
      "params = json.loads(sys.argv[1])",
      "params = {k: (os.environ[v[len('os.environ/'):]] if isinstance(v, str) and v.startswith('os.environ/') else v) for k, v in params.items()}",
      "client = redis.Redis(**params)",
      "client.set('ai-gateway-test', 'ok', ex=60)",
      "print(client.ping(), client.get('ai-gateway-test').decode())",
    ].join("\n");
    const run = ns.run(
      inRootfs(serverConf(), ["env", `REDIS_PASSWORD=${env.REDIS_PASSWORD}`, "python3", "-c", script, JSON.stringify(config)]),
    );
    expect(run.stderr).toBe("");
    expect(run.stdout.trim()).toBe("True ok");
  });
});
