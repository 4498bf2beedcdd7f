/**
 * Preview stacks for real: `npm run preview-stack` (tools/previewStack.ts, the Automation API
 * driving the real CLI) brings up pr-1 and pr-2 from Pulumi.preview.yaml beside the permanent
 * stack small on one engine, each on the ports derived from its name, and `smoke` passes on one;
 * `down` and `sweep` remove previews and leave nothing of them in Docker, and never touch small.
 */
import * as fs from "fs";
import * as path from "path";
import { ROOT } from "../helpers/program";
import { derivedPorts, permanentStacks, StackFile, stackOfFile } from "../../lib/previewStacks";
import { docker, inspect, Stack, Workspace } from "./harness";
import { allHealthy, fingerprint, IMAGES, names, publicChecks, removeLeftovers, useLocalImages, virtualKeys } from "./gateway";
import { describeE2E } from "./requirements";

const PREVIEWS = ["pr-1", "pr-2", "pr-3"] as const;
/** The policy pack as tests/e2e/policy.test.ts starts it (policy/analyzer.sh), and CI's enforcement config. */
const PACK = path.join(ROOT, "policy", "analyzer.sh");
const PACK_CONFIG = path.join(ROOT, "policy", "config.json");

/** Every Docker object whose name is a stack's (its prefix and a dash), by kind. */
async function dockerNamesOf(stackName: string): Promise<string[]> {
  const prefix = `${names(stackName).prefix}-`;
  const listed = await Promise.all([
    docker(["ps", "-a", "--format", "container {{.Names}}"]),
    docker(["network", "ls", "--format", "network {{.Name}}"]),
    docker(["volume", "ls", "--format", "volume {{.Name}}"]),
  ]);
  return listed
    .flatMap((r) => r.stdout.split("\n"))
    .filter((line) => line.split(" ")[1]?.startsWith(prefix))
    .sort();
}

/** The host ports nginx publishes, from Docker. */
async function publishedPorts(stackName: string): Promise<number[]> {
  const bindings = (await inspect(names(stackName).container("nginx"))).HostConfig.PortBindings as Record<string, { HostPort: string }[]>;
  return Object.values(bindings)
    .flat()
    .map((b) => Number(b.HostPort))
    .sort((a, b) => a - b);
}

