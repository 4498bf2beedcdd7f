/**
 * The pre-upgrade snapshot step comes before what an upgrade replaces: LiteLLM's and Open WebUI's
 * containers and their backup containers depend on it, and it depends on none of them (it names
 * the backup container, it does not reference it), so a changed pin snapshots with the old
 * backup container before anything is replaced, and no cycle forms.
 */
import * as path from "path";
import { find, ProgramRun, RecordedResource, ROOT, runProgram, TYPES } from "../helpers/program";

const SNAPSHOT = "pulumi-nodejs:dynamic/ai-gateway:PreUpgradeSnapshot";

let run: ProgramRun;

beforeAll(async () => {
  run = await runProgram({ stack: "dev", config: {}, program: path.join(ROOT, "tests", "fixtures", "preUpgradeProgram.ts") });
});

function dependsOn(resource: RecordedResource, on: RecordedResource): boolean {
  return resource.dependencies.includes(on.urn) || Object.values(resource.propertyDependencies).some((deps) => deps.includes(on.urn));
}

test("the program runs", () => {
  expect(run.error).toBeUndefined();
  expect(run.outputs.containers).toEqual(["gw-litellm", "gw-open-webui", "gw-backup-litellm", "gw-backup-open-webui"]);
});

test.each([
  ["litellm", "gw-litellm", "gw-backup-litellm"],
  ["openWebui", "gw-open-webui", "gw-backup-open-webui"],
])("%s: its container and its backup container wait for the snapshot step, which waits for neither", (service, container, backup) => {
  const step = find(run, SNAPSHOT, `${container}-pre-upgrade`);
  expect(step.inputs).toMatchObject({
    service,
    serviceContainer: container,
    backupContainer: backup,
    dockerHost: "unix:///var/run/docker.sock",
  });
  const serviceContainer = run.resources.find((r) => r.type === TYPES.container && r.inputs.name === container)!;
  const backupContainer = run.resources.find((r) => r.type === TYPES.container && r.inputs.name === backup)!;
  expect(dependsOn(serviceContainer, step)).toBe(true);
  expect(dependsOn(backupContainer, step)).toBe(true);
  expect(step.dependencies).toEqual([]);
  expect(Object.values(step.propertyDependencies).flat()).toEqual([]);
});

test("dependencies given before the step are kept (a list, one resource, an Output)", () => {
  const postgres = find(run, TYPES.container, "gw-postgres");
  for (const name of ["gw-litellm", "gw-backup-litellm", "gw-backup-open-webui"]) {
    const container = run.resources.find((r) => r.type === TYPES.container && r.inputs.name === name)!;
    expect([name, dependsOn(container, postgres)]).toEqual([name, true]);
  }
});

test("the image pin is the step's input, and the endpoint's TLS material would be a secret output", () => {
  const step = find(run, SNAPSHOT, "gw-litellm-pre-upgrade");
  expect(step.inputs.image).toBe("ghcr.io/berriai/litellm:v1.110.1-stable");
  expect(step.options.additionalSecretOutputs).toEqual(["dockerTls"]);
});
