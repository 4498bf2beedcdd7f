/**
 * The pre-upgrade snapshot step's provider and the restore's engine steps, against the real engine,
 * with a test double of a backup container (engineer B1 builds the real ones): a container holding
 * a script at the contract's path (lib/backups.ts BACKUP_SCRIPTS) that answers `snapshot`, `list`
 * and `restore` as the contract says. The real scripts are proven by the end-to-end restore test.
 */
import { BACKUP_SCRIPTS, listSnapshotsCommand, SnapshotRecord } from "../../lib/backups";
import { BACKUP_SCRIPT_DOUBLE } from "../helpers/backupDouble";
import { execInContainer, imageId, inspectContainer } from "../../lib/dockerExec";
import { PreUpgradeSnapshotInputs, PreUpgradeSnapshotState, preUpgradeSnapshotProvider } from "../../components/preUpgradeSnapshot";
import { performRestore, RestorePlan } from "../../tools/restore";
import { parseSnapshotList, resolveSnapshot } from "../../tools/restoreArgs";
import { DOCKER_ENDPOINT, DOCKER_SOCKET, DockerSandbox, TestContainer } from "../helpers/dockerEngine";
import * as http from "http";
import { describeWith, requirements } from "../helpers/requirements";
import { testImage } from "../helpers/testImage";

const OLD_PIN = "registry.example/litellm:v1";
const NEW_PIN = "registry.example/litellm:v2";

