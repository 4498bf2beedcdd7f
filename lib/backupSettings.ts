/**
 * The backup settings (issue 12 item 2): defaults per profile, validated before any resource is
 * registered, each refusal one line naming the setting, the value and what is allowed. Pure: the
 * Backups component (components/backups.ts) only wires what this returns.
 */
import { PROFILES, ProfileName } from "../profiles";
import { DURATION_FORMS, durationMs } from "./durations";
import { SettingError, shown, shownSecret } from "./errors";
import { isIpv4 } from "./validation";

/** The backup settings as the stack's config (or a library caller) gives them; every field optional. */
export interface BackupSettingsInput {
  /** Scheduled snapshots of LiteLLM's database and Open WebUI's data. Default true, false on an ephemeral stack. */
  readonly backups?: boolean;
  /** Time between two scheduled snapshots: `<n>m`, `<n>h` or `<n>d`. Default per profile: small 24h, medium 12h, large 6h. */
  readonly backupInterval?: string;
  /** Scheduled snapshots kept per service, and pre-upgrade ones per service. Default per profile: small 7, medium 14, large 28. */
  readonly backupKeep?: number;
  /** An S3-compatible endpoint every snapshot is copied to, e.g. https://s3.eu-central-1.amazonaws.com. Default none (the backups volume only). */
  readonly backupS3Endpoint?: string;
  /** The bucket (it must exist). Required with backupS3Endpoint. */
  readonly backupS3Bucket?: string;
  /** Key prefix in the bucket; the snapshots go under `<prefix>/litellm/` and `<prefix>/open-webui/`. Default the gateway's name prefix. */
  readonly backupS3Prefix?: string;
  /** The region the endpoint signs for. Default "us-east-1". */
  readonly backupS3Region?: string;
  /** Access key id and secret access key (secrets): required with backupS3Endpoint; only their presence is checked here. */
  readonly backupS3AccessKeyId?: unknown;
  readonly backupS3SecretAccessKey?: unknown;
}

/** Where the snapshots are copied to, without the credentials (they stay secrets: components/backups.ts). */
export interface BackupS3Target {
  readonly endpoint: string;
  readonly bucket: string;
  readonly prefix: string;
  readonly region: string;
}

/** The backup settings after defaults and validation. */
export interface BackupSettings {
  /** Scheduled snapshots on; off, the containers only take what is asked of them (pre-upgrade). */
  readonly enabled: boolean;
  /** The interval as configured, e.g. "12h". */
  readonly interval: string;
  readonly intervalSeconds: number;
  readonly keep: number;
  readonly s3: BackupS3Target | undefined;
}

/** What the backup settings are checked against: the gateway's own settings. */
export interface BackupContext {
  readonly profile: ProfileName;
  readonly ephemeral: boolean;
  /** The gateway's name prefix: the default S3 key prefix. */
  readonly namePrefix: string;
}

export const BACKUP_DEFAULTS = { region: "us-east-1" } as const;

/** The most snapshots kept per label: past this, a typo (7000 for 7) would fill the disk. */
export const MAX_BACKUP_KEEP = 1000;
/** The longest interval: a year. */
const MAX_INTERVAL_MS = 365 * 86_400_000;

/** The S3 settings other than the endpoint: each needs it. */
const S3_KEYS = ["backupS3Bucket", "backupS3Prefix", "backupS3Region", "backupS3AccessKeyId", "backupS3SecretAccessKey"] as const;

function flag(key: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) {
    return fallback;
  }
  if (typeof value !== "boolean") {
    throw new SettingError(key, shown(value), "must be true or false");
  }
  return value;
}

/** A positive duration of minutes, hours or days, at most a year; returns its seconds. */
export function backupIntervalSeconds(key: string, value: unknown): number {
  const ms = typeof value === "string" ? durationMs(value) : undefined;
  if (ms === undefined || ms > MAX_INTERVAL_MS) {
    throw new SettingError(key, shown(value), `must be ${DURATION_FORMS}, at most 365d`);
  }
  return ms / 1000;
}

/** The private IPv4 ranges (RFC 1918) and carrier-grade NAT (RFC 6598), where plain http:// stays off the internet. */
function isPrivateIpv4(address: string): boolean {
  const [a, b] = address.split(".").map(Number);
  return a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 100 && b >= 64 && b <= 127);
}

/**
 * An S3 endpoint: https:// (or http:// to a private address) with a host and an optional port,
 * nothing else: no path (the bucket and key go there), query or credentials (they are settings of
 * their own). Loopback is refused: 127.0.0.1 in the backup container is the container itself.
 */
