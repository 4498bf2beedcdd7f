"""Open WebUI's data backups, and the S3 copy of every backup, run in the gateway's
backup-open-webui container (the pinned Open WebUI image: python3 with sqlite3, and boto3 for S3):

  open_webui_backup.py loop             the main process: a snapshot at start when the newest is
                                        older than the interval, then one every interval; with S3,
                                        every few minutes the new files of both services' backup
                                        directories go up and the pruned ones are deleted there
  open_webui_backup.py idle             the main process when scheduled backups are off
  open_webui_backup.py snapshot LABEL   one snapshot now; the last line of stdout is its record
  open_webui_backup.py list             every snapshot's record, one JSON line each, oldest first
  open_webui_backup.py restore FILE     replaces the data volume's contents with FILE's (Open WebUI stopped)
  open_webui_backup.py status           one JSON line: the last attempt, success and error (and S3's)
  open_webui_backup.py check            the healthcheck: fails when the newest scheduled snapshot
                                        is older than twice the interval
  open_webui_backup.py sync             one S3 upload and prune now

A snapshot is a tar.gz of Open WebUI's data directory in which every SQLite database (webui.db,
the vector store's chroma.sqlite3, any other) is a copy taken through SQLite's online backup API,
so it is consistent while Open WebUI writes. cache/ (the embedding models the image brings, copied
into a new volume by Docker) is left out, and a restore leaves it in place.

Settings are beside this file: settings.json (written by the stack) and, with S3, s3.json (0600:
it holds the credentials, which are never in the environment).
"""

import hashlib
import json
import os
import re
import shutil
import signal
import sqlite3
import sys
import tarfile
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SERVICE = "openWebui"
SNAPSHOT_FILE = re.compile(r"^[0-9]{8}T[0-9]{6}Z-(scheduled|pre-upgrade-[a-z-]+)\.[a-z0-9.]+$")
LABEL = re.compile(r"^(scheduled|pre-upgrade-[a-z-]+)$")
EXTENSION = ".tar.gz"
SQLITE_HEADER = b"SQLite format 3\x00"
# Files SQLite keeps beside a database while it is open: the backup copy replaces them.
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")
# Left out of snapshots and left in place by a restore (see the module's description).
EXCLUDED_DIRS = ("cache",)
RETRY_SECONDS = 300
# How often the loop ships new files to S3 (the other service's snapshots, pre-upgrade ones).
SYNC_SECONDS = 600
# S3 keys under the prefix, by backup directory (lib/backups.ts BACKUP_SERVICE_NAMES).
S3_DIRS = ("litellm", "open-webui")


class BackupError(Exception):
    """A refusal or failure, printed as one line."""


def load_settings():
    with open(os.path.join(HERE, "settings.json"), encoding="utf-8") as f:
        settings = json.load(f)
    s3_file = os.path.join(HERE, "s3.json")
    if os.path.exists(s3_file):
        with open(s3_file, encoding="utf-8") as f:
            settings["s3"] = json.load(f)
    return settings


def utc_now():
    return time.gmtime()


def backup_dir(settings):
    return os.path.join(settings["backupsDir"], "open-webui")


def status_file(settings):
    return os.path.join(backup_dir(settings), "status.json")


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def is_sqlite(path):
    try:
        with open(path, "rb") as f:
            return f.read(len(SQLITE_HEADER)) == SQLITE_HEADER
    except OSError:
        return False


def copy_sqlite(source, target):
    """A consistent copy of a live database: the backup API copies every page under one read lock."""
    src = sqlite3.connect(source, timeout=60)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()


def data_files(data_dir):
    """Relative paths of what a snapshot holds: everything but the excluded directories and SQLite's side files."""
    found = []
    for root, dirs, files in os.walk(data_dir):
        rel_root = os.path.relpath(root, data_dir)
        if rel_root == ".":
            dirs[:] = [d for d in dirs if d not in EXCLUDED_DIRS and not d.startswith(".restore-")]
        dirs.sort()
        for name in sorted(files):
            rel = os.path.normpath(os.path.join(rel_root, name))
            if os.path.islink(os.path.join(root, name)):
                continue  # a snapshot holds files only (a restore refuses anything else)
            if any(name.endswith(side) and os.path.exists(os.path.join(root, name[: -len(side)])) for side in SQLITE_SIDE_FILES):
                continue
            found.append(rel)
    return found


