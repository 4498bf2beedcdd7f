/**
 * The key registration end to end on a real Docker engine: the dynamic provider's create, diff,
 * update and delete exec runtime/litellm_keys.py inside a container that runs the LiteLLM
 * stand-in (tests/fixtures/docker/litellm_standin.py, which lists the LiteLLM behaviours it
 * reproduces), over the local socket, over ssh:// (a real sshd on loopback and `docker system
 * dial-stdio`, as the docker provider does), and from the serialized closure the Pulumi engine
 * would run.
 */
import { execFileSync, spawn, spawnSync, ChildProcess } from "child_process";
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { DeclaredKey, KeyRegistrationState, keyRegistrationProvider } from "../../components/keyRegistration";
import { runtimeFile } from "../../lib/runtimeFiles";
import { DOCKER_ENDPOINT, DockerSandbox, pollUntil, TestContainer } from "../helpers/dockerEngine";
import { ROOT } from "../helpers/program";
import { describeWith, requirements } from "../helpers/requirements";
import { testImage } from "../helpers/testImage";
import { ENTRYPOINTS, standinUploads } from "../docker/gateway";

const MASTER_KEY = "sk-master-key-for-tests-0123456789abcdef";

const key = (alias: string, maxBudget = 15): DeclaredKey => ({
  alias,
  key: `sk-${alias.replace(/[^a-z]/g, "")}${randomBytes(20).toString("hex")}`,
  models: [],
  max_budget: maxBudget,
  budget_duration: "30d",
  rpm_limit: null,
  tpm_limit: null,
});

