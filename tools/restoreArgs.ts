/**
 * The pure parts of `npm run restore` (tools/restore.ts) and `npm run rollback` (tools/rollback.ts):
 * their command lines, which snapshot a name stands for, where the stack's containers are (from its
 * exported state), and what a rollback does with the running container. Nothing here talks to an
 * engine or to Pulumi.
 */
import { BACKUP_SERVICE_NAMES, BackupService, isSnapshotFile, parseSnapshotRecord, preUpgradeLabel, SnapshotRecord } from "../lib/backups";
import { EndpointState } from "../lib/dockerExec";

/** Bad command line, or a snapshot or stack that is not there: exit code 2, one line. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

export const RESTORE_USAGE =
  "usage: npm run restore -- --stack NAME --service litellm|open-webui --snapshot FILE|latest|latest-pre-upgrade [--yes]";
export const ROLLBACK_USAGE = "usage: npm run rollback -- --stack NAME --service litellm|open-webui [--snapshot FILE]";

/** The newest snapshot, or the newest one taken before an upgrade of the service. */
export type SnapshotAlias = "latest" | "latest-pre-upgrade";
const ALIASES: readonly string[] = ["latest", "latest-pre-upgrade"];

/** What `npm run restore -- ...` was asked to do. */
export interface RestoreOptions {
  readonly stack: string;
  readonly service: BackupService;
  /** A snapshot's file name, or an alias. */
  readonly snapshot: string;
  /** Restore without asking. */
  readonly yes: boolean;
}

/** What `npm run rollback -- ...` was asked to do. */
export interface RollbackOptions {
  readonly stack: string;
  readonly service: BackupService;
  /** A pre-upgrade snapshot's file name; default the service's newest. */
  readonly snapshot: string;
}

/** The stack setting that pins each service's image. */
export const IMAGE_SETTING: Readonly<Record<BackupService, string>> = { litellm: "litellmImage", openWebui: "openWebuiImage" };

/** `litellm` or `open-webui` (as the containers and files name them) to the service. */
export function serviceOfName(name: string, usage: string): BackupService {
  const found = (Object.keys(BACKUP_SERVICE_NAMES) as BackupService[]).find((s) => BACKUP_SERVICE_NAMES[s] === name);
  if (found === undefined) {
    throw new UsageError(`--service ${JSON.stringify(name)}: must be litellm or open-webui; ${usage}`);
  }
  return found;
}

/** A snapshot's file name (no directory) or an alias; anything else is refused before any engine is asked. */
function snapshotName(value: string, usage: string, aliases: readonly string[]): string {
  if (aliases.includes(value) || isSnapshotFile(value)) {
    return value;
  }
  const allowed =
    aliases.length > 0 ? `a snapshot's file name (yyyymmddThhmmssZ-label.ext) or ${aliases.join(" or ")}` : "a snapshot's file name";
  throw new UsageError(`--snapshot ${JSON.stringify(value)}: must be ${allowed}; ${usage}`);
}

/** `--name value` or `--name=value` pairs and bare flags; anything else is a UsageError. */
function parseFlags(argv: readonly string[], valued: readonly string[], flags: readonly string[], usage: string): Map<string, string> {
  const seen = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const eq = arg.startsWith("--") ? arg.indexOf("=") : -1;
    const [name, inline] = eq > 0 ? [arg.slice(0, eq), arg.slice(eq + 1)] : [arg, undefined];
    if (seen.has(name)) {
      throw new UsageError(`${name} given twice; ${usage}`);
    }
    if (flags.includes(name)) {
      if (inline !== undefined) {
        throw new UsageError(`${name} takes no value; ${usage}`);
      }
      seen.set(name, "");
    } else if (valued.includes(name)) {
      const value = inline ?? argv[++i];
      if (value === undefined || value === "" || (inline === undefined && value.startsWith("--"))) {
        throw new UsageError(`${name} needs a value; ${usage}`);
      }
      seen.set(name, value);
    } else {
      throw new UsageError(`unknown argument ${JSON.stringify(arg)}; ${usage}`);
    }
  }
  return seen;
}