def snapshots(settings, label=None):
    """Complete snapshots (with a sidecar), oldest first."""
    directory = backup_dir(settings)
    if not os.path.isdir(directory):
        return []
    names = []
    for name in sorted(os.listdir(directory)):
        if SNAPSHOT_FILE.match(name) and os.path.exists(os.path.join(directory, name + ".json")):
            if label is None or label_of(name) == label:
                names.append(name)
    return names


def label_of(name):
    return SNAPSHOT_FILE.match(name).group(1)


def prune(settings):
    directory = backup_dir(settings)
    keep = settings["keep"]
    for label in sorted({label_of(name) for name in snapshots(settings)}):
        named = snapshots(settings, label)
        for old in named[: max(0, len(named) - keep)]:
            for path in (os.path.join(directory, old + ".json"), os.path.join(directory, old)):
                if os.path.exists(path):
                    os.remove(path)
            print(f"pruned {old} (keeping the newest {keep} {label})", file=sys.stderr)


def snapshot(settings, label):
    if not LABEL.match(label):
        raise BackupError(f"not a snapshot label: {label} (scheduled or pre-upgrade-<service>)")
    directory = backup_dir(settings)
    os.makedirs(directory, exist_ok=True)
    while True:
        now = utc_now()
        name = time.strftime("%Y%m%dT%H%M%SZ", now) + f"-{label}{EXTENSION}"
        if not os.path.exists(os.path.join(directory, name)):
            break
        time.sleep(1)
    data_dir = settings["dataDir"]
    work = tempfile.mkdtemp(prefix=".partial-", dir=directory)
    try:
        partial = os.path.join(work, name)
        with tarfile.open(partial, "w:gz") as tar:
            for rel in data_files(data_dir):
                path = os.path.join(data_dir, rel)
                if is_sqlite(path):
                    copy = os.path.join(work, "db")
                    copy_sqlite(path, copy)
                    info = tar.gettarinfo(copy, arcname=rel)
                    info.mode = os.stat(path).st_mode & 0o7777
                    with open(copy, "rb") as f:
                        tar.addfile(info, f)
                    os.remove(copy)
                else:
                    tar.add(path, arcname=rel, recursive=False)
        record = {
            "service": SERVICE,
            "label": label,
            "file": name,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", now),
            "image": settings["image"],
            "sha256": sha256_of(partial),
            "bytes": os.path.getsize(partial),
        }
        with open(partial + ".json", "w", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
        # The archive first, then its sidecar: a snapshot with a sidecar is complete.
        os.replace(partial, os.path.join(directory, name))
        os.replace(partial + ".json", os.path.join(directory, name + ".json"))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    prune(settings)
    return record


def list_records(settings):
    directory = backup_dir(settings)
    records = []
    for name in snapshots(settings):
        with open(os.path.join(directory, name + ".json"), encoding="utf-8") as f:
            records.append(f.readline().strip())
    return records


def check_not_in_use(data_dir):
    """Refuses while Open WebUI may have its database open: a write lock held, or a WAL left by a running server."""
    db = os.path.join(data_dir, "webui.db")
    if not os.path.exists(db):
        return
    if os.path.exists(db + "-wal") and os.path.getsize(db + "-wal") > 0:
        raise BackupError(f"{db}-wal exists: Open WebUI looks to be running (stop its container first); nothing was restored")
    conn = sqlite3.connect(db, timeout=1)
    try:
        conn.execute("BEGIN EXCLUSIVE")
        conn.rollback()
    except sqlite3.OperationalError as error:
        raise BackupError(f"{db} is in use ({error}): stop Open WebUI's container first; nothing was restored") from error
    finally:
        conn.close()


def restore(settings, name):
    if not SNAPSHOT_FILE.match(name):
        raise BackupError(f"not a snapshot file name: {name}")
    directory = backup_dir(settings)
    path = os.path.join(directory, name)
    if not (os.path.exists(path) and os.path.exists(path + ".json")):
        existing = " ".join(snapshots(settings)) or "none"
        raise BackupError(f"no snapshot {name} in {directory}; snapshots there: {existing}")
    with open(path + ".json", encoding="utf-8") as f:
        expected = json.loads(f.readline())["sha256"]
    actual = sha256_of(path)
    if actual != expected:
        raise BackupError(f"{name} does not match its sidecar (sha256 {actual}, recorded {expected}): not restored")
    data_dir = settings["dataDir"]
    check_not_in_use(data_dir)
    staging = tempfile.mkdtemp(prefix=".restore-", dir=data_dir)
    try:
        with tarfile.open(path, "r:gz") as tar:
            for member in tar.getmembers():
                parts = member.name.split("/")
                if os.path.isabs(member.name) or ".." in parts or not (member.isfile() or member.isdir()):
                    raise BackupError(f"{name} holds {member.name!r}, which a snapshot never does: not restored")
            if hasattr(tarfile, "data_filter"):
                tar.extractall(staging, filter="data")
            else:
                tar.extractall(staging)
        # The archive is whole: only now is the live data replaced (cache/ stays).
        for entry in os.listdir(data_dir):
            full = os.path.join(data_dir, entry)
            if entry in EXCLUDED_DIRS or full == staging:
                continue
            if os.path.isdir(full) and not os.path.islink(full):
                shutil.rmtree(full)
            else:
                os.remove(full)
        for entry in os.listdir(staging):
            os.replace(os.path.join(staging, entry), os.path.join(data_dir, entry))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return f"restored {name} into {data_dir}"


# --- S3 ---------------------------------------------------------------------------------------


def s3_client(s3):
    import boto3  # only with S3 configured: the image has it (open-webui's requirements)
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=s3["endpoint"],
        region_name=s3["region"],
        aws_access_key_id=s3["accessKeyId"],
        aws_secret_access_key=s3["secretAccessKey"],
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 3}),
    )


