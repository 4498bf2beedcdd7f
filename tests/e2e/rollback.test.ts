/**
 * Restore and rollback on a whole gateway (issue 12's verification), with the real CLI, engine,
 * backup containers and tools: data written, snapshotted, changed and put back with `npm run
 * restore`; a LiteLLM upgrade whose migration fails half-way (the stand-in's
 * v1.110.2-broken-migration tag, scripts/build-images.sh) fails `pulumi up` after a pre-upgrade
 * snapshot, leaves the old LiteLLM serving, and `npm run rollback` returns the previous pin and the
 * data from before the half-applied migration; a good upgrade snapshots before LiteLLM is replaced.
 */
import {
  BACKUP_CONTAINER_SUFFIX,
  BackupService,
  listSnapshotsCommand,
  parseSnapshotRecord,
  snapshotCommand,
  SnapshotRecord,
} from "../../lib/backups";
import { parseSnapshotList } from "../../tools/restoreArgs";
import { pollUntil } from "../helpers/dockerEngine";
import { REGISTRY, registryImages } from "../helpers/registryImages";
import { CliResult, docker, dockerExec, inspect, psql, Stack, Workspace } from "./harness";
import {
  allHealthy,
  IMAGES,
  names,
  publicChecks,
  readMarkers,
  removeLeftovers,
  initSmallEphemeral,
  virtualKeys,
  writeMarkers,
} from "./gateway";
import { describeE2E } from "./requirements";

const STACK = "i12-rollback";
const HTTP_PORT = 18392;
const ADMIN_PORT = 14393;
const BASE_URL = `http://127.0.0.1:${HTTP_PORT}`;
const LITELLM_PREVIOUS = IMAGES.litellmImage;
const LITELLM_NEXT = `${REGISTRY}/berriai/litellm:v1.110.2`;
const LITELLM_BROKEN = `${REGISTRY}/berriai/litellm:v1.110.2-broken-migration`;
/** The stand-in's failing migration, and the column it adds before it fails (tests/fixtures/docker/litellm_standin.py). */
const BROKEN_MIGRATION = "20261120000000_standin_broken_migration";
const BROKEN_COLUMN = `standin_${BROKEN_MIGRATION}`;
const GOOD_MIGRATION = "20261110000000_standin_upgrade";

const n = names(STACK);
const backupContainer = (service: BackupService) => `${n.prefix}-${BACKUP_CONTAINER_SUFFIX[service]}`;

/** Row count and an md5 of every row of LiteLLM's keys table and of the marker table: equal means the same data. */
async function databaseFingerprint(): Promise<string> {
  const sum = (table: string) =>
    psql(n.container("postgres"), `SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') FROM ${table} t`);
  return `keys ${await sum('"LiteLLM_VerificationToken"')} markers ${await sum("e2e_marker")}`;
}

/** The marker file's bytes and a hash of Open WebUI's database's contents (its SQL dump, independent of page layout). */
async function openWebuiFingerprint(): Promise<string> {
  const dump =
    "import hashlib, sqlite3; c = sqlite3.connect('file:/app/backend/data/webui.db?mode=ro', uri=True); " +
    "print(hashlib.sha256('\\n'.join(c.iterdump()).encode()).hexdigest())";
  const file = await dockerExec(n.container("open-webui"), ["sha256sum", "/app/backend/data/e2e-marker"]);
  return `${file.trim()} webui.db ${(await dockerExec(n.container("open-webui"), ["python3", "-c", dump])).trim()}`;
}

async function snapshot(service: BackupService): Promise<SnapshotRecord> {
  const out = await dockerExec(backupContainer(service), snapshotCommand(service, "scheduled"));
  return parseSnapshotRecord(out.trim().split("\n").pop()!);
}

async function listed(service: BackupService): Promise<SnapshotRecord[]> {
  return parseSnapshotList(await dockerExec(backupContainer(service), listSnapshotsCommand(service)));
}

async function preUpgradeSnapshots(): Promise<SnapshotRecord[]> {
  return (await listed("litellm")).filter((r) => r.label === "pre-upgrade-litellm");
}

async function brokenColumns(): Promise<string> {
  return psql(
    n.container("postgres"),
    `SELECT count(*) FROM information_schema.columns WHERE table_name = 'LiteLLM_VerificationToken' AND column_name = '${BROKEN_COLUMN}'`,
  );
}

async function unfinishedMigrations(): Promise<string> {
  return psql(n.container("postgres"), `SELECT count(*) FROM "_prisma_migrations" WHERE finished_at IS NULL`);
}

function said(result: CliResult): string {
  return `${result.stdout}\n${result.stderr}`;
}

