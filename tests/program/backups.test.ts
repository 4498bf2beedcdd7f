/**
 * The backup containers and volume as the program registers them under Pulumi mocks: images,
 * networks, mounts, hardening, memory, the uploaded files (no secret in an environment or a plain
 * file), the schedule on and off, the S3 copy, the backups output, and that the backups volume is
 * a data volume (never replaced, kept on destroy unless the stack is ephemeral).
 */
import { BACKUP_CONFIG_DIR } from "../../lib/backups";
import { DEFAULTS } from "../../lib/settings";
import { scramSha256Verifier } from "../../lib/scram";
import { PROFILES } from "../../profiles";
import {
  filesOf,
  find,
  plainOccurrences,
  ProgramRun,
  RecordedResource,
  runProgram,
  stackConfig,
  TYPES,
  withSettings,
} from "../helpers/program";

const S3_SECRET = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY";
const S3_KEY_ID = "AKIAIOSFODNN7EXAMPLE";

async function run(stack: string, settings: Record<string, string | undefined> = {}): Promise<ProgramRun> {
  const result = await runProgram({ stack, config: withSettings(stackConfig(stack), settings) });
  if (result.error) {
    throw result.error;
  }
  return result;
}

const backupLitellm = (r: ProgramRun) => find(r, TYPES.container, "-backups-litellm-database");
const backupOpenWebui = (r: ProgramRun) => find(r, TYPES.container, "-backups-open-webui-volume");
const file = (r: ProgramRun, container: RecordedResource, name: string) =>
  filesOf(r, container).find((f) => f.file === `${BACKUP_CONFIG_DIR}/${name}`);
const networksOf = (container: RecordedResource) => (container.inputs.networksAdvanced ?? []).map((n: { name: string }) => n.name);

