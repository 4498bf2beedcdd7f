/**
 * No config change ever replaces or deletes a data volume (issue 12, "Verification"), under mocks:
 * from a base stack, each change of a matrix (profile, budget, every image pin, ports, consumers,
 * every rotation version, retention) registers every data volume again with identical inputs and
 * options: kept on `pulumi destroy` unless the stack is ephemeral, and deaf to a change of name or
 * driver (components/serviceContainer.ts dataVolume). The data volumes are found in what the
 * program registers, not listed here: every Docker volume that is not a read-only container's
 * config volume (labelled `ai-gateway.config-of`), so a volume added through dataVolume later is
 * covered without a change here.
 */
import { ProgramRun, RecordedResource, runProgram, stackConfig, TYPES, withSettings } from "../helpers/program";

/** The data volumes a run registered, by URN. */
function dataVolumes(run: ProgramRun): Map<string, RecordedResource> {
  const volumes = run.resources.filter(
    (r) => r.type === TYPES.volume && !(r.inputs.labels ?? []).some((l: { label: string }) => l.label === "ai-gateway.config-of"),
  );
  return new Map(volumes.map((v) => [v.urn, v]));
}

async function runWith(stack: string, settings: Record<string, string | undefined>): Promise<ProgramRun> {
  const run = await runProgram({ stack, config: withSettings(stackConfig(stack), settings) });
  if (run.error) {
    throw run.error;
  }
  return run;
}

const OTHER_IMAGES: Record<string, string> = {
  litellmImage: "ghcr.io/berriai/litellm:v1.110.2",
  openWebuiImage: "ghcr.io/open-webui/open-webui:v0.11.5",
  // Same major version and OS suffix: a change the program accepts on existing data.
  postgresImage: "postgres:16.16-trixie",
  nginxImage: "nginx:1.30.6-alpine",
  redisImage: "redis:8.10.3-alpine",
};

/** [description, base stack, settings changed from it]. */
const CHANGES: [string, string, Record<string, string | undefined>][] = [
  ["profile small -> medium (Redis added)", "small", { profile: "medium" }],
  ["profile medium -> small (Redis removed)", "medium", { profile: "small" }],
  ["profile medium -> large", "medium", { profile: "large" }],
  ["profile large -> medium", "large", { profile: "medium" }],
  ["budget test -> prod", "small", { budget: "prod" }],
  ...Object.entries(OTHER_IMAGES).map(
    ([key, image]) => [`${key} -> ${image}`, "medium", { [key]: image }] as [string, string, Record<string, string | undefined>],
  ),
  ["httpPort 8081 -> 8091", "small", { httpPort: "8091" }],
  ["adminPort 4002 -> 4012", "small", { adminPort: "4012" }],
  ["a consumer added to apiKeys", "small", { apiKeys: JSON.stringify([{ name: "agents" }, { name: "ci" }]) }],
  ["every consumer removed from apiKeys", "small", { apiKeys: "[]" }],
  ["postgresPasswordVersion 1 -> 2", "small", { postgresPasswordVersion: "2" }],
  ["masterKeyVersion 1 -> 2", "small", { masterKeyVersion: "2" }],
  ["webuiSecretKeyVersion 1 -> 2", "small", { webuiSecretKeyVersion: "2" }],
  ["spendLogRetention 30d -> 7d", "small", { spendLogRetention: "7d" }],
  ["backups on -> off", "small", { backups: "false" }],
  ["backupInterval and backupKeep changed", "small", { backupInterval: "6h", backupKeep: "3" }],
  [
    "an S3 copy of the backups added",
    "small",
    {
      backupS3Endpoint: "https://s3.example.com",
      backupS3Bucket: "gateway-backups",
      backupS3AccessKeyId: "AKIAEXAMPLE",
      backupS3SecretAccessKey: "secret-example",
    },
  ],
];

describe("a data volume is never replaced or deleted by a config change", () => {
  const bases = new Map<string, ProgramRun>();
  async function base(stack: string): Promise<ProgramRun> {
    if (!bases.has(stack)) {
      bases.set(stack, await runWith(stack, {}));
    }
    return bases.get(stack)!;
  }

  test("the program's data volumes are found: PostgreSQL's and Open WebUI's at least, each kept on destroy and deaf to name and driver", async () => {
    const volumes = [...dataVolumes(await base("small")).values()];
    expect(volumes.map((v) => v.inputs.name)).toEqual(
      expect.arrayContaining(["ai-gateway-small-postgres-data", "ai-gateway-small-open-webui-data", "ai-gateway-small-backups"]),
    );
    for (const volume of volumes) {
      expect([volume.name, volume.options.retainOnDelete, [...volume.options.ignoreChanges].sort()]).toEqual([
        volume.name,
        true,
        ["driver", "name"],
      ]);
    }
  });

  test.each(CHANGES)("%s", async (_description, stack, settings) => {
    const before = dataVolumes(await base(stack));
    const after = dataVolumes(await runWith(stack, settings));
    expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
    for (const [urn, volume] of before) {
      const changed = after.get(urn)!;
      expect([volume.name, changed.inputs, changed.options, changed.parent]).toEqual([
        volume.name,
        volume.inputs,
        volume.options,
        volume.parent,
      ]);
      expect(changed.options.retainOnDelete).toBe(true);
    }
  });

  test("on an ephemeral stack the same volumes are deleted with it (and only then)", async () => {
    const kept = dataVolumes(await base("small"));
    const ephemeral = dataVolumes(await runWith("small", { ephemeral: "true" }));
    expect([...ephemeral.keys()].sort()).toEqual([...kept.keys()].sort());
    for (const volume of ephemeral.values()) {
      expect([volume.name, volume.options.retainOnDelete, [...volume.options.ignoreChanges].sort()]).toEqual([
        volume.name,
        false,
        ["driver", "name"],
      ]);
    }
  });
});