describeWith("key registration through docker exec (real engine, LiteLLM stand-in)", [requirements.docker(), requirements.rootfs()], () => {
  const sandbox = new DockerSandbox("keys");
  let litellm: TestContainer;
  let state: KeyRegistrationState;

  /** Asks the stand-in, from inside its container, what it holds (test control endpoint). */
  async function standin(pathAndQuery: string, body?: unknown): Promise<any> {
    const script = `import json,sys,urllib.request
req=urllib.request.Request("http://127.0.0.1:4000${pathAndQuery}", data=sys.stdin.read().encode() or None, method=${body === undefined ? '"GET"' : '"POST"'})
req.add_header("Authorization","Bearer ${MASTER_KEY}")
try:
    print(urllib.request.urlopen(req).read().decode())
except urllib.error.HTTPError as e:
    print(json.dumps({"status": e.code}))`;
    const result = await litellm.exec(["python3", "-c", script], { stdin: body === undefined ? "" : JSON.stringify(body) });
    return JSON.parse(result.stdout);
  }
  const holds = async (k: DeclaredKey) => (await standin(`/key/info?key=${k.key}`)).info !== undefined;

  beforeAll(async () => {
    litellm = await sandbox.helper("aigw-keys", {
      image: await testImage(),
      cmd: [...ENTRYPOINTS.litellm, "--port", "4000"],
      env: [`LITELLM_MASTER_KEY=${MASTER_KEY}`],
      uploads: standinUploads(),
    });
    await pollUntil("the LiteLLM stand-in to answer", 30_000, async () => {
      const probe = await litellm.exec([
        "python3",
        "-c",
        "import urllib.request; urllib.request.urlopen('http://127.0.0.1:4000/health/liveliness')",
      ]);
      return probe.exitCode === 0 ? true : undefined;
    });
    state = {
      dockerHost: DOCKER_ENDPOINT.host,
      sshOpts: [],
      container: litellm.name,
      masterKey: MASTER_KEY,
      keys: [key("gw-open-webui"), key("gw-agents")],
      script: runtimeFile("litellm_keys.py"),
    };
  }, 180000);

  afterAll(async () => {
    await sandbox.cleanup();
  }, 120_000);

  test("create registers every key inside LiteLLM's container", async () => {
    const result = await keyRegistrationProvider.create(state);
    expect(result.outs.aliases).toEqual(["gw-agents", "gw-open-webui"]);
    expect(result.outs.keys).toEqual(state.keys);
    expect(await holds(state.keys[0])).toBe(true);
    expect(await holds(state.keys[1])).toBe(true);
  });

  test("diff on an unchanged declaration finds nothing to do (a second `pulumi up` is a no-op)", async () => {
    await standin("/__standin/state", { clearCalls: true });
    expect(await keyRegistrationProvider.diff!("id", state as any, state)).toEqual({ changes: false });
    const calls = (await standin("/__standin/calls")).calls;
    expect(calls.filter((c: any) => c.method === "POST")).toEqual([]);
  });

  test("a reset database is found by diff and healed by the update it plans", async () => {
    await standin("/__standin/state", { reset: true });
    expect(await holds(state.keys[0])).toBe(false);
    expect(await keyRegistrationProvider.diff!("id", state as any, state)).toEqual({ changes: true });
    await keyRegistrationProvider.update!("id", state as any, state);
    expect(await holds(state.keys[0])).toBe(true);
    expect(await holds(state.keys[1])).toBe(true);
  });

  test("update changes a budget in place and deletes keys removed from config", async () => {
    const news = { ...state, keys: [{ ...state.keys[0], max_budget: 200 }] };
    expect(await keyRegistrationProvider.diff!("id", state as any, news)).toEqual({ changes: true });
    const result = await keyRegistrationProvider.update!("id", state as any, news);
    expect(result.outs!.aliases).toEqual(["gw-open-webui"]);
    expect((await standin(`/key/info?key=${state.keys[0].key}`)).info.max_budget).toBe(200);
    expect(await holds(state.keys[1])).toBe(false);
    state = news;
  });

  test("LiteLLM failing: the operation fails with LiteLLM's own text, and no key in it", async () => {
    await standin("/__standin/state", { fail: 500 });
    const attempt = keyRegistrationProvider.update!("id", state as any, { ...state, keys: [...state.keys, key("gw-new")] });
    await expect(attempt).rejects.toThrow(
      "LiteLLM key registration failed (LiteLLM refused a call): LiteLLM answered 500 to GET /key/info: Internal Server Error: stand-in told to fail",
    );
    const message = await attempt.catch((e: Error) => e.message);
    expect(message).not.toContain(MASTER_KEY);
    expect(message).not.toContain(state.keys[0].key);
    await standin("/__standin/state", { fail: 0 });
  });

  test("the LiteLLM container missing: diff plans an update, the update says why", async () => {
    const gone = { ...state, container: "no-such-litellm" };
    expect(await keyRegistrationProvider.diff!("id", gone as any, gone)).toEqual({ changes: true });
    await expect(keyRegistrationProvider.update!("id", gone as any, gone)).rejects.toThrow(/No such container: no-such-litellm/);
  });

  test("the serialized provider (what the Pulumi engine runs) works on its own", async () => {
    const serialized = await pulumi.runtime.serializeFunction(() => keyRegistrationProvider);
    const dir = fs.mkdtempSync(path.join(ROOT, ".cache", "serialized-"));
    try {
      fs.writeFileSync(path.join(dir, "provider.js"), serialized.text);
      const extra = key("gw-serialized");
      const runner = `
        const provider = require("./provider.js").${serialized.exportName}();
        provider.create(${JSON.stringify({ ...state, keys: [...state.keys, extra] })})
          .then((r) => console.log(JSON.stringify(r.outs.aliases)))
          .catch((e) => { console.error(e.message); process.exit(1); });`;
      const result = spawnSync(process.execPath, ["-e", runner], { cwd: dir, encoding: "utf8", timeout: 60000 });
      expect(result.stderr).toBe("");
      expect(JSON.parse(result.stdout)).toEqual(["gw-open-webui", "gw-serialized"]);
      expect(await holds(extra)).toBe(true);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  describeWith("over ssh://", [requirements.sshd()], () => {
    let sshd: ChildProcess;
    let dir: string;
    let port: number;
    beforeAll(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "aigw-sshd-"));
      execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path.join(dir, "host_key")]);
      execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path.join(dir, "client_key")]);
      fs.copyFileSync(path.join(dir, "client_key.pub"), path.join(dir, "authorized_keys"));
      port = 20000 + Math.floor(Math.random() * 20000);
      fs.writeFileSync(
        path.join(dir, "sshd_config"),
        [
          `Port ${port}`,
          "ListenAddress 127.0.0.1",
          `HostKey ${dir}/host_key`,
          `AuthorizedKeysFile ${dir}/authorized_keys`,
          "PermitRootLogin prohibit-password",
          "PasswordAuthentication no",
          "StrictModes no",
          "UsePAM no",
          `PidFile ${dir}/sshd.pid`,
        ].join("\n") + "\n",
      );
      fs.mkdirSync("/run/sshd", { recursive: true });
      sshd = spawn("/usr/sbin/sshd", ["-D", "-e", "-f", path.join(dir, "sshd_config")], { stdio: "ignore" });
      await new Promise((r) => setTimeout(r, 500));
    });
    afterAll(() => {
      sshd?.kill();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    test("the same registration reaches the engine through ssh and docker system dial-stdio", async () => {
      const viaSsh: KeyRegistrationState = {
        ...state,
        dockerHost: `ssh://root@127.0.0.1:${port}`,
        sshOpts: [
          "-i",
          path.join(dir, "client_key"),
          "-o",
          "StrictHostKeyChecking=no",
          "-o",
          "UserKnownHostsFile=/dev/null",
          "-o",
          "LogLevel=ERROR",
        ],
        keys: [...state.keys, key("gw-over-ssh")],
      };
      const result = await keyRegistrationProvider.update!("id", state as any, viaSsh);
      expect(result.outs!.aliases).toEqual(["gw-open-webui", "gw-over-ssh"]);
      expect(await holds(viaSsh.keys[1])).toBe(true);
      expect(await keyRegistrationProvider.diff!("id", viaSsh as any, viaSsh)).toEqual({ changes: false });
    });
  });

  test("delete removes the registered keys", async () => {
    await keyRegistrationProvider.delete!("id", state as any);
    expect(await holds(state.keys[0])).toBe(false);
  });
});
