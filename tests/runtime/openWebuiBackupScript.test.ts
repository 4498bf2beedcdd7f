/**
 * runtime/open_webui_backup.py for real, on exactly the files the stack uploads (lib/backupFiles.ts)
 * and the commands the other steps exec (lib/backups.ts): a data directory with a real SQLite
 * webui.db, a vector store database and an uploaded file; a snapshot taken while a writer commits,
 * consistent; the data lost and restored (row counts, checksum, the upload); a restore refused
 * while the database is in use, for a corrupted snapshot and for a missing one; retention; and the
 * S3 copy against moto's real S3 server on loopback (uploads, then deletes what retention pruned).
 */
import { ChildProcess, spawn, spawnSync } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as net from "net";
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
import { openWebuiBackupSettings, s3CredentialsFile } from "../../lib/backupFiles";
import { BackupSettings } from "../../lib/backupSettings";
import { pollUntil } from "../helpers/dockerEngine";
import { describeWith, requirements, s3TestVenv } from "../helpers/requirements";
import { ROOT } from "../helpers/program";

const IMAGE = "ghcr.io/open-webui/open-webui:v0.11.4";
const CHATS = 300;

/** Runs python code with the venv's python3 (3.11, as the Open WebUI image's; it has sqlite3 and boto3). */
function python(venv: string, code: string, args: string[] = []): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(path.join(venv, "bin", "python"), ["-c", code, ...args], { encoding: "utf8", timeout: 60000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Row count and an md5 of every chat row in order: equal only when the rows are. */
const CHECKSUM = `
import hashlib, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
rows = db.execute("SELECT id, user_id, title, chat FROM chat ORDER BY id").fetchall()
print(len(rows), hashlib.md5(repr(rows).encode()).hexdigest())
`;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}

describeWith(
  "open_webui_backup.py snapshots and restores Open WebUI's data, and copies backups to S3 (real SQLite, real S3 API)",
  [requirements.s3Venv()],
  () => {
    const venv = s3TestVenv()!;
    let dir: string;
    let configDir: string;
    let backupsDir: string;
    let dataDir: string;

    const settings = (overrides: Partial<BackupSettings> = {}): BackupSettings => ({
      enabled: true,
      interval: "1h",
      intervalSeconds: 3600,
      keep: 5,
      s3: undefined,
      ...overrides,
    });
    const writeSettings = (s: BackupSettings) =>
      fs.writeFileSync(path.join(configDir, "settings.json"), openWebuiBackupSettings(s, IMAGE, dataDir, backupsDir));
    const inConfigDir = (argv: string[]) => argv.map((arg) => arg.replace(path.dirname(BACKUP_SCRIPTS.openWebui.file), configDir));
    const run = (argv: string[]) => {
      const [, ...rest] = inConfigDir(argv);
      const r = spawnSync(path.join(venv, "bin", "python"), rest, { encoding: "utf8", timeout: 120000 });
      return { status: r.status, stdout: r.stdout, stderr: r.stderr };
    };
    const snapshot = (label: "scheduled" | `pre-upgrade-${string}` = "scheduled") => {
      const taken = run(snapshotCommand("openWebui", label));
      expect([taken.status, taken.stderr]).toEqual([0, expect.not.stringContaining("Traceback")]);
      return parseSnapshotRecord(taken.stdout.trim().split("\n").pop()!);
    };
    const checksum = () => python(venv, CHECKSUM, [path.join(dataDir, "webui.db")]).stdout.trim();

    beforeAll(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "aigw-owbackup-"));
      configDir = path.join(dir, "config");
      backupsDir = path.join(dir, "backups");
      dataDir = path.join(dir, "data");
      for (const d of [
        configDir,
        backupsDir,
        path.join(dataDir, "uploads"),
        path.join(dataDir, "vector_db"),
        path.join(dataDir, "cache", "embedding"),
      ]) {
        fs.mkdirSync(d, { recursive: true });
      }
      fs.copyFileSync(path.join(ROOT, "runtime", "open_webui_backup.py"), path.join(configDir, "open_webui_backup.py"));
      writeSettings(settings());
      // Open WebUI's data: its database (chats), the vector store's database, an upload and the model cache.
      const made = python(
        venv,
        `
import sqlite3, sys
db = sqlite3.connect(sys.argv[1] + "/webui.db")
db.execute("CREATE TABLE chat (id INTEGER PRIMARY KEY, user_id TEXT, title TEXT, chat TEXT)")
db.executemany("INSERT INTO chat (user_id, title, chat) VALUES (?, ?, ?)", [("u%d" % (i % 5), "chat %d" % i, "{\\"messages\\": [%d]}" % i) for i in range(${CHATS})])
db.commit()
v = sqlite3.connect(sys.argv[1] + "/vector_db/chroma.sqlite3")
v.execute("PRAGMA journal_mode=WAL")
v.execute("CREATE TABLE embeddings (id INTEGER PRIMARY KEY, vector BLOB)")
v.executemany("INSERT INTO embeddings (vector) VALUES (?)", [(bytes([i % 256]) * 64,) for i in range(100)])
v.commit()
`,
        [dataDir],
      );
      expect(made.stderr).toBe("");
      fs.writeFileSync(path.join(dataDir, "uploads", "report.pdf"), "%PDF-1.4 the user's upload");
      fs.writeFileSync(path.join(dataDir, "cache", "embedding", "model.bin"), "bundled model");
    });

    afterAll(() => {
      if (dir) {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    test("a snapshot holds the databases (backup API copies), the uploads, not the model cache; its sidecar describes it", () => {
      const record = snapshot();
      expect(record).toMatchObject({ service: "openWebui", label: "scheduled", image: IMAGE });
      expect(record.file).toMatch(/^[0-9]{8}T[0-9]{6}Z-scheduled\.tar\.gz$/);
      const file = path.join(backupsDir, "open-webui", record.file);
      expect(createHash("sha256").update(fs.readFileSync(file)).digest("hex")).toBe(record.sha256);
      expect(fs.statSync(file).size).toBe(record.bytes);
      const members = python(venv, "import sys, tarfile; print('\\n'.join(sorted(tarfile.open(sys.argv[1]).getnames())))", [file])
        .stdout.trim()
        .split("\n");
      expect(members).toEqual(["uploads/report.pdf", "vector_db/chroma.sqlite3", "webui.db"]);
    });

    test("a snapshot taken while a writer commits is consistent: whole transactions only, integrity ok", async () => {
      // A writer committing batches of 50 rows as fast as it can, as Open WebUI would while users chat.
      const writer: ChildProcess = spawn(path.join(venv, "bin", "python"), [
        "-c",
        `
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1] + "/webui.db", timeout=30)
print("writing", flush=True)
while True:
    with db:
        db.executemany("INSERT INTO chat (user_id, title, chat) VALUES ('writer', 'batch', ?)", [("x" * 200,)] * 50)
    time.sleep(0.002)
`,
        dataDir,
      ]);
      try {
        await pollUntil("the writer", 10000, async () => (writer.stdout!.read() ? true : undefined), 50);
        const record = snapshot();
        const staged = path.join(dir, "staged");
        const inspected = python(
          venv,
          `
import sqlite3, sys, tarfile
tarfile.open(sys.argv[1]).extractall(sys.argv[2])
db = sqlite3.connect(sys.argv[2] + "/webui.db")
print(db.execute("PRAGMA integrity_check").fetchone()[0], db.execute("SELECT count(*) FROM chat WHERE user_id = 'writer'").fetchone()[0])
`,
          [path.join(backupsDir, "open-webui", record.file), staged],
        );
        const [integrity, written] = inspected.stdout.trim().split(" ");
        expect(integrity).toBe("ok");
        expect(Number(written) % 50).toBe(0);
        expect(Number(written)).toBeGreaterThan(0);
      } finally {
        writer.kill("SIGKILL");
        await new Promise((resolve) => writer.on("exit", resolve));
      }
      // Back to the original rows for the tests that follow.
      python(
        venv,
        "import sqlite3, sys; d = sqlite3.connect(sys.argv[1]); d.execute(\"DELETE FROM chat WHERE user_id = 'writer'\"); d.commit()",
        [path.join(dataDir, "webui.db")],
      );
    });

    test("the data lost, the restore: the same chats (count and checksum), the upload back, the model cache left in place", () => {
      const before = checksum();
      expect(before).toMatch(new RegExp(`^${CHATS} [0-9a-f]{32}$`));
      const record = snapshot("pre-upgrade-open-webui");
      // Lost: the database's rows, the upload; a file that was not there at the snapshot appears.
      python(venv, "import sqlite3, sys; d = sqlite3.connect(sys.argv[1]); d.execute('DELETE FROM chat'); d.commit()", [
        path.join(dataDir, "webui.db"),
      ]);
      fs.rmSync(path.join(dataDir, "uploads", "report.pdf"));
      fs.writeFileSync(path.join(dataDir, "uploads", "later.txt"), "written after the snapshot");
      expect(checksum()).toBe("0 " + createHash("md5").update("[]").digest("hex"));

      const restored = run(restoreCommand("openWebui", record.file));
      expect([restored.status, restored.stderr]).toEqual([0, ""]);
      expect(restored.stdout.trim()).toBe(`restored ${record.file} into ${dataDir}`);
      expect(checksum()).toBe(before);
      expect(fs.readFileSync(path.join(dataDir, "uploads", "report.pdf"), "utf8")).toBe("%PDF-1.4 the user's upload");
      expect(fs.existsSync(path.join(dataDir, "uploads", "later.txt"))).toBe(false);
      expect(fs.readFileSync(path.join(dataDir, "cache", "embedding", "model.bin"), "utf8")).toBe("bundled model");
      const vectors = python(
        venv,
        "import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute('SELECT count(*) FROM embeddings').fetchone()[0])",
        [path.join(dataDir, "vector_db", "chroma.sqlite3")],
      );
      expect(vectors.stdout.trim()).toBe("100");
      // Nothing of the restore's staging is left behind.
      expect(fs.readdirSync(dataDir).sort()).toEqual(["cache", "uploads", "vector_db", "webui.db"]);
    });

    test("a restore while the database is in use (a write lock held) is refused and changes nothing", async () => {
      const record = snapshot();
      const holder = spawn(path.join(venv, "bin", "python"), [
        "-c",
        "import sqlite3, sys, time\nd = sqlite3.connect(sys.argv[1], isolation_level=None)\nd.execute('BEGIN EXCLUSIVE')\nprint('locked', flush=True)\ntime.sleep(60)",
        path.join(dataDir, "webui.db"),
      ]);
      try {
        await pollUntil("the lock", 10000, async () => (holder.stdout!.read() ? true : undefined), 50);
        fs.writeFileSync(path.join(dataDir, "uploads", "marker.txt"), "still here");
        const refused = run(restoreCommand("openWebui", record.file));
        expect(refused.status).toBe(1);
        expect(refused.stderr.trim().split("\n")).toHaveLength(1);
        expect(refused.stderr).toMatch(
          /webui\.db is in use \(database is locked\): stop Open WebUI's container first; nothing was restored/,
        );
        expect(fs.readFileSync(path.join(dataDir, "uploads", "marker.txt"), "utf8")).toBe("still here");
      } finally {
        holder.kill("SIGKILL");
        await new Promise((resolve) => holder.on("exit", resolve));
        fs.rmSync(path.join(dataDir, "uploads", "marker.txt"), { force: true });
      }
    });

    test("a corrupted snapshot and a missing one are refused in one line each", () => {
      const record = snapshot();
      const file = path.join(backupsDir, "open-webui", record.file);
      fs.appendFileSync(file, "x");
      const corrupted = run(restoreCommand("openWebui", record.file));
      expect(corrupted.status).toBe(1);
      expect(corrupted.stderr.trim()).toMatch(
        new RegExp(
          `^open_webui_backup: ${record.file.replace(/\./g, "\\.")} does not match its sidecar \\(sha256 [0-9a-f]{64}, recorded ${record.sha256}\\): not restored$`,
        ),
      );
      fs.rmSync(file);
      fs.rmSync(`${file}.json`);

      const missing = run(restoreCommand("openWebui", "20990101T000000Z-scheduled.tar.gz"));
      expect(missing.status).toBe(1);
      const line = missing.stderr.trim();
      expect(line.split("\n")).toHaveLength(1);
      expect(line).toContain(`no snapshot 20990101T000000Z-scheduled.tar.gz in ${path.join(backupsDir, "open-webui")}; snapshots there: `);
      for (const name of fs.readdirSync(path.join(backupsDir, "open-webui")).filter((f) => f.endsWith(".tar.gz"))) {
        expect(line).toContain(name);
      }
    });

    test("retention keeps the newest `keep` per label", () => {
      writeSettings(settings({ keep: 2 }));
      for (let i = 0; i < 3; i++) {
        snapshot();
      }
      const listed = run(listSnapshotsCommand("openWebui")).stdout.trim().split("\n").map(parseSnapshotRecord);
      expect(listed.filter((r) => r.label === "scheduled")).toHaveLength(2);
      expect(listed.filter((r) => r.label === "pre-upgrade-open-webui")).toHaveLength(1);
      expect(
        fs
          .readdirSync(path.join(backupsDir, "open-webui"))
          .filter((f) => f.endsWith(".tar.gz"))
          .sort(),
      ).toEqual(listed.map((r) => r.file));
      writeSettings(settings());
    });

    test("the healthcheck: fresh passes, twice the interval fails, no schedule always passes; idle stops at once on SIGTERM", async () => {
      const script = path.join(configDir, "open_webui_backup.py");
      const check = () => spawnSync(path.join(venv, "bin", "python"), [script, "check"], { encoding: "utf8" });
      const statusFile = path.join(backupsDir, "open-webui", "status.json");
      const now = Math.floor(Date.now() / 1000);
      fs.writeFileSync(statusFile, `${JSON.stringify({ service: "openWebui", lastSuccessEpoch: now - 7100 })}\n`);
      expect(check().status).toBe(0);
      fs.writeFileSync(statusFile, `${JSON.stringify({ service: "openWebui", lastSuccessEpoch: now - 7300 })}\n`);
      const stale = check();
      expect(stale.status).toBe(1);
      expect(stale.stdout).toMatch(/open-webui is 73[0-9][0-9]s old \(limit 7200s\)/);
      fs.rmSync(statusFile);
      expect(check().status).toBe(1);
      writeSettings(settings({ enabled: false }));
      expect(check().status).toBe(0);
      const before = fs.readdirSync(path.join(backupsDir, "open-webui")).sort();
      const idle = spawn(path.join(venv, "bin", "python"), [script, "idle"]);
      let said = "";
      idle.stdout!.on("data", (chunk: Buffer) => (said += chunk.toString()));
      await pollUntil("idle's first line", 10000, async () => (said.includes("scheduled backups are off") ? true : undefined), 50);
      const exited = new Promise<number | null>((resolve) => idle.on("exit", resolve));
      idle.kill("SIGTERM");
      expect(await exited).toBe(0);
      expect(fs.readdirSync(path.join(backupsDir, "open-webui")).sort()).toEqual(before);
      writeSettings(settings());
    });

    describe("S3 (moto's server on loopback)", () => {
      let server: ChildProcess;
      let endpoint: string;
      const bucket = "gateway-backups";
      const s3 = () => ({ endpoint, bucket, prefix: "team/ai-gateway-prod", region: "us-east-1" });
      const keys = () =>
        python(
          venv,
          `
import boto3, sys
c = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1", aws_access_key_id="AKIDTEST", aws_secret_access_key="secret-test")
print("\\n".join(sorted(o["Key"] for o in c.list_objects_v2(Bucket=sys.argv[2]).get("Contents", []))))
`,
          [endpoint, bucket],
        )
          .stdout.trim()
          .split("\n")
          .filter((k) => k !== "");

      beforeAll(async () => {
        const port = await freePort();
        endpoint = `http://127.0.0.1:${port}`;
        server = spawn(path.join(venv, "bin", "moto_server"), ["-H", "127.0.0.1", "-p", String(port)], { stdio: "ignore" });
        await pollUntil(
          "moto's S3 server",
          30000,
          async () => {
            try {
              return (await fetch(`${endpoint}/`)).status > 0 ? true : undefined;
            } catch {
              return undefined;
            }
          },
          200,
        );
        const made = python(
          venv,
          `import boto3, sys; boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1", aws_access_key_id="AKIDTEST", aws_secret_access_key="secret-test").create_bucket(Bucket=sys.argv[2])`,
          [endpoint, bucket],
        );
        expect(made.stderr).toBe("");
        // The credentials file as the stack uploads it (0600).
        fs.writeFileSync(path.join(configDir, "s3.json"), s3CredentialsFile(s3(), "AKIDTEST", "secret-test"), { mode: 0o600 });
        // LiteLLM's container's snapshots are in the same volume: the S3 copy takes both directories.
        fs.mkdirSync(path.join(backupsDir, "litellm"), { recursive: true });
        const litellmSnapshot = "20261201T000000Z-scheduled.dump";
        fs.writeFileSync(path.join(backupsDir, "litellm", litellmSnapshot), "PGDMP dump");
        fs.writeFileSync(path.join(backupsDir, "litellm", `${litellmSnapshot}.json`), "{}\n");
        // An unfinished one (no sidecar yet) is not copied.
        fs.writeFileSync(path.join(backupsDir, "litellm", "20261201T000100Z-scheduled.dump"), "PGDMP partial");
      });

      afterAll(() => {
        server?.kill("SIGKILL");
        fs.rmSync(path.join(configDir, "s3.json"), { force: true });
      });

      test("the loop copies both directories' snapshots and sidecars to the bucket under the prefix, and deletes there what retention pruned", async () => {
        const local = (sub: string) =>
          fs
            .readdirSync(path.join(backupsDir, sub))
            .filter((f) => /^[0-9]{8}T[0-9]{6}Z-.*\.(dump|tar\.gz)$/.test(f) && fs.existsSync(path.join(backupsDir, sub, `${f}.json`)))
            .flatMap((f) => [`team/ai-gateway-prod/${sub}/${f}`, `team/ai-gateway-prod/${sub}/${f}.json`]);
        fs.rmSync(path.join(backupsDir, "open-webui", "status.json"), { force: true });
        writeSettings(settings({ keep: 2, s3: s3() }));
        const loop = spawn(path.join(venv, "bin", "python"), [path.join(configDir, "open_webui_backup.py"), "loop"]);
        let log = "";
        loop.stdout!.on("data", (chunk: Buffer) => (log += chunk.toString()));
        loop.stderr!.on("data", (chunk: Buffer) => (log += chunk.toString()));
        try {
          await pollUntil("the loop's snapshot and S3 copy", 60000, async () => (log.includes("S3: uploaded") ? true : undefined), 200);
        } finally {
          loop.kill("SIGTERM");
          await new Promise((resolve) => loop.on("exit", resolve));
        }
        expect(log).not.toContain("Traceback");
        const expected = [...local("litellm"), ...local("open-webui")].sort();
        expect(expected.some((k) => k.includes("/litellm/20261201T000000Z-scheduled.dump"))).toBe(true);
        expect(keys()).toEqual(expected);
        const status = JSON.parse(run(statusCommand("openWebui")).stdout);
        expect(status).toMatchObject({ lastError: null, s3LastError: null });
        expect(status.s3LastSync).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

        // Two more scheduled snapshots with keep 2: the oldest scheduled one is pruned here, then there.
        const oldest = run(listSnapshotsCommand("openWebui"))
          .stdout.trim()
          .split("\n")
          .map(parseSnapshotRecord)
          .filter((r) => r.label === "scheduled")[0].file;
        snapshot();
        const synced = run(["python3", BACKUP_SCRIPTS.openWebui.file, "sync"]);
        expect(synced.status).toBe(0);
        expect(JSON.parse(synced.stdout).deleted).toEqual([`open-webui/${oldest}`, `open-webui/${oldest}.json`]);
        expect(keys()).toEqual([...local("litellm"), ...local("open-webui")].sort());
        expect(keys().some((k) => k.includes(oldest))).toBe(false);
      });

      test("a new server's empty backups volume with the same prefix deletes nothing in S3 (retention runs on what S3 holds)", () => {
        const before = keys();
        expect(before.length).toBeGreaterThan(0);
        const emptyBackups = fs.mkdtempSync(path.join(os.tmpdir(), "empty-backups-"));
        try {
          fs.writeFileSync(
            path.join(configDir, "settings.json"),
            openWebuiBackupSettings(settings({ keep: 2, s3: s3() }), IMAGE, dataDir, emptyBackups),
          );
          const synced = run(["python3", BACKUP_SCRIPTS.openWebui.file, "sync"]);
          expect(synced.status).toBe(0);
          expect(JSON.parse(synced.stdout)).toEqual({ uploaded: [], deleted: [] });
          expect(keys()).toEqual(before);
        } finally {
          writeSettings(settings({ keep: 2, s3: s3() }));
          fs.rmSync(emptyBackups, { recursive: true, force: true });
        }
      });

      test("a copy that S3 refuses (no such bucket) fails in one line with S3's error", () => {
        fs.writeFileSync(
          path.join(configDir, "s3.json"),
          s3CredentialsFile({ ...s3(), bucket: "no-such-bucket" }, "AKIDTEST", "secret-test"),
          {
            mode: 0o600,
          },
        );
        const failed = run(["python3", BACKUP_SCRIPTS.openWebui.file, "sync"]);
        expect(failed.status).toBe(1);
        expect(failed.stderr.trim()).toMatch(new RegExp(`^open_webui_backup: S3 copy to ${endpoint} failed: .*NoSuchBucket`));
        expect(failed.stderr.trim().split("\n")).toHaveLength(1);
        fs.writeFileSync(path.join(configDir, "s3.json"), s3CredentialsFile(s3(), "AKIDTEST", "secret-test"), { mode: 0o600 });
      });
    });
  },
);
