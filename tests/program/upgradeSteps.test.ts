/**
 * The upgrade steps' wiring, under Pulumi mocks: the PostgreSQL data guard comes before the
 * PostgreSQL container, and LiteLLM's migration step gets the new image's id and the database URL
 * (as a secret) and comes before LiteLLM's container.
 */
import { find, ProgramRun, RecordedResource, runProgram, SECRET_SIG, stackConfig, TYPES, withSettings } from "../helpers/program";
import { envRecord } from "../helpers/envList";
import { DEFAULTS } from "../../lib/settings";
import { SKIP_SERVER_STARTUP } from "../../components/litellmMigration";

const SIG_KEY = "4dabf18193072939515e22adb298388d";

describe("upgrade steps on the small stack", () => {
  let run: ProgramRun;
  const prefix = "ai-gateway-small";
  const container = (service: string) => find(run, TYPES.container, `-${service}`);
  const image = (service: string) => find(run, TYPES.image, `-${service}-image`);
  const one = (type: string): RecordedResource => {
    const matches = run.resources.filter((r) => r.type === type);
    expect(matches).toHaveLength(1);
    return matches[0];
  };

  beforeAll(async () => {
    run = await runProgram({ stack: "small" });
    if (run.error) {
      throw run.error;
    }
  });

  test("the PostgreSQL data guard records the pinned image", () => {
    const guard = one(TYPES.postgresDataGuard);
    expect(guard.inputs.image).toBe(DEFAULTS.images.postgres);
    expect(guard.inputs.setting).toBe("postgresImage");
    const gateway = run.resources.find((r) => r.type === "ai-gateway:index:Gateway")!;
    expect(guard.parent).toBe(gateway.urn);
  });

  test("PostgreSQL's image and container depend on the guard (a refused pin is neither pulled nor planned); the data volume does not", () => {
    const guard = one(TYPES.postgresDataGuard);
    expect(container("postgres").dependencies).toContain(guard.urn);
    expect(image("postgres").dependencies).toContain(guard.urn);
    expect(find(run, TYPES.volume, "-postgres-data").dependencies).not.toContain(guard.urn);
    // And so does the Docker provider, so that no Docker resource changes before the guard passed.
    const provider = one(TYPES.dockerProvider);
    expect(provider.dependencies).toContain(guard.urn);
    const waiting = run.resources.filter((r) => r.dependencies.includes(guard.urn)).map((r) => r.name);
    // The pre-upgrade snapshot steps too: nothing is snapshotted for a refused change.
    const snapshots = run.resources.filter((r) => r.type === TYPES.preUpgradeSnapshot).map((r) => r.name);
    expect(snapshots).toHaveLength(2);
    expect(waiting.sort()).toEqual([container("postgres").name, image("postgres").name, provider.name, ...snapshots].sort());
  });

  test("LiteLLM's migration step runs the pulled image's id on the backend network, with the database URL as a secret", () => {
    const step = one(TYPES.litellmMigration);
    const litellm = container("litellm");
    expect(step.inputs.imageId).toBe(litellm.inputs.image);
    expect(step.inputs.imageId).toMatch(/^sha256:/);
    expect(step.propertyDependencies.imageId).toEqual([image("litellm").urn]);
    expect(step.inputs.image).toBe(DEFAULTS.images.litellm);
    expect(step.inputs.network).toBe(`${prefix}-backend`);
    expect(step.inputs.litellmContainer).toBe(`${prefix}-litellm`);
    expect(step.inputs.migrationContainer).toBe(`${prefix}-litellm-migrate`);
    expect(step.inputs.memoryMb).toBe(litellm.inputs.memory);
    expect(step.inputs.dockerHost).toBe("unix:///var/run/docker.sock");
    // The same URL LiteLLM is given, and only as a secret, on the wire and in the state.
    expect(step.inputs.databaseUrl).toBe(envRecord(litellm.inputs.envs as string[]).DATABASE_URL);
    expect(step.wireInputs.databaseUrl).toEqual({ [SIG_KEY]: SECRET_SIG, value: step.inputs.databaseUrl });
    expect(step.options.additionalSecretOutputs.sort()).toEqual(["databaseUrl", "dockerTls"]);
    // Not a service container: `docker ps --filter label=ai-gateway.service=litellm` finds LiteLLM alone.
    expect(step.inputs.labels["ai-gateway.service"]).toBeUndefined();
    expect(step.inputs.labels["ai-gateway.migration-of"]).toBe(`${prefix}-litellm`);
  });

  test("LiteLLM's container waits for the migration step, which waits for PostgreSQL", () => {
    const step = one(TYPES.litellmMigration);
    expect(container("litellm").dependencies).toContain(step.urn);
    expect(step.dependencies).toContain(container("postgres").urn);
    // LiteLLM, and the database's backup container (its settings hold the pin) with its config
    // volume and filler: a failed migration replaces none of them, so `npm run rollback` has it.
    const waiting = run.resources.filter((r) => r.dependencies.includes(step.urn)).map((r) => r.name);
    expect(waiting.sort()).toEqual(
      [
        container("litellm").name,
        "ai-gateway-backups-litellm-database",
        "ai-gateway-backups-litellm-database-config",
        "ai-gateway-backups-litellm-database-config",
      ].sort(),
    );
  });

  test("the one-shot container is LiteLLM's CLI with --skip_server_startup, the option LiteLLM runs migrations with and exits", () => {
    expect(SKIP_SERVER_STARTUP).toBe("--skip_server_startup");
  });
});

describe("the guard follows the pin", () => {
  test("a changed postgresImage reaches the guard (its check compares it with the state's)", async () => {
    const pin = "postgres:16.16-trixie";
    const run = await runProgram({ config: withSettings(stackConfig("small"), { postgresImage: pin }) });
    expect(run.error).toBeUndefined();
    expect(run.resources.find((r) => r.type === TYPES.postgresDataGuard)!.inputs.image).toBe(pin);
  });
});