describeE2E("restore and rollback on a whole gateway", () => {
  const workspace = new Workspace(STACK);
  const stack: Stack = workspace.stack(STACK);
  let keys: Record<string, string>;
  const allKeys = (status: number) => Object.fromEntries(Object.keys(keys).map((k) => [k, status]));
  const timings: string[] = [];
  const timed = async <T>(what: string, run: () => Promise<T>): Promise<T> => {
    const start = Date.now();
    try {
      return await run();
    } finally {
      timings.push(`${what}: ${((Date.now() - start) / 1000).toFixed(1)} s`);
    }
  };

  beforeAll(async () => {
    // Builds (or finds) the stand-in's LiteLLM tags along with the other images.
    await registryImages();
    await removeLeftovers(STACK, { volumes: true });
    await initSmallEphemeral(stack, { httpPort: HTTP_PORT, adminPort: ADMIN_PORT });
    await timed("first pulumi up", () => stack.up());
    await allHealthy(STACK);
    keys = virtualKeys(await stack.outputs());
  });

  afterAll(async () => {
    process.stdout.write(`rollback.test.ts timings:\n  ${timings.join("\n  ")}\n`);
    await stack.destroy({ allowFailure: true });
    await removeLeftovers(STACK, { volumes: true });
    workspace.remove();
  });

  test("npm run restore --snapshot latest puts back LiteLLM's database and Open WebUI's data; a missing snapshot exits 2", async () => {
    await writeMarkers(STACK, "in-snapshot");
    const database = await databaseFingerprint();
    const webui = await openWebuiFingerprint();
    const taken = { litellm: await snapshot("litellm"), openWebui: await snapshot("openWebui") };
    expect(taken.litellm.image).toBe(LITELLM_PREVIOUS);

    await psql(n.container("postgres"), "DELETE FROM e2e_marker");
    await writeMarkers(STACK, "after-snapshot");
    await dockerExec(n.container("open-webui"), ["sh", "-c", "echo changed > /app/backend/data/e2e-marker"]);
    expect(await databaseFingerprint()).not.toBe(database);
    expect(await openWebuiFingerprint()).not.toBe(webui);

    const missing = await workspace.npm(
      "restore",
      ["--stack", STACK, "--service", "litellm", "--snapshot", "20990101T000000Z-scheduled.dump", "--yes"],
      { allowFailure: true },
    );
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim().split("\n")).toEqual([
      `restore: no snapshot 20990101T000000Z-scheduled.dump of litellm: the newest: ${taken.litellm.file}`,
    ]);

    const litellm = await timed("npm run restore litellm", () =>
      workspace.npm("restore", ["--stack", STACK, "--service", "litellm", "--snapshot", "latest", "--yes"]),
    );
    expect(litellm.stdout).toContain(`restored litellm of stack ${STACK} from ${taken.litellm.file}`);
    const openWebui = await timed("npm run restore open-webui", () =>
      workspace.npm("restore", ["--stack", STACK, "--service", "open-webui", "--snapshot", "latest", "--yes"]),
    );
    expect(openWebui.stdout).toContain(`restored open-webui of stack ${STACK} from ${taken.openWebui.file}`);

    await allHealthy(STACK);
    expect(await readMarkers(STACK)).toEqual({ postgres: ["in-snapshot"], openWebui: ["in-snapshot"] });
    expect(await databaseFingerprint()).toBe(database);
    expect(await openWebuiFingerprint()).toBe(webui);
    expect((await publicChecks(BASE_URL, keys)).withKey).toEqual(allKeys(200));
    await timed("preview --expect-no-changes", () => stack.expectNoChanges());
  });

  test("a failed LiteLLM upgrade: snapshot first, up fails, the old LiteLLM serves; npm run rollback returns the pin and the data", async () => {
    await writeMarkers(STACK, "before-upgrade");
    const database = await databaseFingerprint();
    const before = await inspect(n.container("litellm"));
    const backupBefore = await inspect(backupContainer("litellm"));
    const started = Date.now();

    await stack.set("litellmImage", LITELLM_BROKEN);
    const { result } = await timed("failed pulumi up", () => stack.up([], { allowFailure: true }));
    const failed = Date.now();
    expect(result.code).not.toBe(0);
    expect(said(result)).toContain(
      `LiteLLM's database migration with ${LITELLM_BROKEN} failed (exit 2); the LiteLLM container was not replaced`,
    );
    expect(said(result)).toContain("Error: P3018");
    expect(said(result)).toContain(`Migration name: ${BROKEN_MIGRATION}`);

    // The pre-upgrade snapshot: one, with the previous pin, taken during this up (before the migration failed).
    const taken = await preUpgradeSnapshots();
    expect(taken).toHaveLength(1);
    expect(taken[0].image).toBe(LITELLM_PREVIOUS);
    expect(Date.parse(taken[0].created)).toBeGreaterThanOrEqual(Math.floor(started / 1000) * 1000);
    expect(Date.parse(taken[0].created)).toBeLessThanOrEqual(failed);

    // LiteLLM's backup container (which the rollback restores with) was left as it was.
    expect((await inspect(backupContainer("litellm"))).Id).toBe(backupBefore.Id);
    // The old container serves; the database holds the half-applied migration.
    const after = await inspect(n.container("litellm"));
    expect([after.Id, after.Image, after.State.Running]).toEqual([before.Id, before.Image, true]);
    expect((await publicChecks(BASE_URL, keys)).withKey).toEqual(allKeys(200));
    expect(await brokenColumns()).toBe("1");
    expect(await unfinishedMigrations()).toBe("1");
    // And the old image cannot start on it again: a restart (or a reboot) stops it with Prisma's P3009.
    await docker(["restart", n.container("litellm")]);
    await pollUntil("LiteLLM exits on the half-applied migration", 60_000, async () =>
      (await inspect(n.container("litellm"))).State.ExitCode === 2 ? true : undefined,
    );
    const logs = await docker(["logs", "--since", new Date(failed).toISOString(), n.container("litellm")]);
    expect(`${logs.stdout}${logs.stderr}`).toContain("Error: P3009");

    const rollback = await timed("npm run rollback", () => workspace.npm("rollback", ["--stack", STACK, "--service", "litellm"]));
    expect(rollback.stdout).toContain(`1/4 snapshot ${taken[0].file}`);
    // It still runs (restarting) the previous image: the rollback starts it once the data is restored.
    expect(rollback.stdout).toContain(`2/4 ${n.container("litellm")} still runs ${LITELLM_PREVIOUS}: restoring, then starting it`);
    expect(rollback.stdout).toContain(`3/4 pulumi config set litellmImage ${LITELLM_PREVIOUS}`);
    expect(rollback.stdout).toContain(`rolled back litellm of stack ${STACK} to ${LITELLM_PREVIOUS} with the data of ${taken[0].file}`);
    expect((await workspace.pulumi(["--stack", STACK, "config", "get", "litellmImage"])).stdout.trim()).toBe(LITELLM_PREVIOUS);

    // The half-applied migration is gone; the data is what it was before the upgrade.
    expect(await brokenColumns()).toBe("0");
    expect(await unfinishedMigrations()).toBe("0");
    expect(await databaseFingerprint()).toBe(database);
    await allHealthy(STACK);
    const running = await inspect(n.container("litellm"));
    expect(running.Image).toBe(before.Image);
    expect((await readMarkers(STACK)).postgres).toEqual(["before-upgrade", "in-snapshot"]);
    expect((await publicChecks(BASE_URL, keys)).withKey).toEqual(allKeys(200));
    // LiteLLM starts again on this database (an unfinished migration row would stop it with P3009).
    await docker(["restart", n.container("litellm")]);
    await allHealthy(STACK);
    await timed("preview --expect-no-changes", () => stack.expectNoChanges());
    // The rollback's own up snapshotted too (the pin changed back), with the pin LiteLLM really ran
    // (the backup container's, never replaced): a second rollback would not go to the broken image.
    const afterRollback = await preUpgradeSnapshots();
    expect(afterRollback.map((r) => r.image)).toEqual([LITELLM_PREVIOUS, LITELLM_PREVIOUS]);
  });

  test("a good LiteLLM upgrade snapshots before the new container is created; the next preview is a no-op", async () => {
    const before = (await preUpgradeSnapshots()).map((r) => r.file);
    await stack.set("litellmImage", LITELLM_NEXT);
    await timed("upgrade pulumi up", () => stack.up());
    const taken = (await preUpgradeSnapshots()).filter((r) => !before.includes(r.file));
    expect(taken).toHaveLength(1);
    expect(taken[0].image).toBe(LITELLM_PREVIOUS);
    const replaced = await inspect(n.container("litellm"));
    expect(Date.parse(taken[0].created)).toBeLessThan(Date.parse(replaced.Created));
    expect(
      await psql(
        n.container("postgres"),
        `SELECT finished_at IS NOT NULL FROM "_prisma_migrations" WHERE migration_name = '${GOOD_MIGRATION}'`,
      ),
    ).toBe("t");
    await allHealthy(STACK);
    expect((await publicChecks(BASE_URL, keys)).withKey).toEqual(allKeys(200));
    expect((await readMarkers(STACK)).postgres).toEqual(["before-upgrade", "in-snapshot"]);
    await timed("preview --expect-no-changes", () => stack.expectNoChanges());
  });
});
