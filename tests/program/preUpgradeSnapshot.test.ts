/**
 * The pre-upgrade snapshot step comes before what an upgrade replaces: LiteLLM's migration step,
 * LiteLLM's and Open WebUI's containers and their backup containers depend on it, and it depends
 * on none of them (it names the backup container, it does not reference it), so a changed pin
 * snapshots with the old backup container before anything is replaced, and no cycle forms. The
 * real program (index.ts) under mocks.
 */
import { find, ProgramRun, RecordedResource, runProgram, stackConfig, TYPES } from "../helpers/program";

const SNAPSHOT = TYPES.preUpgradeSnapshot;

let run: ProgramRun;

beforeAll(async () => {
  run = await runProgram({ stack: "small", config: stackConfig("small") });
});

function dependsOn(resource: RecordedResource, on: RecordedResource): boolean {
  return resource.dependencies.includes(on.urn) || Object.values(resource.propertyDependencies).some((deps) => deps.includes(on.urn));
}

function container(name: string): RecordedResource {
  const found = run.resources.find((r) => r.type === TYPES.container && r.inputs.name === name);
  expect(found).toBeDefined();
  return found!;
}

test("the program runs, with one step per service", () => {
  expect(run.error).toBeUndefined();
  expect(run.resources.filter((r) => r.type === SNAPSHOT).map((r) => r.name)).toEqual([
    "ai-gateway-litellm-pre-upgrade",
    "ai-gateway-open-webui-pre-upgrade",
  ]);
});

test.each([
  ["litellm", "litellm", "backup-litellm"],
  ["openWebui", "open-webui", "backup-open-webui"],
])(
  "%s: its container and its backup container wait for the snapshot step, which waits for the PostgreSQL guard only",
  (service, suffix, backup) => {
    const prefix = "ai-gateway-small";
    const step = find(run, SNAPSHOT, `ai-gateway-${suffix}-pre-upgrade`);
    expect(step.inputs).toMatchObject({
      service,
      serviceContainer: `${prefix}-${suffix}`,
      backupContainer: `${prefix}-${backup}`,
      dockerHost: "unix:///var/run/docker.sock",
    });
    expect(dependsOn(container(`${prefix}-${suffix}`), step)).toBe(true);
    expect(dependsOn(container(`${prefix}-${backup}`), step)).toBe(true);
    // So do its config volume and the container that fills it: replacing that filler (first, as
    // deleteBeforeReplace) makes Pulumi remove the backup container at once, so the filler must not
    // be replaced while the snapshot runs in it.
    expect(dependsOn(container(`${prefix}-${backup}-config`), step)).toBe(true);
    const configVolume = run.resources.find((r) => r.type === TYPES.volume && String(r.inputs.name).startsWith(`${prefix}-${backup}-`))!;
    expect(dependsOn(configVolume, step)).toBe(true);
    expect(step.dependencies).toEqual([find(run, TYPES.postgresDataGuard, "ai-gateway-postgres-data-guard").urn]);
    expect(Object.values(step.propertyDependencies).flat()).toEqual([]);
  },
);

test("LiteLLM's migration step runs after the snapshot, and LiteLLM's container after both", () => {
  const step = find(run, SNAPSHOT, "ai-gateway-litellm-pre-upgrade");
  const migration = run.resources.find((r) => r.type === TYPES.litellmMigration)!;
  expect(dependsOn(migration, step)).toBe(true);
  expect(dependsOn(container("ai-gateway-small-litellm"), migration)).toBe(true);
});

test("LiteLLM's backup container waits for the migration step: a failed migration leaves it (and the rollback's restore) in place", () => {
  const migration = run.resources.find((r) => r.type === TYPES.litellmMigration)!;
  expect(dependsOn(container("ai-gateway-small-backup-litellm"), migration)).toBe(true);
  // Its config volume's filling container too: replacing it (the pin is in its files) deletes the backup container first.
  expect(dependsOn(container("ai-gateway-small-backup-litellm-config"), migration)).toBe(true);
  expect(dependsOn(migration, container("ai-gateway-small-backup-litellm"))).toBe(false);
});

test("dependencies given before the step are kept: LiteLLM and the database's backup container still wait for PostgreSQL", () => {
  const postgres = container("ai-gateway-small-postgres");
  for (const name of ["ai-gateway-small-litellm", "ai-gateway-small-backup-litellm"]) {
    expect([name, dependsOn(container(name), postgres)]).toEqual([name, true]);
  }
  expect(dependsOn(container("ai-gateway-small-backup-open-webui"), container("ai-gateway-small-open-webui"))).toBe(true);
});

test("the image pin is the step's input, and the endpoint's TLS material would be a secret output", () => {
  const step = find(run, SNAPSHOT, "ai-gateway-litellm-pre-upgrade");
  const litellmImage = find(run, TYPES.image, "ai-gateway-litellm-image");
  expect(step.inputs.image).toBe(litellmImage.inputs.name);
  expect(step.options.additionalSecretOutputs).toEqual(["dockerTls"]);
});