export function s3Endpoint(key: string, value: unknown): string {
  const allowed =
    "must be an https:// URL of an S3-compatible service with a host and an optional port and no path, query or credentials (http:// only to a private 10/8, 172.16/12, 192.168/16 address), e.g. https://s3.eu-central-1.amazonaws.com";
  if (typeof value !== "string") {
    throw new SettingError(key, shown(value), allowed);
  }
  if (/^[a-z]+:\/\/[^/]*@/i.test(value)) {
    // Credentials in the URL are not shown: they belong in the secret settings.
    throw new SettingError(
      key,
      shown(value.replace(/^([a-z]+:\/\/)[^/]*@/i, "$1[credentials]@")),
      `${allowed}; put the keys in backupS3AccessKeyId and backupS3SecretAccessKey`,
    );
  }
  const match = /^(https?):\/\/([A-Za-z0-9.-]+)(?::([0-9]{1,5}))?\/?$/i.exec(value);
  if (!match || match[2].startsWith(".") || match[2].endsWith(".") || match[2].includes("..")) {
    throw new SettingError(key, shown(value), allowed);
  }
  const host = match[2].toLowerCase();
  const port = match[3] === undefined ? undefined : Number(match[3]);
  if (port !== undefined && (port < 1 || port > 65535)) {
    throw new SettingError(key, shown(value), allowed);
  }
  if (host === "localhost" || host.endsWith(".localhost") || (isIpv4(host) && host.startsWith("127."))) {
    throw new SettingError(
      key,
      shown(value),
      "is a loopback address, which in the backup container is the container itself: give the S3 service's address as the Docker host reaches it",
    );
  }
  if (match[1].toLowerCase() === "http" && !(isIpv4(host) && isPrivateIpv4(host))) {
    throw new SettingError(
      key,
      shown(value),
      "is plain http:// to a public host, which would send the S3 credentials and every backup in cleartext: use https://",
    );
  }
  return `${match[1].toLowerCase()}://${host}${port === undefined ? "" : `:${port}`}`;
}

/** An S3 bucket name as AWS's naming rules have it (also what other S3-compatible services accept). */
export function s3Bucket(key: string, value: unknown): string {
  const valid =
    typeof value === "string" &&
    /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(value) &&
    !value.includes("..") &&
    !value.includes(".-") &&
    !value.includes("-.") &&
    !isIpv4(value) &&
    !value.startsWith("xn--") &&
    !value.endsWith("-s3alias");
  if (!valid) {
    throw new SettingError(
      key,
      shown(value),
      "must be an S3 bucket name: 3-63 lowercase letters, digits, '.' and '-', starting and ending with a letter or digit, not an IP address",
    );
  }
  return value;
}

/** A key prefix: path segments of letters, digits and `._-`, without leading or trailing '/'. */
export function s3Prefix(key: string, value: unknown): string {
  if (typeof value === "string" && value.length <= 200 && /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/.test(value)) {
    if (!value.split("/").some((segment) => segment === "." || segment === "..")) {
      return value;
    }
  }
  throw new SettingError(
    key,
    shown(value),
    "must be a key prefix of up to 200 characters: segments of letters, digits, '.', '_' and '-' separated by '/', e.g. backups/ai-gateway",
  );
}

function s3Region(key: string, value: unknown): string {
  if (typeof value === "string" && /^[a-z0-9][a-z0-9-]{0,31}$/.test(value)) {
    return value;
  }
  throw new SettingError(key, shown(value), "must be a region name such as us-east-1, eu-central-1 or auto");
}

function present(value: unknown): boolean {
  return value !== undefined && value !== "";
}

/** The backup settings (defaults from the profile); throws SettingError on the first bad one. */
export function resolveBackupSettings(input: BackupSettingsInput, context: BackupContext): BackupSettings {
  const defaults = PROFILES[context.profile].backups;
  const enabled = flag("backups", input.backups, !context.ephemeral);
  const interval = input.backupInterval ?? defaults.interval;
  const intervalSeconds = backupIntervalSeconds("backupInterval", interval);
  const keepValue = input.backupKeep ?? defaults.keep;
  if (typeof keepValue !== "number" || !Number.isInteger(keepValue) || keepValue < 1 || keepValue > MAX_BACKUP_KEEP) {
    throw new SettingError("backupKeep", shown(keepValue), `must be a whole number of snapshots from 1 to ${MAX_BACKUP_KEEP}`);
  }
  let s3: BackupS3Target | undefined;
  if (input.backupS3Endpoint === undefined) {
    const stray = S3_KEYS.find((key) => input[key] !== undefined);
    if (stray !== undefined) {
      const value = input[stray];
      const show = stray.endsWith("Key") || stray.endsWith("KeyId") ? shownSecret(String(value)) : shown(value);
      throw new SettingError(stray, show, "only applies with backupS3Endpoint (the S3-compatible service the backups are copied to)");
    }
  } else {
    const endpoint = s3Endpoint("backupS3Endpoint", input.backupS3Endpoint);
    if (input.backupS3Bucket === undefined) {
      throw new SettingError("backupS3Bucket", shown(undefined), "is required with backupS3Endpoint: the bucket the backups are copied to");
    }
    for (const key of ["backupS3AccessKeyId", "backupS3SecretAccessKey"] as const) {
      if (!present(input[key])) {
        throw new SettingError(
          key,
          "(not set)",
          `is required with backupS3Endpoint: pulumi config set --secret ${key} <value> (an access key allowed to list, put and delete objects under the prefix)`,
        );
      }
    }
    s3 = {
      endpoint,
      bucket: s3Bucket("backupS3Bucket", input.backupS3Bucket),
      prefix: s3Prefix("backupS3Prefix", input.backupS3Prefix ?? context.namePrefix),
      region: s3Region("backupS3Region", input.backupS3Region ?? BACKUP_DEFAULTS.region),
    };
  }
  return { enabled, interval, intervalSeconds, keep: keepValue, s3 };
}
