import * as fs from "fs";
import * as path from "path";
import { SnapshotRecord } from "../../lib/backups";
import {
  confirmation,
  parseRestoreArgs,
  parseRollbackArgs,
  parseSnapshotList,
  PRE_UPGRADE_SNAPSHOT_TYPE,
  resolveSnapshot,
  restartAfterRestore,
  restoreTargetInState,
  revealed,
  UsageError,
} from "../../tools/restoreArgs";

function record(file: string, overrides: Partial<SnapshotRecord> = {}): SnapshotRecord {
  const [, stamp, label] = /^([0-9T]+Z)-(.+?)\.[a-z.]+$/.exec(file)!;
  const created = `${stamp.slice(0, 4)}-${stamp.slice(4, 6)}-${stamp.slice(6, 8)}T${stamp.slice(9, 11)}:${stamp.slice(11, 13)}:${stamp.slice(13, 15)}Z`;
  return {
    service: "litellm",
    label: label as SnapshotRecord["label"],
    file,
    created,
    image: "ghcr.io/berriai/litellm:v1.0.0",
    sha256: "0".repeat(64),
    bytes: 100,
    ...overrides,
  };
}

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    const message = (e as Error).message;
    expect(message).not.toContain("\n");
    return message;
  }
  throw new Error("expected a UsageError");
}

describe("npm run restore's command line", () => {
  test("every option, in both spellings", () => {
    expect(parseRestoreArgs(["--stack", "dev", "--service", "open-webui", "--snapshot=latest", "--yes"])).toEqual({
      stack: "dev",
      service: "openWebui",
      snapshot: "latest",
      yes: true,
    });
    expect(parseRestoreArgs(["--stack=prod", "--service=litellm", "--snapshot", "20261201T072233Z-scheduled.dump"])).toEqual({
      stack: "prod",
      service: "litellm",
      snapshot: "20261201T072233Z-scheduled.dump",
      yes: false,
    });
    expect(parseRestoreArgs(["--stack", "s", "--service", "litellm", "--snapshot", "latest-pre-upgrade"]).snapshot).toBe(
      "latest-pre-upgrade",
    );
  });

  test.each([
    [[], "--stack is required"],
    [["--stack", "s", "--snapshot", "latest"], "--service is required"],
    [["--stack", "s", "--service", "litellm"], "--snapshot is required"],
    [["--stack", "s", "--service", "postgres", "--snapshot", "latest"], '--service "postgres": must be litellm or open-webui'],
    [["--stack", "s", "--service", "openWebui", "--snapshot", "latest"], '--service "openWebui": must be litellm or open-webui'],
    [
      ["--stack", "s", "--service", "litellm", "--snapshot", "../etc/passwd"],
      '--snapshot "../etc/passwd": must be a snapshot\'s file name',
    ],
    [["--stack", "s", "--service", "litellm", "--snapshot", "newest"], '--snapshot "newest"'],
    [["--stack", "--service", "litellm"], "--stack needs a value"],
    [["--stack="], "--stack needs a value"],
    [["--stack", "a", "--stack", "b"], "--stack given twice"],
    [["--stack", "s", "--service", "litellm", "--snapshot", "latest", "--yes=no"], "--yes takes no value"],
    [["--stack", "s", "--force"], 'unknown argument "--force"'],
    [["dev"], 'unknown argument "dev"'],
  ])("%j is refused: %s", (argv, expected) => {
    const message = refusal(() => parseRestoreArgs(argv));
    expect(message).toContain(expected);
    expect(message).toContain("usage: npm run restore");
  });
});