def local_backup_files(settings, subdir):
    """Snapshot files and their sidecars (complete ones only) in one backup directory."""
    directory = os.path.join(settings["backupsDir"], subdir)
    if not os.path.isdir(directory):
        return []
    names = []
    for name in sorted(os.listdir(directory)):
        if SNAPSHOT_FILE.match(name) and os.path.exists(os.path.join(directory, name + ".json")):
            names += [name, name + ".json"]
    return names


def s3_expired(remote, local, keep):
    """The remote snapshots retention drops: per label, all but the newest `keep`, never one still
    here. Retention runs on what S3 holds, not on what this host lacks: a new server's empty
    backups volume must not empty the bucket it is about to restore from."""
    expired = []
    archives = sorted(name for name in remote if SNAPSHOT_FILE.match(name) and not name.endswith(".json"))
    for label in sorted({label_of(name) for name in archives}):
        named = [name for name in archives if label_of(name) == label]
        expired += [name for name in named[: max(0, len(named) - keep)] if name not in local]
    return expired


def sync(settings):
    """Uploads what S3 lacks (archive before sidecar) and keeps the newest `keep` per label there."""
    s3 = settings.get("s3")
    if not s3:
        return {"uploaded": [], "deleted": []}
    client = s3_client(s3)
    prefix = s3["prefix"].strip("/")
    uploaded, deleted = [], []
    for subdir in S3_DIRS:
        key_prefix = f"{prefix}/{subdir}/" if prefix else f"{subdir}/"
        remote = set()
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=s3["bucket"], Prefix=key_prefix):
            for item in page.get("Contents", []):
                remote.add(item["Key"][len(key_prefix) :])
        local = local_backup_files(settings, subdir)
        for name in local:
            if name not in remote:
                client.upload_file(os.path.join(settings["backupsDir"], subdir, name), s3["bucket"], key_prefix + name)
                uploaded.append(f"{subdir}/{name}")
        remote |= set(local)
        for base in s3_expired(remote, set(local), settings["keep"]):
            for name in (base, base + ".json"):
                if name in remote:
                    client.delete_object(Bucket=s3["bucket"], Key=key_prefix + name)
                    deleted.append(f"{subdir}/{name}")
    return {"uploaded": uploaded, "deleted": deleted}


# --- status, loop -----------------------------------------------------------------------------


def read_status(settings):
    try:
        with open(status_file(settings), encoding="utf-8") as f:
            return json.loads(f.readline())
    except (OSError, ValueError):
        return {"service": SERVICE, "lastAttempt": None, "lastSuccess": None, "lastSuccessEpoch": None, "lastError": None}


