/** The Gateway is usable from another program, with its own Docker provider and no stack config. */
import * as path from "path";
import { spawnSync } from "child_process";
import { parse } from "yaml";
import { find, plainOccurrences, ROOT, runProgram, TYPES } from "../helpers/program";
import { pinnedSshOptions } from "../../lib/dockerHost";
import { SSH_HOST_KEY } from "../fixtures/sshHostKey";

test("another program builds a gateway on a remote Docker host", async () => {
  const run = await runProgram({ stack: "prod", config: {}, program: path.join(ROOT, "tests", "fixtures", "consumerProgram.ts") });
  expect(run.error).toBeUndefined();
  expect(run.outputs).toEqual({ apiBaseUrl: "https://ai.example.com/api/litellm/v1", workers: 1 });

  // One provider, for the ssh:// host, and every Docker resource goes through it.
  const providers = run.resources.filter((r) => r.type === TYPES.dockerProvider);
  // Provider configuration reaches the engine JSON-encoded.
  // The pinned host key's options first (ssh keeps the first value of an option), then the program's.
  expect(providers.map((p) => [p.name, p.inputs.host, JSON.parse(p.inputs.sshOpts)])).toEqual([
    ["team-gw-docker", "ssh://deploy@203.0.113.10", [...pinnedSshOptions(SSH_HOST_KEY), "-i", "/home/deploy/.ssh/gateway"]],
  ]);
  for (const r of run.resources.filter((r) => r.type.startsWith("docker:"))) {
    expect(r.provider).toBe(`${providers[0].urn}::team-gw-docker-id`);
  }

  const litellm = find(run, TYPES.container, "-litellm");
  expect(litellm.inputs.name).toBe("team-gw-prod-litellm");
  const config = parse(litellm.inputs.uploads[0].content);
  expect(config.model_list).toEqual([
    { model_name: "gpt-4o", litellm_params: { model: "openai/gpt-4o", api_key: "os.environ/OPENAI_API_KEY" } },
  ]);
  expect(config.litellm_settings.max_budget).toBe(200);
  expect(litellm.inputs.envs).toContain("OPENAI_API_KEY=sk-openai-test-value-0123456789");
  expect(run.resources.flatMap((r) => plainOccurrences(r.wireInputs, "sk-openai-test-value-0123456789"))).toEqual([]);

  const nginx = find(run, TYPES.container, "-nginx");
  expect(nginx.inputs.ports[0]).toEqual({ internal: 8080, external: 443, ip: "0.0.0.0", protocol: "tcp" });
  const webui = find(run, TYPES.container, "-open-webui");
  expect(webui.inputs.envs).toContain("WEBUI_URL=https://ai.example.com");
});

test("package.json's main is the built library and exports the Gateway", () => {
  const pkg = require(path.join(ROOT, "package.json"));
  expect(pkg.main).toBe("dist/components/index.js");
  const library = require(path.join(ROOT, pkg.main));
  expect(typeof library.Gateway).toBe("function");
  expect(typeof library.Postgres).toBe("function");
  expect(Object.keys(library.PROFILES)).toEqual(["small", "medium", "large"]);
});

test("Pulumi.yaml points `pulumi up` at the program, not at the library", () => {
  const project = parse(require("fs").readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8"));
  expect(project.name).toBe("ai-gateway");
  expect(project.main).toBe("index.ts");
  expect(project.backend.url).toBe("file://~");
});

test("a master key known only at deploy time is still checked, when it resolves", () => {
  // The failure surfaces when the value resolves, as an error that ends the program, so it runs in
  // a process of its own.
  const script = `
    const pulumi = require("@pulumi/pulumi");
    pulumi.runtime.setMocks({ newResource: (a) => ({ id: a.name, state: a.inputs }), call: (a) => a.inputs }, "p", "s");
    const { GatewaySecrets } = require("./components");
    const key = process.argv[1];
    new GatewaySecrets("deploy-time", { masterKey: pulumi.output(key) }).masterKey.apply((k) => console.log("accepted", k.length));`;
  const run = (key: string) =>
    spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", "-e", script, key], {
      cwd: ROOT,
      encoding: "utf8",
      timeout: 60000,
    });
  const bad = run("not-a-litellm-key-but-long-enough-0123");
  expect(bad.status).not.toBe(0);
  expect(bad.stderr).toContain('Invalid ai-gateway setting masterKey = [secret, 38 characters]: must start with "sk-"');
  expect(bad.stderr + bad.stdout).not.toContain("not-a-litellm-key");
  const good = run(`sk-${"k".repeat(40)}`);
  expect(good.stderr).toBe("");
  expect(good.stdout.trim()).toBe("accepted 43");
});