describe("npm run rollback's command line", () => {
  test("the newest pre-upgrade snapshot unless one is given", () => {
    expect(parseRollbackArgs(["--stack", "dev", "--service", "litellm"])).toEqual({
      stack: "dev",
      service: "litellm",
      snapshot: "latest-pre-upgrade",
    });
    expect(
      parseRollbackArgs(["--stack", "dev", "--service", "open-webui", "--snapshot", "20261201T072233Z-pre-upgrade-open-webui.tar.gz"]),
    ).toEqual({
      stack: "dev",
      service: "openWebui",
      snapshot: "20261201T072233Z-pre-upgrade-open-webui.tar.gz",
    });
  });

  test.each([
    [["--stack", "dev"], "--service is required"],
    [["--service", "litellm"], "--stack is required"],
    [["--stack", "dev", "--service", "litellm", "--yes"], 'unknown argument "--yes"'],
    [["--stack", "dev", "--service", "litellm", "--snapshot", "latest"], '--snapshot "latest": must be a snapshot\'s file name'],
    [["--stack", "dev", "--service", "litellm", "--snapshot", "20261201T072233Z-scheduled.dump"], "needs a pre-upgrade-litellm snapshot"],
    [
      ["--stack", "dev", "--service", "litellm", "--snapshot", "20261201T072233Z-pre-upgrade-open-webui.tar.gz"],
      "needs a pre-upgrade-litellm snapshot",
    ],
  ])("%j is refused: %s", (argv, expected) => {
    expect(refusal(() => parseRollbackArgs(argv))).toContain(expected);
  });
});

describe("which snapshot a name stands for", () => {
  const records = [
    record("20261128T020000Z-scheduled.dump"),
    record("20261129T020000Z-pre-upgrade-litellm.dump", { image: "litellm:old" }),
    record("20261130T020000Z-scheduled.dump"),
    record("20261130T030000Z-pre-upgrade-litellm.dump", { image: "litellm:older" }),
    record("20261201T020000Z-scheduled.dump"),
  ];

  test("latest is the newest, latest-pre-upgrade the newest taken before an upgrade, a name itself", () => {
    expect(resolveSnapshot(records, "litellm", "latest").file).toBe("20261201T020000Z-scheduled.dump");
    expect(resolveSnapshot(records, "litellm", "latest-pre-upgrade")).toMatchObject({
      file: "20261130T030000Z-pre-upgrade-litellm.dump",
      image: "litellm:older",
    });
    expect(resolveSnapshot(records, "litellm", "20261129T020000Z-pre-upgrade-litellm.dump").image).toBe("litellm:old");
  });

  test("a name that is not there is refused with the newest few that are", () => {
    expect(refusal(() => resolveSnapshot(records, "litellm", "20261101T000000Z-scheduled.dump"))).toBe(
      "no snapshot 20261101T000000Z-scheduled.dump of litellm: the newest: 20261201T020000Z-scheduled.dump, 20261130T030000Z-pre-upgrade-litellm.dump, 20261130T020000Z-scheduled.dump",
    );
  });

  test("no snapshot at all, or none before an upgrade", () => {
    expect(refusal(() => resolveSnapshot([], "openWebui", "latest"))).toBe("no snapshot of open-webui: there is none yet");
    expect(
      refusal(() =>
        resolveSnapshot(
          records.filter((r) => r.label === "scheduled"),
          "litellm",
          "latest-pre-upgrade",
        ),
      ),
    ).toBe("no pre-upgrade-litellm snapshot of litellm: there is none yet");
  });

  test("another service's records are never chosen", () => {
    const mixed = [...records, record("20261202T020000Z-scheduled.tar.gz", { service: "openWebui" })];
    expect(resolveSnapshot(mixed, "litellm", "latest").file).toBe("20261201T020000Z-scheduled.dump");
    expect(() => resolveSnapshot(mixed, "litellm", "20261202T020000Z-scheduled.tar.gz")).toThrow(UsageError);
  });

  test("the list's lines are parsed and ordered by time; other lines are ignored, a bad record is not", () => {
    const out = ["some warning", JSON.stringify(records[2]), JSON.stringify(records[0]), "", JSON.stringify(records[1])].join("\n");
    expect(parseSnapshotList(out).map((r) => r.file)).toEqual([records[0].file, records[1].file, records[2].file]);
    expect(() => parseSnapshotList(JSON.stringify({ ...records[0], file: "../x" }))).toThrow("not a snapshot record");
  });
});