describe("stack small, backups on by default", () => {
  let r: ProgramRun;
  const prefix = "ai-gateway-small";
  beforeAll(async () => {
    r = await run("small");
  });

  test("backup-litellm: the pinned PostgreSQL image on the backend network only, the backups volume, the loop", () => {
    const c = backupLitellm(r);
    expect(c.inputs.name).toBe(`${prefix}-backup-litellm`);
    const image = find(r, TYPES.image, "-backups-litellm-database-image");
    expect(image.inputs.name).toBe(DEFAULTS.images.postgres);
    expect(networksOf(c)).toEqual([`${prefix}-backend`]);
    expect(c.inputs.command).toEqual(["sh", `${BACKUP_CONFIG_DIR}/postgres-backup.sh`, "loop"]);
    expect(c.inputs.volumes).toEqual(
      expect.arrayContaining([expect.objectContaining({ volumeName: `${prefix}-backups`, containerPath: "/backups" })]),
    );
    expect(c.inputs.volumes.map((v: { containerPath: string }) => v.containerPath).sort()).toEqual(["/backups", BACKUP_CONFIG_DIR]);
  });

  test("backup-open-webui: the pinned Open WebUI image on no network at all, Open WebUI's data volume (read-write) and the backups volume", () => {
    const c = backupOpenWebui(r);
    expect(c.inputs.name).toBe(`${prefix}-backup-open-webui`);
    expect(find(r, TYPES.image, "-backups-open-webui-volume-image").inputs.name).toBe(DEFAULTS.images.openWebui);
    expect(networksOf(c)).toEqual([]);
    expect(c.inputs.networkMode).toBe("none");
    expect(c.inputs.command).toEqual(["python3", `${BACKUP_CONFIG_DIR}/open_webui_backup.py`, "loop"]);
    const mounts = Object.fromEntries(c.inputs.volumes.map((v: any) => [v.containerPath, v]));
    expect(mounts["/backups"].volumeName).toBe(`${prefix}-backups`);
    expect(mounts["/app/backend/data"]).toEqual({ volumeName: `${prefix}-open-webui-data`, containerPath: "/app/backend/data" });
    expect(mounts[BACKUP_CONFIG_DIR].readOnly).toBe(true);
    expect(file(r, c, "s3.json")).toBeUndefined();
  });

  test.each([
    ["litellm", backupLitellm, "litellmMemoryMb"],
    ["open-webui", backupOpenWebui, "openWebuiMemoryMb"],
  ] as const)(
    "backup-%s: hardened like the others, memory from the profile, health-gated by the snapshot's age",
    (_service, of, memory) => {
      const c = of(r);
      expect(c.inputs).toMatchObject({
        user: "0:0",
        capabilities: { drops: ["ALL"] },
        securityOpts: ["no-new-privileges=true"],
        readOnly: true,
        tmpfs: { "/tmp": "size=16m" },
        restart: "unless-stopped",
        logDriver: "json-file",
        memory: PROFILES.small.backups[memory],
        memorySwap: PROFILES.small.backups[memory],
        wait: true,
      });
      expect(c.inputs.capabilities.adds).toBeUndefined();
      expect(c.inputs.envs).toBeUndefined();
      expect(c.inputs.healthcheck.tests).toEqual(["CMD", ...c.inputs.command.slice(0, 2), "check"]);
      expect(c.inputs.ports).toBeUndefined();
      // Its pids limit, like every other container's.
      const pids = r.resources.filter((p) => p.type === TYPES.pidsLimit && p.inputs.container === c.inputs.name);
      expect(pids.map((p) => p.inputs.pidsLimit)).toEqual([PROFILES.small.backups.pidsLimit]);
    },
  );

  test("the PostgreSQL password reaches backup-litellm only in .pgpass (0600, a secret), never in an environment or a plain input", () => {
    const c = backupLitellm(r);
    const pgpass = file(r, c, ".pgpass")!;
    expect(pgpass.permissions).toBe("0600");
    expect(pgpass.content).toMatch(/^postgres:5432:litellm:litellm:[A-Za-z0-9]{32}\n$/);
    const secret = pgpass.content.trim().split(":")[4];
    // The password whose SCRAM verifier PostgreSQL's container is given: the role's.
    expect(find(r, TYPES.container, "-postgres").inputs.envs).toContain(`POSTGRES_PASSWORD=${scramSha256Verifier(secret)}`);
    for (const resource of r.resources) {
      expect(plainOccurrences(resource.wireInputs, secret)).toEqual([]);
    }
  });

  test("the scripts are the runtime/ files, with their settings beside them", () => {
    const settingsEnv = file(r, backupLitellm(r), "settings.env")!.content;
    expect(settingsEnv).toContain("BACKUP_INTERVAL_SECONDS=86400\n");
    expect(settingsEnv).toContain("BACKUP_KEEP=7\n");
    expect(settingsEnv).toContain("BACKUP_SCHEDULE=on\n");
    expect(settingsEnv).toContain("PGHOST=postgres\n");
    expect(settingsEnv).toContain(`BACKUP_IMAGE=${DEFAULTS.images.litellm}\n`);
    expect(file(r, backupLitellm(r), "postgres-backup.sh")!.content).toContain("pg_dump --format=custom");
    const settingsJson = JSON.parse(file(r, backupOpenWebui(r), "settings.json")!.content);
    expect(settingsJson).toEqual({
      backupsDir: "/backups",
      dataDir: "/app/backend/data",
      intervalSeconds: 86400,
      keep: 7,
      schedule: true,
      image: DEFAULTS.images.openWebui,
    });
    expect(file(r, backupOpenWebui(r), "open_webui_backup.py")!.content).toContain("src.backup(dst)");
  });

  test("the backups volume is a data volume: its name fixed at creation, kept on destroy", () => {
    const volume = find(r, TYPES.volume, "-backups-volume");
    expect(volume.inputs.name).toBe(`${prefix}-backups`);
    expect(volume.options.retainOnDelete).toBe(true);
    expect(volume.options.ignoreChanges.sort()).toEqual(["driver", "name"]);
    expect(volume.options.replaceOnChanges).toEqual([]);
  });

  test("backup-litellm waits for PostgreSQL, backup-open-webui for Open WebUI", () => {
    expect(backupLitellm(r).dependencies).toContain(find(r, TYPES.container, "-postgres").urn);
    expect(backupOpenWebui(r).dependencies).toContain(find(r, TYPES.container, "-open-webui").urn);
  });

  test("the backups output: where, how often, how many, and the status command; no S3", () => {
    expect(r.secretOutputs.has("backups")).toBe(false);
    expect(r.outputs.backups).toEqual({
      volume: `${prefix}-backups`,
      directories: { litellm: "/backups/litellm", "open-webui": "/backups/open-webui" },
      containers: { litellm: `${prefix}-backup-litellm`, "open-webui": `${prefix}-backup-open-webui` },
      scheduled: true,
      interval: "24h",
      keep: 7,
      s3: null,
      statusCommand: "npm run backups -- status --stack small",
    });
  });
});

