import { formatAge, parseBackupsArgs, renderStatus, ServiceBackups, statusExitCode, statusRows } from "../../lib/backupReport";
import { BackupStatus, SnapshotRecord } from "../../lib/backups";

const NOW = Date.parse("2026-12-01T12:00:00Z");
const output = { containers: { litellm: "gw-backup-litellm", "open-webui": "gw-backup-open-webui" }, scheduled: true, interval: "6h" };

function record(service: "litellm" | "openWebui", created: string, label: SnapshotRecord["label"] = "scheduled"): SnapshotRecord {
  const stamp = created.replace(/[-:]/g, "");
  return {
    service,
    label,
    file: `${stamp}-${label}.${service === "litellm" ? "dump" : "tar.gz"}`,
    created,
    image: "x:1",
    sha256: "0".repeat(64),
    bytes: 2048,
  };
}
const status = (service: "litellm" | "openWebui", extra: Partial<BackupStatus> = {}): BackupStatus => ({
  service,
  lastAttempt: null,
  lastSuccess: null,
  lastSuccessEpoch: null,
  lastError: null,
  ...extra,
});

describe("command line", () => {
  test("status and list with --stack NAME or --stack=NAME", () => {
    expect(parseBackupsArgs(["status", "--stack", "prod"])).toEqual({ action: "status", stack: "prod" });
    expect(parseBackupsArgs(["list", "--stack=dev"])).toEqual({ action: "list", stack: "dev" });
  });
  test.each([
    [[], /no command; usage: npm run backups -- status\|list --stack NAME/],
    [["restore", "--stack", "x"], /unknown command "restore"/],
    [["status"], /--stack is required/],
    [["status", "--stack"], /unexpected "--stack"/],
    [["status", "--stack", "x", "--verbose"], /unexpected "--verbose"/],
  ])("%p is a usage error", (argv, message) => {
    expect(() => parseBackupsArgs(argv as string[])).toThrow(message);
    expect(() => parseBackupsArgs(argv as string[])).toThrow(expect.objectContaining({ name: "UsageError" }));
  });
});

test("ages read as people say them", () => {
  expect([formatAge(42), formatAge(125), formatAge(3 * 3600 + 720), formatAge(2 * 86400 + 7200)]).toEqual([
    "42s",
    "2m 5s",
    "3h 12m",
    "2d 2h",
  ]);
});

describe("status", () => {
  test("fresh snapshots: OK with the newest scheduled one and its age; exit 0", () => {
    const services: ServiceBackups[] = [
      {
        service: "litellm",
        status: status("litellm"),
        snapshots: [
          record("litellm", "2026-12-01T01:00:00Z"),
          record("litellm", "2026-12-01T09:00:00Z"),
          record("litellm", "2026-12-01T11:00:00Z", "pre-upgrade-litellm"),
        ],
      },
      { service: "openWebui", status: status("openWebui"), snapshots: [record("openWebui", "2026-12-01T08:30:00Z")] },
    ];
    const rows = statusRows(output, services, NOW);
    expect(rows).toEqual([
      { service: "litellm", result: "OK", detail: "20261201T090000Z-scheduled.dump (2048 bytes), 3h 0m old (interval 6h)" },
      { service: "open-webui", result: "OK", detail: "20261201T083000Z-scheduled.tar.gz (2048 bytes), 3h 30m old (interval 6h)" },
    ]);
    expect(statusExitCode(rows)).toBe(0);
    expect(renderStatus(rows).split("\n")[1]).toMatch(/^open-webui {2}OK {5}20261201T083000Z/);
  });

  test("twice the interval old is STALE, with the last error; none at all is NONE; either exits 1", () => {
    const rows = statusRows(
      output,
      [
        {
          service: "litellm",
          status: status("litellm", { lastError: "pg_dump: error: connection refused" }),
          snapshots: [record("litellm", "2026-12-01T00:00:00Z")],
        },
        {
          service: "openWebui",
          status: status("openWebui", { s3LastError: "AccessDenied" }),
          snapshots: [record("openWebui", "2026-12-01T11:00:00Z", "pre-upgrade-open-webui")],
        },
      ],
      NOW,
    );
    expect(rows[0]).toEqual({
      service: "litellm",
      result: "STALE",
      detail:
        "20261201T000000Z-scheduled.dump (2048 bytes), 12h 0m old, over twice the interval (6h); last error: pg_dump: error: connection refused",
    });
    expect(rows[1]).toEqual({ service: "open-webui", result: "NONE", detail: "no scheduled snapshot yet; S3 copy failing: AccessDenied" });
    expect(statusExitCode(rows)).toBe(1);
    expect(statusExitCode([rows[0]])).toBe(1);
    expect(statusExitCode([rows[1]])).toBe(1);
  });

  test("just under twice the interval is still OK", () => {
    const rows = statusRows(
      output,
      [{ service: "litellm", status: status("litellm"), snapshots: [record("litellm", "2026-12-01T00:00:01Z")] }],
      NOW,
    );
    expect(rows[0].result).toBe("OK");
  });

  test("scheduled backups off: OFF, exit 0", () => {
    const rows = statusRows({ ...output, scheduled: false }, [{ service: "litellm", status: status("litellm"), snapshots: [] }], NOW);
    expect(rows[0].result).toBe("OFF");
    expect(statusExitCode(rows)).toBe(0);
  });
});
