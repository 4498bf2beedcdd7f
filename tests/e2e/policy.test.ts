/**
 * The policy pack (policy/) run by the real Pulumi CLI (scripts/pulumi-toolchain.sh), preview
 * only: a small and a medium stack of the program pass it, a small violating program fails the preview with
 * the policies named, and a bad enforcement override is refused.
 *
 * The pack is started through policy/analyzer.sh: this toolchain's Node.js language host (v3.68.0)
 * cannot start a policy pack from its directory (the first test shows it), which a Pulumi CLI
 * release does with `--policy-pack policy`.
 */
import * as fs from "fs";
import * as path from "path";
import { ROOT } from "../helpers/program";
import { CliResult, Workspace } from "./harness";
import { useLocalImages } from "./gateway";
import { describeE2E } from "./requirements";

const PACK_DIR = path.join(ROOT, "policy");
const PACK = path.join(PACK_DIR, "analyzer.sh");
const PACK_CONFIG = path.join(PACK_DIR, "config.json");
/** What the CLI prints for the pack: its name and version (policy/index.ts, policy/package.json). */
const PACK_LABEL = `ai-gateway@v${JSON.parse(fs.readFileSync(path.join(PACK_DIR, "package.json"), "utf8")).version}`;

const PLAIN_PASSWORD = "plain-password-in-the-open";
const MARKED_PASSWORD = "marked-password-kept-secret";

/**
 * A program with a container that breaks several rules, and one that keeps them all, whose
 * password is the same kind of value in the same input, marked secret.
 */
const VIOLATING_PROGRAM = `import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";

const hardened = {
  restart: "unless-stopped",
  logDriver: "json-file",
  logOpts: { "max-size": "10m", "max-file": "3" },
  memory: 64,
  memorySwap: 64,
  securityOpts: ["no-new-privileges=true"],
  networkMode: "bridge",
};

new docker.Container("careless", {
  ...hardened,
  name: "policy-e2e-careless",
  image: "nginx:latest",
  envs: ["POSTGRES_PASSWORD=${PLAIN_PASSWORD}"],
}, { deleteBeforeReplace: true });

new docker.Container("careful", {
  ...hardened,
  name: "policy-e2e-careful",
  image: "sha256:${"0".repeat(64)}",
  envs: [pulumi.secret("POSTGRES_PASSWORD=${MARKED_PASSWORD}")],
  healthcheck: { tests: ["CMD", "true"], interval: "10s", timeout: "5s", retries: 3 },
}, { deleteBeforeReplace: true });
`;

/** The lines of a CLI run that say "error:". */
function errorLines(result: CliResult): string[] {
  return `${result.stdout}\n${result.stderr}`.split("\n").filter((line) => /^\s*error:/.test(line));
}

describeE2E("the policy pack, run by the real Pulumi CLI", () => {
  const workspace = new Workspace("policy");
  const stack = workspace.stack("policy");
  const medium = workspace.stack("policy-medium");
  const violating = new Workspace("policy-violating");
  const careless = violating.stack("careless");

  beforeAll(async () => {
    fs.copyFileSync(path.join(ROOT, "Pulumi.small.yaml"), path.join(workspace.dir, "Pulumi.policy.yaml"));
    await stack.init();
    await useLocalImages(stack);
    fs.copyFileSync(path.join(ROOT, "Pulumi.medium.yaml"), path.join(workspace.dir, "Pulumi.policy-medium.yaml"));
    await medium.init();
    await useLocalImages(medium);

    fs.writeFileSync(
      path.join(violating.dir, "Pulumi.yaml"),
      "name: policy-violating\nruntime:\n  name: nodejs\n  options:\n    typescript: true\n",
    );
    fs.writeFileSync(path.join(violating.dir, "index.ts"), VIOLATING_PROGRAM);
    fs.writeFileSync(
      path.join(violating.dir, "package.json"),
      JSON.stringify({ name: "policy-violating", version: "0.0.0", private: true }),
    );
    await careless.init();
  });

  afterAll(() => {
    workspace.remove();
    violating.remove();
  });

  test("this toolchain's language host cannot start the pack from its directory; policy/analyzer.sh starts it", async () => {
    const result = await stack.preview(["--policy-pack", PACK_DIR]).catch((e) => e.result as CliResult);
    expect(result.code).not.toBe(0);
    expect(errorLines(result)).toEqual([expect.stringMatching(/policy pack ".*policy" failed to start: .*not supported/)]);
  });

  test.each([
    ["small", () => stack],
    ["medium (Redis, its password in an uploaded redis.conf)", () => medium],
  ])("a %s stack of the program passes every policy", async (_label, which) => {
    const result = await which().preview(["--policy-pack", PACK, "--policy-pack-config", PACK_CONFIG]);
    // The pack ran: the CLI names it among the policy packs it loaded, and no policy reported.
    expect(result.stdout).toContain(PACK_LABEL);
    expect(result.stdout).not.toMatch(/\[(mandatory|advisory)\]/);
    expect(result.stdout).toMatch(/\+ \d+ to create/);
  });

  test("a program that breaks the rules fails the preview, each rule named; a marked password is not reported and none is printed", async () => {
    const result = await careless.preview(["--policy-pack", PACK]).catch((e) => e.result as CliResult);
    expect(result.code).not.toBe(0);
    const output = `${result.stdout}\n${result.stderr}`;
    expect(output).toContain(PACK_LABEL);
    for (const policy of ["container-healthcheck", "images-pinned", "no-plain-secrets"]) {
      expect(output).toMatch(new RegExp(`\\[mandatory\\]\\s+${policy}\\s+\\(docker:index:Container: careless\\)`));
    }
    expect(output).toContain('docker container "policy-e2e-careless" (resource careless) has no healthcheck');
    expect(output).toContain("uses image nginx:latest, and its tag latest follows new releases");
    expect(output).toContain("envs[0] holds a credential in POSTGRES_PASSWORD in plain text");
    // The careful container keeps every mandatory rule: its password is marked, and the pack sees
    // the program's marks (without them it would be reported as the careless one's is).
    expect(output).not.toMatch(/\[mandatory\][^\n]*careful/);
    expect(output).not.toContain(PLAIN_PASSWORD);
    expect(output).not.toContain(MARKED_PASSWORD);
    // The advisory trap is reported too, without failing anything by itself.
    expect(output).toMatch(/\[advisory\]\s+convergence-traps/);
  });

  test("an unknown enforcement level in --policy-pack-config is refused with one line naming the policy and the level", async () => {
    const config = path.join(workspace.dir, "strict.json");
    fs.writeFileSync(config, JSON.stringify({ "container-healthcheck": "strict" }));
    const result = await stack.preview(["--policy-pack", PACK, "--policy-pack-config", config]).catch((e) => e.result as CliResult);
    expect(result.code).not.toBe(0);
    expect(errorLines(result)).toEqual([
      expect.stringMatching(/^error: parsing enforcement level for "container-healthcheck": "strict" is not a valid enforcement level$/),
    ]);
  });

  test("the CLI ignores a policy name the pack does not have (what npm run policy:check-config refuses)", async () => {
    const config = path.join(workspace.dir, "misspelt.json");
    fs.writeFileSync(config, JSON.stringify({ "container-healtcheck": "disabled" }));
    const result = await stack.preview(["--policy-pack", PACK, "--policy-pack-config", config]);
    expect(result.code).toBe(0);
    expect(errorLines(result)).toEqual([]);
  });
});
