import * as pulumi from "@pulumi/pulumi";
import { BackupService, BACKUP_SERVICE_NAMES, parseSnapshotRecord, preUpgradeLabel, SnapshotRecord, snapshotCommand } from "../lib/backups";
import { EndpointState, endpointDeclaration, endpointOf, execInContainer, lastLines } from "../lib/dockerExec";
import { scrubSecrets } from "../lib/scrub";
import { DockerEndpointArgs, ENDPOINT_SECRET_OUTPUTS, endpointInputs } from "./dockerEndpoint";

/** How long a snapshot may take: a pg_dump of a large spend log, or a large Open WebUI volume. */
export const PRE_UPGRADE_SNAPSHOT_TIMEOUT_MS = 60 * 60 * 1000;

/** What the step knows: which service, whose backup container on which engine, at which image pin. */
export interface PreUpgradeSnapshotInputs extends EndpointState {
  readonly service: BackupService;
  /** The service's backup container (`${namePrefix}-backup-litellm` / `-backup-open-webui`), which takes the snapshot. */
  readonly backupContainer: string;
  /** The service's own container, which the restore tools stop while they restore. */
  readonly serviceContainer: string;
  /** The service's image pin as configured (litellmImage / openWebuiImage). */
  readonly image: string;
}

/** The step's state: its inputs, and the snapshot taken before the image last changed. */
export interface PreUpgradeSnapshotState extends PreUpgradeSnapshotInputs {
  /** The newest pre-upgrade snapshot this step took (its image is the pin before that upgrade); absent until the first upgrade. */
  readonly snapshot?: SnapshotRecord;
}

/**
 * Takes the pre-upgrade snapshot in the (old, still running) backup container; throws the script's
 * own words, scrubbed, when it fails.
 */
export async function takePreUpgradeSnapshot(state: PreUpgradeSnapshotInputs, previousImage: string): Promise<SnapshotRecord> {
  const service = BACKUP_SERVICE_NAMES[state.service];
  const secrets = state.dockerTls ? [state.dockerTls.key] : [];
  const fail = (why: string): Error =>
    new Error(
      scrubSecrets(
        `pre-upgrade snapshot of ${service} (in ${state.backupContainer}, before ${previousImage} is replaced by ${state.image}) failed: ${why}`,
        secrets,
        1500,
      ),
    );
  let result;
  try {
    result = await execInContainer(
      endpointOf(state),
      state.backupContainer,
      snapshotCommand(state.service, preUpgradeLabel(state.service)),
      "",
      PRE_UPGRADE_SNAPSHOT_TIMEOUT_MS,
    );
  } catch (e) {
    throw fail((e as Error).message);
  }
  const lines = result.stdout.split("\n").filter((line) => line.trim() !== "");
  if (result.exitCode !== 0) {
    throw fail(`exit ${result.exitCode}: ${lastLines(result, 8)}`);
  }
  try {
    return parseSnapshotRecord(lines[lines.length - 1] ?? "");
  } catch (e) {
    throw fail(`its last line is not a snapshot record (${(e as Error).message})`);
  }
}

/** The declaration a change of which is an update: everything but the snapshot record. */
function declared(s: PreUpgradeSnapshotInputs): string {
  return JSON.stringify([...endpointDeclaration(s), s.service, s.backupContainer, s.serviceContainer, s.image]);
}

/**
 * Before an upgrade replaces LiteLLM or Open WebUI (a new image pin), the data its migrations will
 * touch is snapshotted by the service's backup container, the old one, still running: the backup
 * container and the service's container depend on this step, so nothing is replaced until the
 * snapshot is on disk, and a failed snapshot fails `pulumi up` before anything is replaced.
 *
 * Create (a new stack, or a stack from before this step) has nothing to snapshot: it records the
 * pin. The diff compares declarations only (no engine call), so a `pulumi up` that changes no pin
 * changes nothing; a changed endpoint or container name is an update that only records.
 */
export const preUpgradeSnapshotProvider: pulumi.dynamic.ResourceProvider = {
  async diff(_id: string, olds: PreUpgradeSnapshotState, news: PreUpgradeSnapshotInputs): Promise<pulumi.dynamic.DiffResult> {
    return { changes: declared(olds) !== declared(news) };
  },
  async create(inputs: PreUpgradeSnapshotInputs): Promise<pulumi.dynamic.CreateResult> {
    return { id: `${inputs.serviceContainer}-pre-upgrade-snapshot`, outs: inputs };
  },
  async update(_id: string, olds: PreUpgradeSnapshotState, news: PreUpgradeSnapshotInputs): Promise<pulumi.dynamic.UpdateResult> {
    if (olds.image === news.image) {
      return { outs: { ...news, ...(olds.snapshot ? { snapshot: olds.snapshot } : {}) } };
    }
    const snapshot = await takePreUpgradeSnapshot(news, olds.image);
    return { outs: { ...news, snapshot } };
  },
  // The snapshot files belong to the backups volume, which outlives this step.
  async delete(): Promise<void> {},
};

/** dockerHost & co.: the Docker endpoint of the gateway's host, as the docker provider reaches it. */
export interface PreUpgradeSnapshotArgs extends DockerEndpointArgs {
  /** Whose data: "litellm" (its PostgreSQL database) or "openWebui" (its data volume). Required. */
  readonly service: BackupService;
  /**
   * The name (not the resource) of the service's backup container: the step must not depend on it,
   * since the backup container depends on the step. Required.
   */
  readonly backupContainer: string;
  /** The name of the service's container. Required. */
  readonly serviceContainer: string;
  /** The service's image pin (litellmImage / openWebuiImage). Required. */
  readonly image: pulumi.Input<string>;
}

/** The pre-upgrade snapshot of one service; its `snapshot` output is the newest one taken. */
export class PreUpgradeSnapshot extends pulumi.dynamic.Resource {
  /** The newest pre-upgrade snapshot (undefined until the first upgrade). */
  declare public readonly snapshot: pulumi.Output<SnapshotRecord | undefined>;

  constructor(name: string, args: PreUpgradeSnapshotArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      preUpgradeSnapshotProvider,
      name,
      {
        ...endpointInputs(args),
        service: args.service,
        backupContainer: args.backupContainer,
        serviceContainer: args.serviceContainer,
        image: args.image,
        snapshot: undefined,
      },
      { ...opts, additionalSecretOutputs: [...ENDPOINT_SECRET_OUTPUTS] },
      "ai-gateway",
      "PreUpgradeSnapshot",
    );
  }
}

/**
 * Resource options that hold a resource (the service's container, the backup container, a
 * migration step) until `snapshot` is done: `dependsOn` plus the snapshot step.
 */
export function withSnapshotBefore<T extends pulumi.ResourceOptions>(opts: T, snapshot: PreUpgradeSnapshot): T {
  const given = opts.dependsOn;
  if (given === undefined) {
    return { ...opts, dependsOn: [snapshot] };
  }
  if (Array.isArray(given)) {
    return { ...opts, dependsOn: [...(given as pulumi.Input<pulumi.Resource>[]), snapshot] };
  }
  if (pulumi.Resource.isInstance(given)) {
    return { ...opts, dependsOn: [given, snapshot] };
  }
  // An Output of one resource or of a list of them.
  const later = pulumi.output(given as pulumi.Input<pulumi.Resource | pulumi.Resource[]>);
  return { ...opts, dependsOn: later.apply((d) => [...(Array.isArray(d) ? d : [d]), snapshot]) };
}
