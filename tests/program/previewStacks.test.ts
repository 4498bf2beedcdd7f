/**
 * Preview stacks made from the template (Pulumi.preview.yaml), run as the program runs them: their
 * host ports are derived from the stack's name (lib/previewStacks.ts) and reach nginx's published
 * ports and the URLs; the checkout's permanent stack files are the neighbours they keep off.
 */
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { find, ProgramRun, ROOT, runProgram, stackConfig, TYPES, withSettings } from "../helpers/program";
import { gatewayLabel } from "../../tools/previewStackArgs";

/** The slot a stack name hashes to, computed here independently of the module. */
function slot(stack: string): number {
  return parseInt(createHash("sha256").update(stack).digest("hex").slice(0, 8), 16) % 10000;
}

async function preview(stack: string, settings: Record<string, string | undefined> = {}): Promise<ProgramRun> {
  const run = await runProgram({ stack, config: withSettings(stackConfig("preview"), settings) });
  if (run.error) {
    throw run.error;
  }
  return run;
}

function publishedPorts(run: ProgramRun): number[] {
  return (find(run, TYPES.container, "-nginx").inputs.ports as { external: number }[]).map((p) => p.external);
}

test("the template: small profile, test budget, ephemeral, no ports, no secrets", () => {
  const text = fs.readFileSync(path.join(ROOT, "Pulumi.preview.yaml"), "utf8");
  expect(parse(text).config).toEqual({ "ai-gateway:profile": "small", "ai-gateway:budget": "test", "ai-gateway:ephemeral": true });
  expect(text).not.toMatch(/secure:|encryptionsalt/);
  expect(text).toMatch(/^# .*npm run preview-stack/m);
});

test("a preview stack publishes the ports derived from its name, and its URLs carry them", async () => {
  const run = await preview("pr-1");
  const i = slot("pr-1");
  expect(publishedPorts(run)).toEqual([20000 + i, 30000 + i]);
  expect(run.outputs.openWebuiUrl).toBe(`http://127.0.0.1:${20000 + i}/`);
  expect(run.outputs.apiBaseUrl).toBe(`http://127.0.0.1:${20000 + i}/api/litellm/v1`);
  expect(run.outputs.adminUiUrl).toBe(`http://127.0.0.1:${30000 + i}/ui`);
  // Its data volumes go with it.
  const volumes = run.resources.filter((r) => r.type === TYPES.volume && r.name.endsWith("-data"));
  expect(volumes.map((v) => v.options.retainOnDelete)).toEqual([false, false]);
  // Every container and network carries the label `down` looks for leftovers by (the data volumes
  // have none, and a label added now would replace them: down also asks for each name in the state).
  const [label, value] = gatewayLabel("pr-1").split("=");
  const docker = run.resources.filter((r) => [TYPES.container, TYPES.network].includes(r.type as never));
  expect(docker.length).toBeGreaterThan(8);
  for (const r of docker) {
    expect([r.name, r.inputs.labels]).toEqual([r.name, expect.arrayContaining([{ label, value }])]);
  }
});

test("two previews get different ports, and each the same ports on every run", async () => {
  const [one, two, again] = [await preview("pr-1"), await preview("pr-2"), await preview("pr-2")];
  expect(publishedPorts(one)).not.toEqual(publishedPorts(two));
  expect(publishedPorts(again)).toEqual(publishedPorts(two));
  expect(publishedPorts(two)).toEqual([20000 + slot("pr-2"), 30000 + slot("pr-2")]);
});

test("ports set on a preview stack win over derived ones, and previewTtl is accepted there", async () => {
  const run = await preview("pr-3", { httpPort: "18480", adminPort: "18481", previewTtl: "3d" });
  expect(publishedPorts(run)).toEqual([18480, 18481]);
});