function required(flags: Map<string, string>, name: string, usage: string): string {
  const value = flags.get(name);
  if (value === undefined) {
    throw new UsageError(`${name} is required; ${usage}`);
  }
  return value;
}

/** Parses the arguments after `npm run restore --`; throws UsageError on anything else. */
export function parseRestoreArgs(argv: readonly string[]): RestoreOptions {
  const flags = parseFlags(argv, ["--stack", "--service", "--snapshot"], ["--yes"], RESTORE_USAGE);
  const stack = required(flags, "--stack", RESTORE_USAGE);
  const service = serviceOfName(required(flags, "--service", RESTORE_USAGE), RESTORE_USAGE);
  const snapshot = snapshotName(required(flags, "--snapshot", RESTORE_USAGE), RESTORE_USAGE, ALIASES);
  return { stack, service, snapshot, yes: flags.has("--yes") };
}

/** Parses the arguments after `npm run rollback --`; throws UsageError on anything else. */
export function parseRollbackArgs(argv: readonly string[]): RollbackOptions {
  const flags = parseFlags(argv, ["--stack", "--service", "--snapshot"], [], ROLLBACK_USAGE);
  const stack = required(flags, "--stack", ROLLBACK_USAGE);
  const service = serviceOfName(required(flags, "--service", ROLLBACK_USAGE), ROLLBACK_USAGE);
  const given = flags.get("--snapshot");
  const snapshot = given === undefined ? "latest-pre-upgrade" : snapshotName(given, ROLLBACK_USAGE, []);
  if (given !== undefined && !given.includes(`-${preUpgradeLabel(service)}.`)) {
    throw new UsageError(
      `--snapshot ${JSON.stringify(given)}: a rollback needs a ${preUpgradeLabel(service)} snapshot (its record names the image to go back to); ` +
        `to restore another snapshot without changing the image use npm run restore`,
    );
  }
  return { stack, service, snapshot };
}

/** The records printed by the list command (one JSON line each, oldest first), newest last. */
export function parseSnapshotList(stdout: string): SnapshotRecord[] {
  return stdout
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line.startsWith("{"))
    .map(parseSnapshotRecord)
    .sort((a, b) => (a.created < b.created ? -1 : a.created > b.created ? 1 : a.file.localeCompare(b.file)));
}

/** How many existing snapshots a refusal names. */
const SHOWN_IN_REFUSAL = 3;

/**
 * The snapshot `wanted` names among `records` (the list's output): the newest, the newest
 * pre-upgrade one of the service, or the one with that file name. A name that is not there is a
 * UsageError naming it and the newest few that are.
 */
export function resolveSnapshot(records: readonly SnapshotRecord[], service: BackupService, wanted: string): SnapshotRecord {
  const own = records.filter((r) => r.service === service);
  const candidates = wanted === "latest-pre-upgrade" ? own.filter((r) => r.label === preUpgradeLabel(service)) : own;
  const found =
    wanted === "latest" || wanted === "latest-pre-upgrade" ? candidates[candidates.length - 1] : own.find((r) => r.file === wanted);
  if (found !== undefined) {
    return found;
  }
  const newest = candidates
    .slice(-SHOWN_IN_REFUSAL)
    .reverse()
    .map((r) => r.file);
  const what =
    wanted === "latest"
      ? "no snapshot"
      : wanted === "latest-pre-upgrade"
        ? `no ${preUpgradeLabel(service)} snapshot`
        : `no snapshot ${wanted}`;
  const exist = newest.length > 0 ? `the newest: ${newest.join(", ")}` : `there is none yet`;
  throw new UsageError(`${what} of ${BACKUP_SERVICE_NAMES[service]}: ${exist}`);
}

/** Where a stack's service runs, as its pre-upgrade snapshot step recorded it in the state. */
export interface RestoreTarget {
  /** The Docker endpoint, as the docker provider reaches it (TLS material included: keep it in this process). */
  readonly endpoint: EndpointState;
  readonly backupContainer: string;
  readonly serviceContainer: string;
  /** The image pin of the last `pulumi up` that reached the step. */
  readonly image: string;
}

/** The secret signature of Pulumi's state format (sdk/go/common/resource/properties.go). */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";

