/**
 * runtime/postgres-backup.sh against a real PostgreSQL server in a private network namespace, on
 * exactly the files the stack uploads (lib/backupFiles.ts) and with the commands the other steps
 * exec (lib/backups.ts): a snapshot, the database lost, the documented restore, and the data back
 * with the same rows (count and checksum); retention, a corrupted snapshot and a missing one
 * refused, the loop's status and the healthcheck.
 */
import { execFileSync } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  BACKUP_SCRIPTS,
  listSnapshotsCommand,
  parseSnapshotRecord,
  restoreCommand,
  snapshotCommand,
  statusCommand,
} from "../../lib/backups";
import { BACKUP_CONFIG_FILES, pgpassLine, postgresBackupSettings, PostgresTarget } from "../../lib/backupFiles";
import { BackupSettings } from "../../lib/backupSettings";
import { pollUntil } from "../helpers/dockerEngine";
import { NetNs } from "../helpers/netns";
import { describeWith, initdbCommand, postgresBinDir, requirements } from "../helpers/requirements";
import { ROOT } from "../helpers/program";

const PASSWORD = "s3cr:et\\Pass:wordOfTheStack9Zq7";
const IMAGE = "ghcr.io/berriai/litellm:v1.110.1";
const TARGET: PostgresTarget = { host: "127.0.0.1", port: 5432, database: "litellm", user: "litellm" };
const TABLE = `"LiteLLM_VerificationToken"`;
/** Every row in a fixed order, hashed: equal only when every value is. */
const CHECKSUM = `SELECT count(*) || ' ' || md5(coalesce(string_agg(t::text, ',' ORDER BY token), '')) FROM ${TABLE} t`;

