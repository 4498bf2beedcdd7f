/**
 * The key registration's dynamic provider on a real Docker engine, where a deployment cannot take
 * it: it execs runtime/litellm_keys.py inside a plain container that runs the LiteLLM stand-in
 * (tests/fixtures/docker/litellm_standin.py, which lists the LiteLLM behaviours it reproduces),
 * over the local socket and over ssh:// (a real sshd on loopback and `docker system dial-stdio`, as
 * the docker provider does), with its LiteLLM container missing, and deleting its keys.
 *
 * What a deployment does reach is proven there, by the real Pulumi CLI running the serialized
 * provider (tests/e2e): registering keys, updating and removing them, healing a key deleted inside
 * LiteLLM, a read-only diff, and LiteLLM's own error text, without secrets, on a failing `up`.
 */
import { spawnSync } from "child_process";
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { DeclaredKey, KeyRegistrationState, keyRegistrationProvider } from "../../components/keyRegistration";
import { runtimeFile } from "../../lib/runtimeFiles";
import { DOCKER_ENDPOINT, DockerSandbox, pollUntil, TestContainer, Upload } from "../helpers/dockerEngine";
import { ROOT } from "../helpers/program";
import { LoopbackSshd } from "../helpers/loopbackSshd";
import { describeWith, requirements } from "../helpers/requirements";
import { testImage } from "../helpers/testImage";

const MASTER_KEY = "sk-master-key-for-tests-0123456789abcdef";
/** Where the stand-in's files go in the container. */
const STANDIN_DIR = "/opt/ai-gateway-test";

/** The LiteLLM stand-in and its shared scaffolding, uploaded before the container starts. */
function standinUploads(): Upload[] {
  return ["standin.py", "litellm_standin.py"].map((name) => ({
    file: `${STANDIN_DIR}/${name}`,
    content: fs.readFileSync(path.join(ROOT, "tests", "fixtures", "docker", name), "utf8"),
    permissions: "0755",
  }));
}

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

  /** Whether the stand-in holds a live key: LiteLLM's /key/info with the master key, asked inside its container. */
  async function holds(k: DeclaredKey): Promise<boolean> {
    const script = `import json, urllib.error, urllib.request
req = urllib.request.Request("http://127.0.0.1:4000/key/info?key=${k.key}")
req.add_header("Authorization", "Bearer ${MASTER_KEY}")
try:
    print(urllib.request.urlopen(req).read().decode())
except urllib.error.HTTPError as e:
    print(json.dumps({"status": e.code}))`;
    const result = await litellm.exec(["python3", "-c", script]);
    // A deleted key still answers, from LiteLLM's archive, marked deleted.
    const info = JSON.parse(result.stdout).info;
    return info !== undefined && info.status !== "deleted";
  }

  beforeAll(async () => {
    litellm = await sandbox.helper("aigw-keys", {
      image: await testImage(),
      cmd: ["python3", `${STANDIN_DIR}/litellm_standin.py`, "--port", "4000"],
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
    // Registered as a first `pulumi up` does (tests/e2e proves that create, through the engine).
    expect((await keyRegistrationProvider.create(state)).outs.aliases).toEqual(["gw-agents", "gw-open-webui"]);
    expect(await holds(state.keys[0])).toBe(true);
  }, 180000);

  afterAll(async () => {
    await sandbox.cleanup();
  }, 120_000);

  test("the LiteLLM container missing: diff plans an update, and the update says why, also as the engine runs the provider", async () => {
    const gone = { ...state, container: "no-such-litellm" };
    expect(await keyRegistrationProvider.diff!("id", gone as any, gone)).toEqual({ changes: true });
    await expect(keyRegistrationProvider.update!("id", gone as any, gone)).rejects.toThrow(/No such container: no-such-litellm/);
    // The Pulumi engine runs the provider from its serialized closure, where an Error subclass's
    // super() is a plain function call: the message must survive that too.
    const serialized = await pulumi.runtime.serializeFunction(() => keyRegistrationProvider);
    const dir = fs.mkdtempSync(path.join(ROOT, ".cache", "serialized-"));
    try {
      fs.writeFileSync(path.join(dir, "provider.js"), serialized.text);
      const runner = `
        require("./provider.js").${serialized.exportName}().update("id", ${JSON.stringify(gone)}, ${JSON.stringify(gone)})
          .then(() => process.exit(3), (e) => console.log(String(e.message)));`;
      const result = spawnSync(process.execPath, ["-e", runner], { cwd: dir, encoding: "utf8", timeout: 60000 });
      expect(result.stderr).toBe("");
      expect(result.stdout.trim()).toBe("Docker exec in no-such-litellm failed (404): No such container: no-such-litellm");
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test("error text that quotes keys reaches the user without them (the provider scrubs what the script did not)", async () => {
    // A script that fails echoing everything it was given: the master key and every declared key.
    const echo = "import sys; sys.stderr.write('refused: ' + sys.stdin.read()); sys.exit(1)";
    const failing = { ...state, script: echo };
    const error = await keyRegistrationProvider.update!("id", state as any, failing).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(error?.message).toMatch(/^LiteLLM key registration failed \(LiteLLM refused a call\): refused: \{.*"masterKey":"\[secret\]"/);
    for (const secret of [MASTER_KEY, ...state.keys.map((k) => k.key)]) {
      expect(error?.message).not.toContain(secret);
    }
  });

  describeWith("over ssh://", [requirements.sshd()], () => {
    let sshd: LoopbackSshd;
    beforeAll(async () => {
      sshd = new LoopbackSshd(["host_key"]);
      await sshd.start("host_key");
    });
    afterAll(() => sshd?.stop());

    test("the same registration reaches the engine through ssh and docker system dial-stdio", async () => {
      const viaSsh: KeyRegistrationState = {
        ...state,
        dockerHost: `ssh://root@127.0.0.1:${sshd.port}`,
        // The host's key pinned, as dockerSshHostKey does (tests/keys/dockerEndpoints.test.ts: refusals).
        sshHostKey: sshd.publicKey("host_key"),
        sshOpts: ["-i", sshd.keyFile("client_key")],
        keys: [...state.keys, key("gw-over-ssh")],
      };
      const result = await keyRegistrationProvider.update!("id", state as any, viaSsh);
      expect(result.outs!.aliases).toEqual(["gw-agents", "gw-open-webui", "gw-over-ssh"]);
      expect(await holds(viaSsh.keys[2])).toBe(true);
      expect(await keyRegistrationProvider.diff!("id", viaSsh as any, viaSsh)).toEqual({ changes: false });
    });
  });

  test("delete removes the registered keys", async () => {
    await keyRegistrationProvider.delete!("id", state as any);
    expect(await holds(state.keys[0])).toBe(false);
    expect(await holds(state.keys[1])).toBe(false);
  });
});