/** A value of an exported state: a secret exported with --show-secrets holds its value as JSON text in `plaintext`. */
export function revealed(value: unknown): unknown {
  if (typeof value === "object" && value !== null && SECRET_SIG in value) {
    const plaintext = (value as { plaintext?: unknown }).plaintext;
    return typeof plaintext === "string" ? (JSON.parse(plaintext) as unknown) : value;
  }
  return value;
}

/** The URN type of the pre-upgrade snapshot step (a dynamic resource of module ai-gateway). */
export const PRE_UPGRADE_SNAPSHOT_TYPE = "pulumi-nodejs:dynamic/ai-gateway:PreUpgradeSnapshot";

/**
 * The service's containers and Docker endpoint, from the stack's exported state (`pulumi stack
 * export --show-secrets`): its pre-upgrade snapshot step holds them. A stack without one (never
 * deployed, or deployed by an older version) is a UsageError saying so.
 */
export function restoreTargetInState(deployment: unknown, stack: string, service: BackupService): RestoreTarget {
  const resources = ((deployment as { resources?: unknown[] } | undefined)?.resources ?? []) as {
    type?: string;
    outputs?: Partial<Record<string, unknown>>;
  }[];
  const steps = resources.filter((r) => r.type === PRE_UPGRADE_SNAPSHOT_TYPE && r.outputs?.service === service);
  if (steps.length !== 1) {
    throw new UsageError(
      steps.length === 0
        ? `stack ${stack} has no pre-upgrade snapshot step for ${BACKUP_SERVICE_NAMES[service]}: deploy it (pulumi up) with this version of the package first`
        : `stack ${stack} has ${steps.length} pre-upgrade snapshot steps for ${BACKUP_SERVICE_NAMES[service]}; this tool restores a stack with one gateway`,
    );
  }
  const out = steps[0].outputs ?? {};
  const text = (key: string): string => {
    const value = revealed(out[key]);
    if (typeof value !== "string" || value === "") {
      throw new UsageError(`stack ${stack}'s pre-upgrade snapshot step for ${BACKUP_SERVICE_NAMES[service]} has no ${key} in its state`);
    }
    return value;
  };
  const tls = revealed(out.dockerTls) as EndpointState["dockerTls"] | undefined;
  if (tls !== undefined && (typeof tls !== "object" || tls === null || typeof tls.key !== "string")) {
    throw new UsageError(`stack ${stack}'s state holds its Docker TLS material encrypted: export it with --show-secrets`);
  }
  return {
    endpoint: {
      dockerHost: text("dockerHost"),
      sshOpts: Array.isArray(revealed(out.sshOpts)) ? (revealed(out.sshOpts) as string[]) : [],
      ...(typeof revealed(out.sshHostKey) === "string" ? { sshHostKey: revealed(out.sshHostKey) as string } : {}),
      ...(tls !== undefined ? { dockerTls: tls } : {}),
    },
    backupContainer: text("backupContainer"),
    serviceContainer: text("serviceContainer"),
    image: text("image"),
  };
}

/**
 * What a rollback does with the service's container once the data is restored. When it runs the
 * snapshot's image (the upgrade failed before replacing it), it is started again at once. When it
 * runs another (the upgrade went through), starting it would run the new image's migrations over
 * the restored data again: it stays stopped, and the `pulumi up` that sets the old pin replaces it.
 */
export function restartAfterRestore(runningImageId: string, snapshotImageId: string | undefined): boolean {
  return snapshotImageId !== undefined && runningImageId === snapshotImageId;
}

/** A restore asks first, unless --yes; without a terminal to ask on, it refuses. */
export function confirmation(options: Pick<RestoreOptions, "yes" | "stack" | "service">, interactive: boolean): "proceed" | "ask" {
  if (options.yes) {
    return "proceed";
  }
  if (!interactive) {
    throw new UsageError(
      `restoring replaces ${BACKUP_SERVICE_NAMES[options.service]}'s live data on stack ${options.stack}: pass --yes when not at a terminal; ${RESTORE_USAGE}`,
    );
  }
  return "ask";
}
