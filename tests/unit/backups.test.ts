import {
  BACKUP_CONTAINER_SUFFIX,
  isSnapshotFile,
  listSnapshotsCommand,
  parseSnapshotRecord,
  preUpgradeLabel,
  restoreCommand,
  snapshotCommand,
} from "../../lib/backups";

describe("snapshot file names", () => {
  test.each(["20261201T072233Z-scheduled.dump", "20261201T072233Z-pre-upgrade-open-webui.tar.gz"])("%s is one", (file) => {
    expect(isSnapshotFile(file)).toBe(true);
  });
  test.each([
    "",
    "latest",
    "../20261201T072233Z-scheduled.dump",
    "20261201T072233Z-scheduled.dump; rm -rf /",
    "x/20261201T072233Z-scheduled.dump",
    "20261201-scheduled.dump",
  ])("%p is not", (file) => {
    expect(isSnapshotFile(file)).toBe(false);
  });
});

test("commands run each service's script with its interpreter", () => {
  expect(snapshotCommand("litellm", preUpgradeLabel("litellm"))).toEqual([
    "sh",
    "/etc/ai-gateway-backup/postgres-backup.sh",
    "snapshot",
    "pre-upgrade-litellm",
  ]);
  expect(listSnapshotsCommand("openWebui")).toEqual(["python3", "/etc/ai-gateway-backup/open_webui_backup.py", "list"]);
  expect(restoreCommand("openWebui", "20261201T072233Z-scheduled.tar.gz")).toEqual([
    "python3",
    "/etc/ai-gateway-backup/open_webui_backup.py",
    "restore",
    "20261201T072233Z-scheduled.tar.gz",
  ]);
  expect(BACKUP_CONTAINER_SUFFIX.openWebui).toBe("backup-open-webui");
});

test("a restore of anything but a snapshot's name is refused", () => {
  expect(() => restoreCommand("litellm", "../../etc/passwd")).toThrow(/not a snapshot's file name/);
});

test("records parse, and a line that is not one is refused", () => {
  const record = {
    service: "litellm",
    label: "scheduled",
    file: "20261201T072233Z-scheduled.dump",
    created: "2026-12-01T07:22:33Z",
    image: "berriai/litellm:v1.110.1",
    sha256: "0".repeat(64),
    bytes: 1234,
  };
  expect(parseSnapshotRecord(JSON.stringify(record))).toEqual(record);
  expect(() => parseSnapshotRecord(JSON.stringify({ ...record, service: "nginx" }))).toThrow(/not a snapshot record/);
  expect(() => parseSnapshotRecord(JSON.stringify({ ...record, file: "x.dump" }))).toThrow(/not a snapshot record/);
});
