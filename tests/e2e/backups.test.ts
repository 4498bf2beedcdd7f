/**
 * Scheduled backups on a gateway the real Pulumi CLI deployed on the Docker engine (a small stack
 * on the local test images, a 2-minute interval): both backup containers run hardened and turn
 * healthy once their first snapshot is in the backups volume; the loop takes the next one an
 * interval later; `npm run backups -- status` reports both fresh (exit 0) and `list` lists them;
 * a snapshot taken by hand restores into the live database; the README's `docker cp` copies the
 * backups off with their sidecars; a second `pulumi up` has nothing to change; and a profile
 * change plans what the README's change table says.
 */
import { spawnSync } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import {
  BACKUP_SERVICES,
  BackupService,
  listSnapshotsCommand,
  parseSnapshotRecord,
  restoreCommand,
  snapshotCommand,
  SnapshotRecord,
} from "../../lib/backups";
import { PROFILES } from "../../profiles";
import { pollUntil } from "../helpers/dockerEngine";
import { ROOT } from "../helpers/program";
import { changes, docker, dockerExec, inspect, psql, volumeExists, Workspace } from "./harness";
import { allHealthy, IMAGES, names, promisedChanges, readmeChangeTable, removeLeftovers, useLocalImages } from "./gateway";
import { describeE2E } from "./requirements";

const STACK = "backups";
/** Ports of no other e2e file. */
const HTTP_PORT = 18680;
const ADMIN_PORT = 14680;
const n = names(STACK);
const CONTAINERS: Record<BackupService, string> = { litellm: `${n.prefix}-backup-litellm`, openWebui: `${n.prefix}-backup-open-webui` };

async function snapshots(service: BackupService): Promise<SnapshotRecord[]> {
  const listed = await dockerExec(CONTAINERS[service], listSnapshotsCommand(service));
  return listed
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map(parseSnapshotRecord);
}