def write_status(settings, status):
    path = status_file(settings)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".partial", "w", encoding="utf-8") as f:
        f.write(json.dumps(status) + "\n")
    os.replace(path + ".partial", path)


def iso(epoch):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def last_line(error):
    return str(error).strip().splitlines()[-1][:500] if str(error).strip() else type(error).__name__


def check(settings):
    if not settings["schedule"]:
        return 0
    last = read_status(settings).get("lastSuccessEpoch") or 0
    age = int(time.time()) - int(last)
    limit = 2 * settings["intervalSeconds"]
    print(f"the newest scheduled snapshot of open-webui is {age}s old" + (f" (limit {limit}s)" if age >= limit else ""))
    return 1 if age >= limit else 0


def run_sync(settings, status):
    if not settings.get("s3"):
        return
    try:
        result = sync(settings)
        status["s3LastSync"] = iso(time.time())
        status["s3LastError"] = None
        if result["uploaded"] or result["deleted"]:
            print(f"S3: uploaded {result['uploaded']}, deleted {result['deleted']}", flush=True)
    except Exception as error:  # noqa: BLE001 - any failure is recorded and retried at the next sync
        status["s3LastError"] = last_line(error)
        print(f"S3 sync failed: {last_line(error)}", file=sys.stderr, flush=True)


def loop(settings):
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    interval = settings["intervalSeconds"]
    next_sync = 0.0
    while True:
        status = read_status(settings)
        age = time.time() - (status.get("lastSuccessEpoch") or 0)
        if age >= interval:
            status["lastAttempt"] = iso(time.time())
            try:
                record = snapshot(settings, "scheduled")
                status.update(lastSuccess=record["created"], lastSuccessEpoch=int(time.time()), lastError=None)
                print(f"scheduled snapshot: {json.dumps(record)}", flush=True)
                next_sync = 0.0
            except Exception as error:  # noqa: BLE001 - recorded, and tried again soon
                status["lastError"] = last_line(error)
                print(f"scheduled snapshot failed: {last_line(error)}", file=sys.stderr, flush=True)
            write_status(settings, status)
        if time.time() >= next_sync:
            run_sync(settings, status)
            write_status(settings, status)
            next_sync = time.time() + min(SYNC_SECONDS, interval)
        status = read_status(settings)
        due = (status.get("lastSuccessEpoch") or 0) + interval
        if status.get("lastError"):
            due = min(due, time.time() + min(RETRY_SECONDS, interval))
        wake = min(due, next_sync) if settings.get("s3") else due
        time.sleep(max(1.0, wake - time.time()))


def idle(settings):
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print("scheduled backups are off (backups: false); snapshots are taken only when asked (pre-upgrade)", flush=True)
    while True:
        if settings.get("s3"):
            status = read_status(settings)
            run_sync(settings, status)
            write_status(settings, status)
        time.sleep(SYNC_SECONDS)


def main(argv):
    usage = "usage: open_webui_backup.py loop|idle|snapshot LABEL|list|restore FILE|status|check|sync"
    if not argv:
        print(usage, file=sys.stderr)
        return 2
    command, args = argv[0], argv[1:]
    settings = load_settings()
    try:
        if command == "loop" and not args:
            loop(settings)
        elif command == "idle" and not args:
            idle(settings)
        elif command == "snapshot" and len(args) == 1:
            print(json.dumps(snapshot(settings, args[0])))
        elif command == "list" and not args:
            for line in list_records(settings):
                print(line)
        elif command == "restore" and len(args) == 1:
            print(restore(settings, args[0]))
        elif command == "status" and not args:
            print(json.dumps(read_status(settings)))
        elif command == "check" and not args:
            return check(settings)
        elif command == "sync" and not args:
            try:
                print(json.dumps(sync(settings)))
            except Exception as error:  # noqa: BLE001 - boto3's errors, said in one line
                raise BackupError(f"S3 copy to {settings.get('s3', {}).get('endpoint')} failed: {last_line(error)}") from error
        else:
            print(usage, file=sys.stderr)
            return 2
    except BackupError as error:
        print(f"open_webui_backup: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
