/**
 * The files the backup containers read (uploaded into their config directory, BACKUP_CONFIG_DIR)
 * and their healthcheck, as pure functions: components/backups.ts uploads what these return, and
 * the runtime tests run the scripts on exactly these files.
 */
import { BACKUP_CONFIG_DIR, BACKUP_DIRS, BACKUP_MOUNT, BackupService, checkCommand } from "./backups";
import { BackupS3Target, BackupSettings } from "./backupSettings";
import { HealthcheckSpec } from "./healthchecks";
import { shellQuote } from "./shellQuote";

/** Where each file lands in the config directory. */
export const BACKUP_CONFIG_FILES = {
  /** backup-litellm's settings, sourced by runtime/postgres-backup.sh. */
  postgresSettings: `${BACKUP_CONFIG_DIR}/settings.env`,
  /** The PostgreSQL password, for libpq (PGPASSFILE), 0600. */
  pgpass: `${BACKUP_CONFIG_DIR}/.pgpass`,
  /** backup-open-webui's settings, read by runtime/open_webui_backup.py. */
  openWebuiSettings: `${BACKUP_CONFIG_DIR}/settings.json`,
  /** The S3 target and its credentials, 0600; present only with S3. */
  s3: `${BACKUP_CONFIG_DIR}/s3.json`,
} as const;

/** Where PostgreSQL is reached from backup-litellm, and as whom. */
export interface PostgresTarget {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
}

/** settings.env of backup-litellm: every value shell-quoted (the script sources it). `backupDir` is for tests. */
export function postgresBackupSettings(
  settings: BackupSettings,
  litellmImage: string,
  target: PostgresTarget,
  backupDir: string = BACKUP_DIRS.litellm,
): string {
  const values: [string, string][] = [
    ["BACKUP_DIR", backupDir],
    ["BACKUP_INTERVAL_SECONDS", String(settings.intervalSeconds)],
    ["BACKUP_KEEP", String(settings.keep)],
    ["BACKUP_SCHEDULE", settings.enabled ? "on" : "off"],
    ["BACKUP_IMAGE", litellmImage],
    ["PGHOST", target.host],
    ["PGPORT", String(target.port)],
    ["PGDATABASE", target.database],
    ["PGUSER", target.user],
  ];
  return values.map(([name, value]) => `${name}=${shellQuote(value)}\n`).join("");
}

/** One `.pgpass` line (host:port:database:user:password), `:` and `\` escaped as libpq reads them. */
export function pgpassLine(target: PostgresTarget, password: string): string {
  const field = (value: string) => value.replace(/\\/g, "\\\\").replace(/:/g, "\\:");
  return `${[target.host, String(target.port), target.database, target.user, password].map(field).join(":")}\n`;
}

/** settings.json of backup-open-webui; `backupsDir` (the backups volume's mount) is for tests. */
export function openWebuiBackupSettings(
  settings: BackupSettings,
  openWebuiImage: string,
  dataDir: string,
  backupsDir: string = BACKUP_MOUNT,
): string {
  return `${JSON.stringify({
    backupsDir,
    dataDir,
    intervalSeconds: settings.intervalSeconds,
    keep: settings.keep,
    schedule: settings.enabled,
    image: openWebuiImage,
  })}\n`;
}

/** s3.json of backup-open-webui: the target and the credentials (a secret file, 0600). */
export function s3CredentialsFile(target: BackupS3Target, accessKeyId: string, secretAccessKey: string): string {
  return `${JSON.stringify({ ...target, accessKeyId, secretAccessKey })}\n`;
}

/**
 * Healthy while the newest scheduled snapshot is younger than twice the interval (always, with
 * scheduled backups off), so `docker ps` and any container monitor show a stale backup. The start
 * period covers the first snapshot a new container takes (its size decides how long that takes);
 * Docker probes every 5 s during it, so a container turns healthy as soon as that one is done.
 */
export function backupHealthcheck(service: BackupService): HealthcheckSpec {
  return {
    test: ["CMD", ...checkCommand(service)],
    intervalSeconds: 60,
    timeoutSeconds: 30,
    retries: 3,
    startPeriodSeconds: 900,
  };
}