describe("backups: false", () => {
  test("the containers stay, idle (the pre-upgrade snapshot and restores exec into them): no loop, the healthcheck passes without a schedule", async () => {
    const r = await run("small", { backups: "false" });
    expect(backupLitellm(r).inputs.command).toEqual(["sh", `${BACKUP_CONFIG_DIR}/postgres-backup.sh`, "idle"]);
    expect(backupOpenWebui(r).inputs.command).toEqual(["python3", `${BACKUP_CONFIG_DIR}/open_webui_backup.py`, "idle"]);
    expect(file(r, backupLitellm(r), "settings.env")!.content).toContain("BACKUP_SCHEDULE=off\n");
    expect(JSON.parse(file(r, backupOpenWebui(r), "settings.json")!.content).schedule).toBe(false);
    expect((r.outputs.backups as { scheduled: boolean }).scheduled).toBe(false);
  });

  test("an ephemeral stack: off by default, and the backups volume goes with the stack", async () => {
    const r = await run("small", { ephemeral: "true" });
    expect(backupLitellm(r).inputs.command.pop()).toBe("idle");
    expect(find(r, TYPES.volume, "-backups-volume").options.retainOnDelete).toBe(false);
  });
});

describe("with S3", () => {
  let r: ProgramRun;
  beforeAll(async () => {
    r = await run("medium", {
      backupS3Endpoint: "https://s3.eu-central-1.amazonaws.com",
      backupS3Bucket: "team-backups",
      backupS3AccessKeyId: S3_KEY_ID,
      backupS3SecretAccessKey: S3_SECRET,
      backupInterval: "2m",
    });
  });

  test("backup-open-webui joins the egress network only; the credentials are in s3.json (0600, a secret), nowhere in plain", () => {
    const c = backupOpenWebui(r);
    expect(networksOf(c)).toEqual(["ai-gateway-medium-egress"]);
    const s3 = file(r, c, "s3.json")!;
    expect(s3.permissions).toBe("0600");
    expect(JSON.parse(s3.content)).toEqual({
      endpoint: "https://s3.eu-central-1.amazonaws.com",
      bucket: "team-backups",
      prefix: "ai-gateway-medium",
      region: "us-east-1",
      accessKeyId: S3_KEY_ID,
      secretAccessKey: S3_SECRET,
    });
    for (const resource of r.resources) {
      expect(plainOccurrences(resource.wireInputs, S3_SECRET)).toEqual([]);
      expect(plainOccurrences(resource.wireInputs, S3_KEY_ID)).toEqual([]);
    }
    expect(JSON.stringify(r.outputs.backups)).not.toContain(S3_SECRET);
    expect(JSON.stringify(r.outputs.backups)).not.toContain(S3_KEY_ID);
  });

  test("the output names the target without credentials; the interval is in minutes", () => {
    expect(r.outputs.backups).toMatchObject({
      interval: "2m",
      keep: 14,
      s3: { endpoint: "https://s3.eu-central-1.amazonaws.com", bucket: "team-backups", prefix: "ai-gateway-medium", region: "us-east-1" },
    });
    expect(file(r, backupLitellm(r), "settings.env")!.content).toContain("BACKUP_INTERVAL_SECONDS=120\n");
  });
});

test("an S3 endpoint without credentials is refused before anything is registered", async () => {
  const result = await runProgram({
    stack: "small",
    config: withSettings(stackConfig("small"), { backupS3Endpoint: "https://s3.example.com", backupS3Bucket: "b-1" }),
  });
  expect(result.error?.message).toMatch(/^Invalid ai-gateway setting backupS3AccessKeyId = \(not set\): is required with backupS3Endpoint/);
  expect(result.resources.filter((res) => res.custom)).toEqual([]);
});
