/**
 * The backups' shared vocabulary: which container backs up which service, where the files land,
 * how a snapshot is named and described, and the commands that take, list and restore one inside
 * the backup containers. Pure: the Backups component uploads the scripts and runs the loop; the
 * pre-upgrade snapshot step and the restore and rollback tools exec these commands.
 */

/** The services whose data is backed up: LiteLLM's database and Open WebUI's data volume. */
export type BackupService = "litellm" | "openWebui";

export const BACKUP_SERVICES: readonly BackupService[] = ["litellm", "openWebui"];

/** How a service is written on command lines and in file names. */
export const BACKUP_SERVICE_NAMES: Readonly<Record<BackupService, string>> = { litellm: "litellm", openWebui: "open-webui" };

/** The backup container of each service is `${namePrefix}-${suffix}`. */
export const BACKUP_CONTAINER_SUFFIX: Readonly<Record<BackupService, string>> = {
  litellm: "backup-litellm",
  openWebui: "backup-open-webui",
};

/** Where the backups volume is mounted in both backup containers. */
export const BACKUP_MOUNT = "/backups";

/** Each service's directory in the backups volume. */
export const BACKUP_DIRS: Readonly<Record<BackupService, string>> = {
  litellm: `${BACKUP_MOUNT}/litellm`,
  openWebui: `${BACKUP_MOUNT}/open-webui`,
};

/** The backup containers' config directory (read-only roots; the scripts are uploaded there). */
export const BACKUP_CONFIG_DIR = "/etc/ai-gateway-backup";

/** The script each backup container runs, and how. */
export const BACKUP_SCRIPTS: Readonly<Record<BackupService, { readonly file: string; readonly interpreter: readonly string[] }>> = {
  litellm: { file: `${BACKUP_CONFIG_DIR}/postgres-backup.sh`, interpreter: ["sh"] },
  openWebui: { file: `${BACKUP_CONFIG_DIR}/open_webui_backup.py`, interpreter: ["python3"] },
};

/** Why a snapshot was taken: the schedule, or just before a service's image changes. */
export type SnapshotLabel = "scheduled" | `pre-upgrade-${string}`;

/** The label of the snapshot taken before `service`'s image changes. */
export function preUpgradeLabel(service: BackupService): SnapshotLabel {
  return `pre-upgrade-${BACKUP_SERVICE_NAMES[service]}`;
}

/**
 * A snapshot's description, written beside it as `<file>.json` and printed (one line of JSON) by
 * the snapshot and list commands.
 */
export interface SnapshotRecord {
  readonly service: BackupService;
  readonly label: SnapshotLabel;
  /** The snapshot's file name in its service's directory, `<yyyymmddThhmmssZ>-<label>.<ext>`. */
  readonly file: string;
  /** When it was taken, ISO 8601 UTC. */
  readonly created: string;
  /** The service's image pin when it was taken: what a rollback returns to. */
  readonly image: string;
  readonly sha256: string;
  readonly bytes: number;
}

/** A snapshot's file name: sortable by time, then the label; a dump or a tar.gz (never its `.json` sidecar). */
const SNAPSHOT_FILE = /^[0-9]{8}T[0-9]{6}Z-(scheduled|pre-upgrade-[a-z-]+)\.(dump|tar\.gz)$/;

/** Whether `file` is a snapshot's file name (no directory, nothing a shell or a path could misread). */
export function isSnapshotFile(file: string): boolean {
  return SNAPSHOT_FILE.test(file);
}

function command(service: BackupService, args: readonly string[]): string[] {
  const script = BACKUP_SCRIPTS[service];
  return [...script.interpreter, script.file, ...args];
}

/** The argv to exec in `service`'s backup container to take one snapshot now; its last line of stdout is the SnapshotRecord. */
export function snapshotCommand(service: BackupService, label: SnapshotLabel): string[] {
  return command(service, ["snapshot", label]);
}

/** The argv that prints one SnapshotRecord per line, oldest first. */
export function listSnapshotsCommand(service: BackupService): string[] {
  return command(service, ["list"]);
}

/** The argv that restores `file` (a name from the list) over the service's live data; the service must be stopped. */
export function restoreCommand(service: BackupService, file: string): string[] {
  if (!isSnapshotFile(file)) {
    throw new Error(`restoreCommand: ${JSON.stringify(file)} is not a snapshot's file name`);
  }
  return command(service, ["restore", file]);
}

/** The argv the backup container runs as its main process: a snapshot every interval, keeping the newest `keep`. */
export function loopCommand(service: BackupService): string[] {
  return command(service, ["loop"]);
}

/** The argv the backup container runs as its main process with scheduled backups off: it only answers exec'd commands. */
export function idleCommand(service: BackupService): string[] {
  return command(service, ["idle"]);
}

/** The argv that prints the service's backup status as one JSON line (BackupStatus). */
export function statusCommand(service: BackupService): string[] {
  return command(service, ["status"]);
}

/** The argv of the containers' healthcheck: exit 1 when the newest scheduled snapshot is older than twice the interval. */
export function checkCommand(service: BackupService): string[] {
  return command(service, ["check"]);
}

/** What the status command prints: the scheduled snapshots' last attempt, success and error (and, for Open WebUI's container, S3's). */
export interface BackupStatus {
  readonly service: BackupService;
  readonly lastAttempt: string | null;
  readonly lastSuccess: string | null;
  /** lastSuccess in seconds since the epoch. */
  readonly lastSuccessEpoch: number | null;
  readonly lastError: string | null;
  readonly s3LastSync?: string | null;
  readonly s3LastError?: string | null;
}

/** Parses one line of a snapshot or list command's output. */
export function parseSnapshotRecord(line: string): SnapshotRecord {
  const record = JSON.parse(line) as SnapshotRecord;
  if (!BACKUP_SERVICES.includes(record.service) || !isSnapshotFile(record.file) || typeof record.image !== "string") {
    throw new Error(`not a snapshot record: ${line.slice(0, 200)}`);
  }
  return record;
}