describeWith("the pre-upgrade snapshot and the restore against a real engine", [requirements.docker(), requirements.rootfs()], () => {
  const sandbox = new DockerSandbox("pre-upgrade");
  let backup: TestContainer;
  let service: TestContainer;
  let inputs: PreUpgradeSnapshotInputs;

  beforeAll(async () => {
    const image = await testImage();
    backup = await sandbox.helper("backup-litellm", {
      image,
      cmd: ["sleep", "infinity"],
      env: [`SERVICE_IMAGE=${OLD_PIN}`],
      uploads: [{ file: BACKUP_SCRIPTS.litellm.file, content: BACKUP_SCRIPT_DOUBLE, permissions: "0755" }],
    });
    service = await sandbox.helper("litellm", { image, cmd: ["sleep", "infinity"] });
    inputs = {
      dockerHost: `unix://${DOCKER_SOCKET}`,
      sshOpts: [],
      service: "litellm",
      backupContainer: backup.name,
      serviceContainer: service.name,
      image: OLD_PIN,
    };
  }, 300_000);

  afterAll(async () => {
    await sandbox.cleanup();
  }, 120_000);

  const files = async () => (await backup.exec(["sh", "-c", "ls /backups/litellm 2>/dev/null || true"])).stdout.split("\n").filter(Boolean);

  test("create records the pin and takes nothing; the diff changes only with the pin", async () => {
    const created = await preUpgradeSnapshotProvider.create!(inputs);
    expect(created.outs).toEqual(inputs);
    expect(await files()).toEqual([]);
    const state = created.outs as PreUpgradeSnapshotState;
    expect((await preUpgradeSnapshotProvider.diff!("id", state, inputs)).changes).toBe(false);
    expect((await preUpgradeSnapshotProvider.diff!("id", state, { ...inputs, image: NEW_PIN })).changes).toBe(true);
  });

  test("an update with the same pin (another endpoint detail) records only", async () => {
    const updated = await preUpgradeSnapshotProvider.update!("id", inputs, { ...inputs, sshOpts: ["-v"] });
    expect(updated.outs).toEqual({ ...inputs, sshOpts: ["-v"] });
    expect(await files()).toEqual([]);
  });

  let taken: SnapshotRecord;

  test("a new pin: the backup container takes a pre-upgrade snapshot, kept in the state with the old pin", async () => {
    const before = Date.now();
    const updated = await preUpgradeSnapshotProvider.update!("id", inputs, { ...inputs, image: NEW_PIN });
    const outs = updated.outs as PreUpgradeSnapshotState;
    taken = outs.snapshot!;
    expect(outs.image).toBe(NEW_PIN);
    expect(taken).toMatchObject({ service: "litellm", label: "pre-upgrade-litellm", image: OLD_PIN });
    expect(taken.file).toMatch(/^[0-9]{8}T[0-9]{6}Z-pre-upgrade-litellm\.dump$/);
    expect(Date.parse(taken.created)).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
    expect(await files()).toEqual([taken.file, `${taken.file}.json`]);
    // The next update with that pin keeps the record and takes nothing.
    const again = await preUpgradeSnapshotProvider.update!("id", outs, { ...inputs, image: NEW_PIN, sshOpts: ["-v"] });
    expect((again.outs as PreUpgradeSnapshotState).snapshot).toEqual(taken);
    expect(await files()).toHaveLength(2);
  });

  test("a failed snapshot fails the update with the script's words, scrubbed", async () => {
    await backup.exec(["touch", "/tmp/FAIL_SNAPSHOT"]);
    try {
      await expect(preUpgradeSnapshotProvider.update!("id", inputs, { ...inputs, image: NEW_PIN })).rejects.toThrow(
        `pre-upgrade snapshot of litellm (in ${backup.name}, before ${OLD_PIN} is replaced by ${NEW_PIN}) failed: exit 3: ` +
          "pg_dump: error: connection to server failed: password sk-\u2026 rejected",
      );
    } finally {
      await backup.exec(["rm", "/tmp/FAIL_SNAPSHOT"]);
    }
  });

  test("a backup container that is not there fails the update, naming it", async () => {
    await expect(
      preUpgradeSnapshotProvider.update!("id", inputs, { ...inputs, backupContainer: "no-such-backup-container", image: NEW_PIN }),
    ).rejects.toThrow(
      /pre-upgrade snapshot of litellm \(in no-such-backup-container.*failed: Docker exec in no-such-backup-container failed \(404\)/,
    );
  });

  function plan(record: SnapshotRecord): RestorePlan {
    return {
      stack: undefined as never,
      service: "litellm",
      target: { endpoint: inputs, backupContainer: backup.name, serviceContainer: service.name, image: NEW_PIN },
      endpoint: DOCKER_ENDPOINT,
      record,
      secrets: [],
    };
  }

  test("restore: the list resolves the snapshot; the service is stopped, the snapshot restored, the service started again", async () => {
    const listed = await execInContainer(DOCKER_ENDPOINT, backup.name, listSnapshotsCommand("litellm"), "");
    const record = resolveSnapshot(parseSnapshotList(listed.stdout), "litellm", "latest-pre-upgrade");
    expect(record).toEqual(taken);
    const startedBefore = await startedAt(service.name);
    await new Promise((r) => setTimeout(r, 1100));
    const said: string[] = [];
    await performRestore(plan(record), { say: (l) => said.push(l) });
    expect((await backup.exec(["cat", "/restored"])).stdout).toMatch(/^data at /);
    const after = await inspectContainer(DOCKER_ENDPOINT, service.name);
    expect(after.running).toBe(true);
    expect(await startedAt(service.name)).not.toBe(startedBefore);
    expect(said).toEqual([
      `stopping ${service.name}`,
      `restoring ${record.file} (taken ${record.created}, ${OLD_PIN}) in ${backup.name}`,
      `starting ${service.name}`,
      `${service.name} is healthy`,
    ]);
  });

  test("restore for a rollback leaves the service stopped; a failed restore leaves it stopped with the script's words", async () => {
    await performRestore(plan(taken), { restart: false });
    expect((await inspectContainer(DOCKER_ENDPOINT, service.name)).running).toBe(false);
    await backup.exec(["touch", "/tmp/FAIL_RESTORE"]);
    await expect(performRestore(plan(taken))).rejects.toThrow(
      `restoring ${taken.file} failed (exit 1; ${service.name} is left stopped): pg_restore: error: could not execute query`,
    );
    expect((await inspectContainer(DOCKER_ENDPOINT, service.name)).running).toBe(false);
  });

  test("image ids: the engine's id of an image it has, none for one it has not", async () => {
    const image = await testImage();
    expect(await imageId(DOCKER_ENDPOINT, image)).toBe((await inspectContainer(DOCKER_ENDPOINT, backup.name)).imageId);
    expect(await imageId(DOCKER_ENDPOINT, "registry.example/none:v0")).toBeUndefined();
  });
});

/** State.StartedAt, read from the engine directly (inspectContainer keeps only what the tools need). */
async function startedAt(container: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get({ socketPath: DOCKER_SOCKET, path: `/containers/${container}/json` }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve(String(JSON.parse(Buffer.concat(chunks).toString()).State.StartedAt)));
      })
      .on("error", reject);
  });
}