describe("where the stack's service is, from its exported state", () => {
  const step = (service: string, outputs: Record<string, unknown> = {}) => ({
    type: PRE_UPGRADE_SNAPSHOT_TYPE,
    outputs: {
      service,
      dockerHost: "ssh://deploy@203.0.113.7",
      sshOpts: ["-o", "ConnectTimeout=10"],
      sshHostKey: "ssh-ed25519 AAAA",
      backupContainer: `gw-${service === "litellm" ? "backup-litellm" : "backup-open-webui"}`,
      serviceContainer: `gw-${service === "litellm" ? "litellm" : "open-webui"}`,
      image: "litellm:new",
      ...outputs,
    },
  });

  test("the step of the service gives the endpoint and both containers", () => {
    const deployment = { resources: [{ type: "docker:index/container:Container", outputs: {} }, step("openWebui"), step("litellm")] };
    expect(restoreTargetInState(deployment, "dev", "litellm")).toEqual({
      endpoint: { dockerHost: "ssh://deploy@203.0.113.7", sshOpts: ["-o", "ConnectTimeout=10"], sshHostKey: "ssh-ed25519 AAAA" },
      backupContainer: "gw-backup-litellm",
      serviceContainer: "gw-litellm",
      image: "litellm:new",
    });
    expect(restoreTargetInState(deployment, "dev", "openWebui").serviceContainer).toBe("gw-open-webui");
  });

  test("TLS material exported with --show-secrets is revealed; still encrypted, it is refused", () => {
    const tls = { ca: "CA", cert: "CERT", key: "KEY" };
    const secret = { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", plaintext: JSON.stringify(tls) };
    expect(revealed(secret)).toEqual(tls);
    const target = restoreTargetInState(
      { resources: [step("litellm", { dockerHost: "tcp://10.0.0.5:2376", dockerTls: secret })] },
      "dev",
      "litellm",
    );
    expect(target.endpoint.dockerTls).toEqual(tls);
    const encrypted = { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", ciphertext: "v1:abc" };
    expect(refusal(() => restoreTargetInState({ resources: [step("litellm", { dockerTls: encrypted })] }, "dev", "litellm"))).toContain(
      "encrypted",
    );
  });

  test("a stack without the step, or with two, is refused with one line", () => {
    expect(refusal(() => restoreTargetInState({ resources: [step("openWebui")] }, "dev", "litellm"))).toBe(
      "stack dev has no pre-upgrade snapshot step for litellm: deploy it (pulumi up) with this version of the package first",
    );
    expect(refusal(() => restoreTargetInState(undefined, "dev", "litellm"))).toContain("has no pre-upgrade snapshot step");
    expect(refusal(() => restoreTargetInState({ resources: [step("litellm"), step("litellm")] }, "dev", "litellm"))).toContain(
      "has 2 pre-upgrade snapshot steps",
    );
    expect(refusal(() => restoreTargetInState({ resources: [step("litellm", { backupContainer: "" })] }, "dev", "litellm"))).toContain(
      "has no backupContainer in its state",
    );
  });
});

describe("a rollback's container, and asking first", () => {
  test("started again only when it still runs the snapshot's image", () => {
    expect(restartAfterRestore("sha256:old", "sha256:old")).toBe(true);
    expect(restartAfterRestore("sha256:new", "sha256:old")).toBe(false);
    expect(restartAfterRestore("sha256:new", undefined)).toBe(false);
  });

  test("--yes proceeds; at a terminal it asks; otherwise it refuses", () => {
    expect(confirmation({ yes: true, stack: "dev", service: "litellm" }, false)).toBe("proceed");
    expect(confirmation({ yes: false, stack: "dev", service: "litellm" }, true)).toBe("ask");
    expect(refusal(() => confirmation({ yes: false, stack: "dev", service: "openWebui" }, false))).toContain(
      "restoring replaces open-webui's live data on stack dev: pass --yes when not at a terminal",
    );
  });
});

test("every restore and rollback command in the README is one these tools accept", () => {
  const readme = fs.readFileSync(path.join(__dirname, "..", "..", "README.md"), "utf8");
  const commands = [...readme.matchAll(/npm run (restore|rollback) -- ([^\n`#]+)/g)].map((m) => [m[1], m[2].trim().split(/\s+/)] as const);
  expect(commands.filter(([tool]) => tool === "restore").length).toBeGreaterThanOrEqual(3);
  expect(commands.filter(([tool]) => tool === "rollback").length).toBeGreaterThanOrEqual(1);
  for (const [tool, argv] of commands) {
    expect(() => (tool === "restore" ? parseRestoreArgs(argv) : parseRollbackArgs(argv))).not.toThrow();
  }
});
