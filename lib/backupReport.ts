/**
 * What `npm run backups -- status|list --stack NAME` (tools/backups.ts) prints and exits with, as
 * pure functions: the command line, each service's newest scheduled snapshot and its age against
 * twice the interval, and the exit code a monitor (cron, a CI schedule) alerts on.
 */
import { BACKUP_SERVICE_NAMES, BackupService, BackupStatus, SnapshotRecord } from "./backups";
import { durationMs } from "./durations";
import { UsageError } from "./smoke";

export const BACKUPS_USAGE = "usage: npm run backups -- status|list --stack NAME";

export interface BackupsCommand {
  readonly action: "status" | "list";
  readonly stack: string;
}

/** Parses the arguments after `npm run backups --`; throws UsageError on anything else. */
export function parseBackupsArgs(argv: readonly string[]): BackupsCommand {
  const [action, ...rest] = argv;
  if (action !== "status" && action !== "list") {
    throw new UsageError(`${action === undefined ? "no command" : `unknown command ${JSON.stringify(action)}`}; ${BACKUPS_USAGE}`);
  }
  let stack: string | undefined;
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i];
    if (arg === "--stack" && rest[i + 1] !== undefined && !rest[i + 1].startsWith("--")) {
      stack = rest[++i];
    } else if (arg.startsWith("--stack=") && arg.length > "--stack=".length) {
      stack = arg.slice("--stack=".length);
    } else {
      throw new UsageError(`unexpected ${JSON.stringify(arg)}; ${BACKUPS_USAGE}`);
    }
  }
  if (stack === undefined) {
    throw new UsageError(`--stack is required; ${BACKUPS_USAGE}`);
  }
  return { action, stack };
}

/** The `backups` stack output (components/backups.ts BackupsSummary), as far as the tool reads it. */
export interface BackupsOutput {
  readonly containers: Readonly<Record<string, string>>;
  readonly scheduled: boolean;
  readonly interval: string;
}

/** What the tool learnt from one backup container: its status line and its snapshots' records (oldest first). */
export interface ServiceBackups {
  readonly service: BackupService;
  readonly status: BackupStatus;
  readonly snapshots: readonly SnapshotRecord[];
}

export interface StatusRow {
  readonly service: string;
  readonly result: "OK" | "STALE" | "NONE" | "OFF";
  readonly detail: string;
}

/** "3h 12m", "45s": an age for people. */
export function formatAge(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const days = Math.floor(s / 86400);
  const hours = Math.floor((s % 86400) / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  if (days > 0) {
    return `${days}d ${hours}h`;
  }
  if (hours > 0) {
    return `${hours}h ${minutes}m`;
  }
  return minutes > 0 ? `${minutes}m ${s % 60}s` : `${s}s`;
}

/**
 * One row per service: its newest scheduled snapshot and age, STALE when that is twice the
 * interval or more (what turns its container unhealthy), NONE when there is none, OFF when
 * scheduled backups are off (backups: false). The last error, if any, is said too.
 */
export function statusRows(output: BackupsOutput, services: readonly ServiceBackups[], nowMs: number): StatusRow[] {
  const intervalMs = durationMs(output.interval);
  if (intervalMs === undefined) {
    throw new Error(`the backups output's interval ${JSON.stringify(output.interval)} is not a duration`);
  }
  return services.map(({ service, status, snapshots }) => {
    const name = BACKUP_SERVICE_NAMES[service];
    const error = status.lastError ? `; last error: ${status.lastError}` : "";
    const s3 = status.s3LastError ? `; S3 copy failing: ${status.s3LastError}` : "";
    const newest = [...snapshots].reverse().find((r) => r.label === "scheduled");
    if (!output.scheduled) {
      return {
        service: name,
        result: "OFF",
        detail: `scheduled backups are off (backups: false); ${snapshots.length} snapshot(s) kept${s3}`,
      };
    }
    if (newest === undefined) {
      return { service: name, result: "NONE", detail: `no scheduled snapshot yet${error}${s3}` };
    }
    const ageSeconds = (nowMs - Date.parse(newest.created)) / 1000;
    const limitSeconds = (2 * intervalMs) / 1000;
    const stale = ageSeconds >= limitSeconds;
    return {
      service: name,
      result: stale ? "STALE" : "OK",
      detail: `${newest.file} (${newest.bytes} bytes), ${formatAge(ageSeconds)} old${stale ? `, over twice the interval (${output.interval})` : ` (interval ${output.interval})`}${error}${s3}`,
    };
  });
}

/** 0 when every service is OK (or off), 1 when one is stale or has no snapshot. */
export function statusExitCode(rows: readonly StatusRow[]): number {
  return rows.some((row) => row.result === "STALE" || row.result === "NONE") ? 1 : 0;
}

/** The rows as aligned text lines. */
export function renderStatus(rows: readonly StatusRow[]): string {
  const width = Math.max(...rows.map((row) => row.service.length));
  return rows.map((row) => `${row.service.padEnd(width)}  ${row.result.padEnd(5)}  ${row.detail}`).join("\n");
}

/** `list`: every snapshot of every service, oldest first per service. */
export function renderList(services: readonly ServiceBackups[]): string {
  return services
    .flatMap(({ service, snapshots }) =>
      snapshots.map(
        (r) => `${BACKUP_SERVICE_NAMES[service].padEnd(10)}  ${r.file}  ${String(r.bytes).padStart(12)} bytes  image ${r.image}`,
      ),
    )
    .join("\n");
}