describeE2E("scheduled backups on a deployed gateway", () => {
  const workspace = new Workspace("backups");
  const stack = workspace.stack(STACK);

  /** tools/backups.ts as `npm run backups` runs it, in the project directory with its backend. */
  function backupsTool(...args: string[]): { code: number | null; stdout: string; stderr: string } {
    const result = spawnSync(path.join(ROOT, "node_modules", ".bin", "ts-node"), ["-T", path.join(ROOT, "tools", "backups.ts"), ...args], {
      cwd: workspace.dir,
      env: { ...process.env, ...workspace.env, TS_NODE_PROJECT: path.join(ROOT, "tsconfig.json") },
      encoding: "utf8",
      timeout: 300_000,
    });
    return { code: result.status, stdout: result.stdout, stderr: result.stderr };
  }

  beforeAll(async () => {
    await removeLeftovers(STACK, { volumes: true });
    await docker(["volume", "rm", `${n.prefix}-backups`], { allowFailure: true });
    const config = fs
      .readFileSync(path.join(ROOT, "Pulumi.small.yaml"), "utf8")
      .replace(/httpPort: \d+/, `httpPort: ${HTTP_PORT}`)
      .replace(/adminPort: \d+/, `adminPort: ${ADMIN_PORT}`);
    fs.writeFileSync(path.join(workspace.dir, `Pulumi.${STACK}.yaml`), config);
    await stack.init();
    await useLocalImages(stack);
    // Ephemeral (everything goes with the stack), with backups asked for: they are off there by default.
    await stack.set("ephemeral", "true");
    await stack.set("backups", "true");
    await stack.set("backupInterval", "2m");
    await stack.set("backupKeep", "3");
    await stack.up();
    await allHealthy(STACK);
  });

  afterAll(async () => {
    await stack.destroy({ allowFailure: true });
    await removeLeftovers(STACK, { volumes: true });
    await docker(["volume", "rm", `${n.prefix}-backups`], { allowFailure: true });
    workspace.remove();
  });

  test("both backup containers are healthy, hardened and sized by the profile; backup-open-webui has no network", async () => {
    for (const service of BACKUP_SERVICES) {
      const info = await inspect(CONTAINERS[service]);
      expect(info.State.Health.Status).toBe("healthy");
      expect(info.HostConfig.ReadonlyRootfs).toBe(true);
      expect(info.HostConfig.CapDrop).toEqual(["ALL"]);
      expect(info.HostConfig.SecurityOpt).toEqual(["no-new-privileges=true"]);
      expect(info.HostConfig.PidsLimit).toBe(PROFILES.small.backups.pidsLimit);
      const memoryMb = service === "litellm" ? PROFILES.small.backups.litellmMemoryMb : PROFILES.small.backups.openWebuiMemoryMb;
      expect(info.HostConfig.Memory).toBe(memoryMb * 1024 * 1024);
      // No secret in the environment: the password is in .pgpass, the S3 keys (none here) in s3.json.
      expect((info.Config.Env as string[]).filter((e) => /PASSWORD|SECRET|KEY/i.test(e))).toEqual([]);
    }
    expect(Object.keys((await inspect(CONTAINERS.litellm)).NetworkSettings.Networks)).toEqual([n.network]);
    expect((await inspect(CONTAINERS.openWebui)).HostConfig.NetworkMode).toBe("none");
    expect(await volumeExists(`${n.prefix}-backups`)).toBe(true);
  });

  test("each service has a scheduled snapshot, described by its sidecar with the service's image pin", async () => {
    const litellm = (await snapshots("litellm")).filter((r) => r.label === "scheduled");
    const openWebui = (await snapshots("openWebui")).filter((r) => r.label === "scheduled");
    expect(litellm.length).toBeGreaterThanOrEqual(1);
    expect(openWebui.length).toBeGreaterThanOrEqual(1);
    expect(litellm[0]).toMatchObject({ service: "litellm", image: IMAGES.litellmImage });
    expect(openWebui[0]).toMatchObject({ service: "openWebui", image: IMAGES.openWebuiImage });
    // Open WebUI's database is in its snapshot.
    const members = await dockerExec(CONTAINERS.openWebui, [
      "python3",
      "-c",
      `import tarfile; print("\\n".join(tarfile.open("/backups/open-webui/${openWebui[0].file}").getnames()))`,
    ]);
    expect(members.split("\n")).toContain("webui.db");
  });

  test("npm run backups -- status reports both fresh and exits 0; list lists the snapshots", () => {
    const status = backupsTool("status", "--stack", STACK);
    expect(status.stderr).toBe("");
    expect(status.stdout).toMatch(/^litellm +OK +[0-9]{8}T[0-9]{6}Z-scheduled\.dump \(\d+ bytes\), .* old \(interval 2m\)$/m);
    expect(status.stdout).toMatch(/^open-webui +OK +[0-9]{8}T[0-9]{6}Z-scheduled\.tar\.gz/m);
    expect(status.code).toBe(0);
    const list = backupsTool("list", "--stack", STACK);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^litellm +[0-9]{8}T[0-9]{6}Z-scheduled\.dump +\d+ bytes +image /m);
    expect(backupsTool("status").code).toBe(2);
  });

  test("a snapshot taken now restores into LiteLLM's live database (its rows back)", async () => {
    await psql(n.container("postgres"), "CREATE TABLE IF NOT EXISTS e2e_backup (id int PRIMARY KEY)");
    await psql(n.container("postgres"), "INSERT INTO e2e_backup SELECT generate_series(1, 100) ON CONFLICT DO NOTHING");
    const record = parseSnapshotRecord(
      (await dockerExec(CONTAINERS.litellm, snapshotCommand("litellm", "pre-upgrade-litellm"))).trim().split("\n").pop()!,
    );
    await psql(n.container("postgres"), "DELETE FROM e2e_backup WHERE id > 10");
    expect(await psql(n.container("postgres"), "SELECT count(*) FROM e2e_backup")).toBe("10");
    const restored = await dockerExec(CONTAINERS.litellm, restoreCommand("litellm", record.file));
    expect(restored).toContain(`restored ${record.file}`);
    expect(await psql(n.container("postgres"), "SELECT count(*) FROM e2e_backup")).toBe("100");
  });

  test("the loop takes the next scheduled snapshot an interval later", async () => {
    const before = (await snapshots("litellm")).filter((r) => r.label === "scheduled").map((r) => r.file);
    const next = await pollUntil(
      "the next scheduled snapshot",
      200_000,
      async () => (await snapshots("litellm")).find((r) => r.label === "scheduled" && !before.includes(r.file)),
      5000,
    );
    expect(
      Date.parse(next.created) - Date.parse((await snapshots("litellm")).filter((r) => r.label === "scheduled")[0].created),
    ).toBeGreaterThanOrEqual(110_000);
  });

  test("the README's way to copy the backups off the host (docker cp) gives files that match their sidecars", async () => {
    const target = path.join(workspace.dir, "gateway-backups");
    fs.mkdirSync(target);
    await docker(["cp", `${CONTAINERS.litellm}:/backups/.`, `${target}/`]);
    for (const [service, dir] of [
      ["litellm", "litellm"],
      ["openWebui", "open-webui"],
    ] as const) {
      const kept = await snapshots(service);
      expect(kept.length).toBeGreaterThan(0);
      for (const record of kept) {
        const copied = fs.readFileSync(path.join(target, dir, record.file));
        expect(createHash("sha256").update(copied).digest("hex")).toBe(record.sha256);
        expect(JSON.parse(fs.readFileSync(path.join(target, dir, `${record.file}.json`), "utf8"))).toEqual(record);
      }
    }
  });

  test("a second `pulumi up` has nothing to change", async () => {
    await stack.expectNoChanges();
  });

  test("a profile change on the schedule's defaults plans what the README's change table says, the backup containers included", async () => {
    await stack.unset("backupInterval");
    await stack.unset("backupKeep");
    await stack.set("profile", "medium");
    const table = readmeChangeTable(fs.readFileSync(path.join(ROOT, "README.md"), "utf8"));
    const planned = changes(await stack.previewSteps());
    // Also the schedule's own change (2m to medium's 12h) replaces the two containers' config volumes: the same steps.
    expect(planned).toEqual(promisedChanges(table["`profile` from small"]));
  });
});