describeWith(
  "postgres-backup.sh takes, lists, prunes and restores pg_dump snapshots (real server)",
  [requirements.postgres(), requirements.netns()],
  () => {
    const bin = postgresBinDir()!;
    let ns: NetNs;
    let dir: string;
    let configDir: string;
    let backupDir: string;

    /** psql over TCP as LiteLLM's role (a superuser here, as the image's POSTGRES_USER is), bare rows. */
    const psql = (sql: string, database = TARGET.database) =>
      ns.run([
        "env",
        `PGPASSWORD=${PASSWORD}`,
        path.join(bin, "psql"),
        "-w",
        "-X",
        "-h",
        "127.0.0.1",
        "-U",
        TARGET.user,
        "-d",
        database,
        "-Atc",
        sql,
      ]);
    const checksum = () => psql(CHECKSUM).stdout.trim();
    const settings = (overrides: Partial<BackupSettings> = {}): BackupSettings => ({
      enabled: true,
      interval: "1h",
      intervalSeconds: 3600,
      keep: 3,
      s3: undefined,
      ...overrides,
    });
    const writeSettings = (s: BackupSettings) =>
      fs.writeFileSync(path.join(configDir, "settings.env"), postgresBackupSettings(s, IMAGE, TARGET, backupDir));
    /** The command the stack execs, with the script where this test put it (the container's config dir is a volume). */
    const inConfigDir = (argv: string[]) => argv.map((arg) => arg.replace(path.dirname(BACKUP_SCRIPTS.litellm.file), configDir));
    const run = (argv: string[]) => ns.run(["env", `PATH=${bin}:/usr/bin:/bin`, ...inConfigDir(argv)], { timeoutMs: 60000 });

    beforeAll(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "aigw-pgbackup-"));
      fs.chmodSync(dir, 0o755);
      fs.writeFileSync(path.join(dir, "pw"), PASSWORD);
      fs.mkdirSync(path.join(dir, "sock"));
      execFileSync("chown", ["-R", "postgres:postgres", dir]);
      ns = new NetNs();
      expect(ns.run(initdbCommand(bin, dir, TARGET.user), { user: "postgres", timeoutMs: 60000 }).status).toBe(0);
      const start = ns.run(
        [
          path.join(bin, "pg_ctl"),
          "-D",
          path.join(dir, "data"),
          "-l",
          path.join(dir, "server.log"),
          "-w",
          "-o",
          `-c listen_addresses=127.0.0.1 -c unix_socket_directories=${path.join(dir, "sock")}`,
          "start",
        ],
        { user: "postgres", timeoutMs: 60000 },
      );
      expect(start.status).toBe(0);
      expect(psql("CREATE DATABASE litellm", "postgres").status).toBe(0);
      expect(
        psql(
          `CREATE TABLE ${TABLE} (token text PRIMARY KEY, spend double precision, models text[]);
         INSERT INTO ${TABLE} SELECT 'sk-' || md5(i::text), i * 0.25, ARRAY['gpt-4o', 'model-' || (i % 7)] FROM generate_series(1, 500) i;`,
        ).status,
      ).toBe(0);

      // The container's config directory and backups volume, as the stack fills them.
      configDir = path.join(dir, "config");
      backupDir = path.join(dir, "backups", "litellm");
      fs.mkdirSync(configDir);
      fs.copyFileSync(path.join(ROOT, "runtime", "postgres-backup.sh"), path.join(configDir, "postgres-backup.sh"));
      writeSettings(settings());
      fs.writeFileSync(path.join(configDir, path.basename(BACKUP_CONFIG_FILES.pgpass)), pgpassLine(TARGET, PASSWORD), { mode: 0o600 });
    });

    afterAll(() => {
      if (ns && dir) {
        ns.run([path.join(bin, "pg_ctl"), "-D", path.join(dir, "data"), "-m", "immediate", "stop"], { user: "postgres" });
      }
      ns?.dispose();
      if (dir) {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    test("a snapshot, the database dropped, the restore: the same rows back (count and checksum)", () => {
      const before = checksum();
      expect(before).toMatch(/^500 [0-9a-f]{32}$/);
      const taken = run(snapshotCommand("litellm", "scheduled"));
      expect(taken.stderr).toBe("");
      expect(taken.status).toBe(0);
      const record = parseSnapshotRecord(taken.stdout.trim().split("\n").pop()!);
      expect(record).toMatchObject({ service: "litellm", label: "scheduled", image: IMAGE });
      expect(record.file).toMatch(/^[0-9]{8}T[0-9]{6}Z-scheduled\.dump$/);
      const file = path.join(backupDir, record.file);
      expect(fs.statSync(file).size).toBe(record.bytes);
      expect(createHash("sha256").update(fs.readFileSync(file)).digest("hex")).toBe(record.sha256);
      // pg_dump's custom format: its magic bytes.
      expect(fs.readFileSync(file).subarray(0, 5).toString()).toBe("PGDMP");
      expect(JSON.parse(fs.readFileSync(`${file}.json`, "utf8"))).toEqual(record);

      // The data lost: the database dropped and created empty again, as a new volume would have it.
      expect(psql("DROP DATABASE litellm WITH (FORCE)", "postgres").status).toBe(0);
      expect(psql("CREATE DATABASE litellm", "postgres").status).toBe(0);
      expect(psql(CHECKSUM).status).not.toBe(0);

      const restored = run(restoreCommand("litellm", record.file));
      expect([restored.status, restored.stderr]).toEqual([0, ""]);
      expect(restored.stdout).toContain(`restored ${record.file}`);
      expect(checksum()).toBe(before);
    });

    test("a restore over changed data puts the snapshot's rows back", () => {
      const before = checksum();
      const record = parseSnapshotRecord(run(snapshotCommand("litellm", "pre-upgrade-litellm")).stdout.trim().split("\n").pop()!);
      expect(psql(`DELETE FROM ${TABLE} WHERE spend > 50; UPDATE ${TABLE} SET spend = 0`).status).toBe(0);
      expect(checksum()).not.toBe(before);
      expect(run(restoreCommand("litellm", record.file)).status).toBe(0);
      expect(checksum()).toBe(before);
    });

    test("a restore after a migration that added a table referencing a dumped one (a rollback after an upgrade) puts the snapshot's schema back", () => {
      const before = checksum();
      const record = parseSnapshotRecord(run(snapshotCommand("litellm", "scheduled")).stdout.trim().split("\n").pop()!);
      expect(
        psql(
          `CREATE TABLE "Added_By_Upgrade" (token text REFERENCES ${TABLE} (token)); INSERT INTO "Added_By_Upgrade" SELECT token FROM ${TABLE} LIMIT 1`,
        ).status,
      ).toBe(0);
      const restored = run(restoreCommand("litellm", record.file));
      expect([restored.status, restored.stderr]).toEqual([0, ""]);
      expect(checksum()).toBe(before);
      expect(psql(`SELECT to_regclass('"Added_By_Upgrade"') IS NULL`).stdout.trim()).toBe("t");
    });

    test("a snapshot that does not match its sidecar is refused, and the database is left as it was", () => {
      const record = parseSnapshotRecord(run(snapshotCommand("litellm", "scheduled")).stdout.trim().split("\n").pop()!);
      const before = checksum();
      fs.appendFileSync(path.join(backupDir, record.file), "x");
      const refused = run(restoreCommand("litellm", record.file));
      expect(refused.status).toBe(1);
      expect(refused.stderr.trim().split("\n")).toHaveLength(1);
      expect(refused.stderr).toMatch(
        new RegExp(`${record.file} does not match its sidecar \\(sha256 [0-9a-f]{64}, recorded ${record.sha256}\\): not restored`),
      );
      expect(checksum()).toBe(before);
      fs.rmSync(path.join(backupDir, record.file));
      fs.rmSync(path.join(backupDir, `${record.file}.json`));
    });

    test("a snapshot that does not exist is refused in one line naming it and what exists", () => {
      const refused = run(restoreCommand("litellm", "20990101T000000Z-scheduled.dump"));
      expect(refused.status).toBe(1);
      const lines = refused.stderr.trim().split("\n");
      expect(lines).toHaveLength(1);
      const existing = fs.readdirSync(backupDir).filter((f) => f.endsWith(".dump"));
      expect(existing.length).toBeGreaterThan(0);
      expect(lines[0]).toContain(`no snapshot 20990101T000000Z-scheduled.dump in ${backupDir}; snapshots there: `);
      for (const file of existing) {
        expect(lines[0]).toContain(file);
      }
    });

    test("retention keeps the newest `keep` of each label; list prints their records oldest first", () => {
      writeSettings(settings({ keep: 2 }));
      for (let i = 0; i < 3; i++) {
        expect(run(snapshotCommand("litellm", "scheduled")).status).toBe(0);
      }
      const listed = run(listSnapshotsCommand("litellm")).stdout.trim().split("\n").map(parseSnapshotRecord);
      const scheduled = listed.filter((r) => r.label === "scheduled");
      expect(scheduled).toHaveLength(2);
      // The pre-upgrade snapshot is kept: it is pruned against its own label.
      expect(listed.filter((r) => r.label === "pre-upgrade-litellm")).toHaveLength(1);
      expect(listed.map((r) => r.file)).toEqual([...listed.map((r) => r.file)].sort());
      const onDisk = fs.readdirSync(backupDir).filter((f) => f.endsWith(".dump"));
      expect(onDisk.sort()).toEqual(listed.map((r) => r.file).sort());
      writeSettings(settings());
    });

    test("the loop takes a snapshot at start, records it in status.json and the healthcheck passes; a stale one fails it", async () => {
      fs.rmSync(path.join(backupDir, "status.json"), { force: true });
      const script = path.join(configDir, "postgres-backup.sh");
      // No success recorded yet: unhealthy (Docker's start period covers a new container's first snapshot).
      expect(run(["sh", script, "check"]).status).toBe(1);
      const loop = ns.start(["env", `PATH=${bin}:/usr/bin:/bin`, "sh", script, "loop"]);
      let log = "";
      loop.stdout!.on("data", (chunk: Buffer) => (log += chunk.toString()));
      loop.stderr!.on("data", (chunk: Buffer) => (log += chunk.toString()));
      await pollUntil("the loop's first snapshot", 30000, async () => (log.includes("scheduled snapshot:") ? true : undefined), 200);
      const status = JSON.parse(run(statusCommand("litellm")).stdout);
      expect(status).toMatchObject({ service: "litellm", lastError: null });
      expect(Math.abs(status.lastSuccessEpoch - Date.now() / 1000)).toBeLessThan(30);
      expect(run(["sh", script, "check"]).status).toBe(0);
      // docker stop: SIGTERM to the loop, which is sleeping until the next snapshot, ends it at once.
      const exited = new Promise<number | null>((resolve) => loop.on("exit", resolve));
      loop.kill("SIGTERM");
      expect(await exited).toBe(0);

      // Two intervals and a second old: the healthcheck fails.
      const stale = { ...status, lastSuccessEpoch: Math.floor(Date.now() / 1000) - 7201 };
      fs.writeFileSync(path.join(backupDir, "status.json"), `${JSON.stringify(stale)}\n`);
      const check = run(["sh", script, "check"]);
      expect(check.status).toBe(1);
      expect(check.stdout).toMatch(/is 720[0-9]s old \(limit 7200s\)/);
      // Scheduled backups off: nothing to be late for.
      writeSettings(settings({ enabled: false }));
      expect(run(["sh", script, "check"]).status).toBe(0);
      writeSettings(settings());
    });

    test("with scheduled backups off the main process idles (no snapshot) and stops at once on SIGTERM", async () => {
      writeSettings(settings({ enabled: false }));
      const before = fs.readdirSync(backupDir).sort();
      const idle = ns.start(["env", `PATH=${bin}:/usr/bin:/bin`, "sh", path.join(configDir, "postgres-backup.sh"), "idle"]);
      let said = "";
      idle.stdout!.on("data", (chunk: Buffer) => (said += chunk.toString()));
      await pollUntil("idle's first line", 10000, async () => (said.includes("scheduled backups are off") ? true : undefined), 50);
      const exited = new Promise<number | null>((resolve) => idle.on("exit", resolve));
      idle.kill("SIGTERM");
      expect(await exited).toBe(0);
      expect(fs.readdirSync(backupDir).sort()).toEqual(before);
      writeSettings(settings());
    });

    test("a label that is not one is refused", () => {
      const refused = run(snapshotCommand("litellm", "pre-upgrade-../x" as "scheduled"));
      expect(refused.status).toBe(1);
      expect(refused.stderr).toContain("not a snapshot label");
    });
  },
);