describeE2E("preview stacks beside a permanent one", () => {
  const workspace = new Workspace("preview");
  const small: Stack = workspace.stack("small");
  const tool = (args: readonly string[], options: { allowFailure?: boolean } = {}) => workspace.npm("preview-stack", args, options);
  const imageSettings = Object.entries(IMAGES).flatMap(([key, value]) => ["--set", `${key}=${value}`]);
  const tags = async (name: string): Promise<Record<string, string>> =>
    JSON.parse((await workspace.pulumi(["stack", "tag", "ls", "--stack", name, "--json"])).stdout);
  const stackList = async (): Promise<string[]> =>
    JSON.parse((await workspace.pulumi(["stack", "ls", "--json"])).stdout).map((s: { name: string }) => s.name);
  const startedAt = new Date();

  /** The ports a preview should get: from its name, off the permanent stacks in the copy's stack files. */
  function expectedPorts(name: string): number[] {
    const files: StackFile[] = fs
      .readdirSync(workspace.dir)
      .filter((f) => stackOfFile(f) !== undefined)
      .map((file) => ({ file, text: fs.readFileSync(path.join(workspace.dir, file), "utf8") }));
    const taken = new Set(permanentStacks(files, "ai-gateway", name).flatMap((s) => s.ports));
    const { httpPort, adminPort } = derivedPorts(name, taken);
    return [httpPort, adminPort];
  }

  beforeAll(async () => {
    for (const stack of ["small", ...PREVIEWS]) {
      await removeLeftovers(stack, { volumes: true });
    }
    await small.init();
    await useLocalImages(small);
    await small.up();
  });

  afterAll(async () => {
    for (const name of PREVIEWS) {
      await workspace.pulumi(["destroy", "--yes", "--stack", name], { allowFailure: true });
    }
    await small.destroy({ allowFailure: true });
    for (const stack of ["small", ...PREVIEWS]) {
      await removeLeftovers(stack, { volumes: true });
    }
    workspace.remove();
  });

  test("up pr-1 and pr-2: tagged previews on the ports derived from their names, all three healthy and answering on their own ports", async () => {
    for (const name of ["pr-1", "pr-2"]) {
      // With the policy pack, as the pull-request workflow deploys a preview.
      const result = await tool(["up", name, ...imageSettings, "--policy-pack", PACK, "--policy-pack-config", PACK_CONFIG]);
      expect(result.stdout).toContain("ai-gateway@v");
      expect([name, result.stdout.match(/\[(mandatory|advisory)\].*/g)]).toEqual([name, null]);
      const [httpPort, adminPort] = expectedPorts(name);
      expect(httpPort).toBeGreaterThanOrEqual(20000);
      expect(httpPort).toBeLessThan(30000);
      expect(adminPort).toBe(httpPort + 10000);
      expect(result.stdout).toContain(`Open WebUI  http://127.0.0.1:${httpPort}/`);
      expect(result.stdout).toContain(`Admin UI    http://127.0.0.1:${adminPort}/ui`);
      expect(await publishedPorts(name)).toEqual([httpPort, adminPort]);
      const t = await tags(name);
      expect(t["ai-gateway:preview"]).toBe("true");
      expect(t["ai-gateway:ttl"]).toBe("24h");
      expect(Date.parse(t["ai-gateway:created"])).toBeGreaterThanOrEqual(startedAt.getTime() - 1000);
      // The CLI masks secret outputs, and the tool prints only the plain URLs.
      const outputs = await workspace.stack(name).outputs();
      expect(result.stdout + result.stderr).not.toContain(outputs.litellmMasterKey);
      expect(result.stdout + result.stderr).not.toContain(outputs.openWebuiApiKey);
    }
    expect(await publishedPorts("small")).toEqual([4002, 8081]);
    for (const [name, port] of [
      ["small", 8081],
      ["pr-1", expectedPorts("pr-1")[0]],
      ["pr-2", expectedPorts("pr-2")[0]],
    ] as const) {
      await allHealthy(name);
      const checks = await publicChecks(`http://127.0.0.1:${port}`, virtualKeys(await workspace.stack(name).outputs()));
      expect([name, checks.withKey, checks.wrongKey]).toEqual([name, { agents: 200, "open-webui": 200 }, 401]);
      // Each nginx reaches its own Open WebUI.
      expect(checks.openWebui.body).toContain((await inspect(names(name).container("open-webui"))).Config.Hostname);
      // Converged, and passing every policy of the pack that CI runs with every preview.
      const preview = await workspace
        .stack(name)
        .preview(["--expect-no-changes", "--policy-pack", PACK, "--policy-pack-config", PACK_CONFIG]);
      expect(preview.stdout).toContain("ai-gateway@v");
      expect([name, preview.stdout.match(/\[(mandatory|advisory)\].*/g)]).toEqual([name, null]);
    }
  });

  test("up again from a checkout without the stack file (another CI job) changes nothing", async () => {
    const before = { pr2: await fingerprint("pr-2"), small: await fingerprint("small") };
    const saltLine = (text: string) => /^encryptionsalt: .+$/m.exec(text)?.[0];
    const saltBefore = saltLine(fs.readFileSync(path.join(workspace.dir, "Pulumi.pr-2.yaml"), "utf8"));
    expect(saltBefore).toBeDefined();
    fs.rmSync(path.join(workspace.dir, "Pulumi.pr-2.yaml"));
    const createdBefore = (await tags("pr-2"))["ai-gateway:created"];
    await tool(["up", "pr-2", ...imageSettings]);
    expect(await fingerprint("pr-2")).toEqual(before.pr2);
    expect(await fingerprint("small")).toEqual(before.small);
    expect((await tags("pr-2"))["ai-gateway:created"]).toBe(createdBefore);
    await workspace.stack("pr-2").expectNoChanges();
    // The rewritten stack file has the passphrase salt of the state, not a new one.
    expect(saltLine(fs.readFileSync(path.join(workspace.dir, "Pulumi.pr-2.yaml"), "utf8"))).toBe(saltBefore);
  });

  test("preview-stack smoke pr-2: npm run smoke -- --stack pr-2 passes every check, and prints no secret", async () => {
    const result = await tool(["smoke", "pr-2"]);
    expect(result.stdout).toMatch(/^API accepts key agents +PASS +200/m);
    expect(result.stdout).toMatch(/^pulumi preview --expect-no-changes +PASS +no changes$/m);
    expect(result.stdout).toMatch(/smoke test passed: \d+ passed, 0 failed, 0 skipped/);
    const outputs = await workspace.stack("pr-2").outputs();
    for (const secret of [outputs.litellmMasterKey, ...Object.values(virtualKeys(outputs))]) {
      expect(result.stdout + result.stderr).not.toContain(secret);
    }
  });

  test("a preview whose fixed port is the permanent stack's is refused by the real CLI with one line, and down removes the failed preview", async () => {
    const refused = await tool(["up", "pr-3", "--set", "httpPort=8081"], { allowFailure: true });
    expect(refused.code).toBe(1);
    expect(refused.stdout + refused.stderr).toMatch(
      /Invalid ai-gateway setting httpPort = 8081: is a port of permanent stack small \(Pulumi\.small\.yaml\) on the same Docker host; unset httpPort on this ephemeral stack to get one derived from its name\n/,
    );
    expect(await dockerNamesOf("pr-3")).toEqual([]);
    const removed = await tool(["down", "pr-3"]);
    expect(removed.stdout).toContain("pr-3 is gone");
    expect(await stackList()).not.toContain("pr-3");
  });

  test("bad usage and down of a permanent stack: one line, exit 2, nothing touched", async () => {
    const before = await fingerprint("small");
    for (const args of [
      ["deploy", "pr-1"],
      ["down", "PR-1"],
      ["sweep", "--older-than", "soon"],
      ["down", "small"],
      ["up", "large"],
    ]) {
      const result = await tool(args, { allowFailure: true });
      expect([args, result.code]).toEqual([args, 2]);
      expect(result.stderr.trim().split("\n")).toHaveLength(1);
    }
    expect((await tool(["down", "small"], { allowFailure: true })).stderr).toMatch(/stack small is not a preview stack/);
    // A permanent stack's file (Pulumi.large.yaml, no such stack yet) is not made into a preview, nor changed.
    const largeFile = fs.readFileSync(path.join(workspace.dir, "Pulumi.large.yaml"), "utf8");
    expect((await tool(["up", "large"], { allowFailure: true })).stderr).toMatch(
      /Pulumi\.large\.yaml is the file of a stack that is not ephemeral/,
    );
    expect(await stackList()).not.toContain("large");
    expect(fs.readFileSync(path.join(workspace.dir, "Pulumi.large.yaml"), "utf8")).toBe(largeFile);
    expect(await fingerprint("small")).toEqual(before);
  });

  test("down pr-1 leaves no container, network or volume of it, and pr-2 and small untouched", async () => {
    const before = { pr2: await fingerprint("pr-2"), small: await fingerprint("small") };
    expect((await dockerNamesOf("pr-1")).length).toBeGreaterThanOrEqual(11);
    const result = await tool(["down", "pr-1"]);
    expect(result.stdout).toMatch(/pr-1 is gone: none of its \d+ containers, networks and volumes is left/);
    expect(result.stdout).toContain("Images it pulled stay in the Docker engine");
    expect(await dockerNamesOf("pr-1")).toEqual([]);
    expect(await stackList()).not.toContain("pr-1");
    expect(fs.existsSync(path.join(workspace.dir, "Pulumi.pr-1.yaml"))).toBe(false);
    expect(await fingerprint("pr-2")).toEqual(before.pr2);
    expect(await fingerprint("small")).toEqual(before.small);
  });

  test("sweep: within its TTL pr-2 is kept; --older-than catches it (its stack file missing, as in CI) and never small", async () => {
    const before = await fingerprint("small");
    const dry = await tool(["sweep", "--dry-run"]);
    expect(dry.stdout).toMatch(/^ {2}kept +pr-2 /m);
    expect(dry.stdout).not.toMatch(/small/);
    // --older-than 1m must find pr-2 a minute old: on a fast machine it may not be yet.
    const ageMs = Date.now() - Date.parse((await tags("pr-2"))["ai-gateway:created"]);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, 61_000 - ageMs)));
    const older = await tool(["sweep", "--older-than", "1m", "--dry-run"]);
    expect(older.stdout).toMatch(/^ {2}would go +pr-2 /m);
    expect(await stackList()).toContain("pr-2");

    // As the scheduled job runs it: a checkout without the preview's stack file.
    fs.rmSync(path.join(workspace.dir, "Pulumi.pr-2.yaml"));
    const swept = await tool(["sweep", "--older-than", "1m"]);
    expect(swept.stdout).toMatch(/^preview stacks: 1 expired, 0 kept, 0 skipped$/m);
    expect(swept.stdout).toContain("pr-2 is gone");
    expect(await dockerNamesOf("pr-2")).toEqual([]);
    expect(await stackList()).toEqual(["small"]);
    expect(await fingerprint("small")).toEqual(before);
    await small.expectNoChanges();
  });
});
