import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import {
  BACKUP_CONTAINER_SUFFIX,
  BACKUP_DIRS,
  BACKUP_MOUNT,
  BACKUP_SCRIPTS,
  BACKUP_SERVICE_NAMES,
  BackupService,
  idleCommand,
  loopCommand,
} from "../lib/backups";
import {
  BACKUP_CONFIG_FILES,
  backupHealthcheck,
  openWebuiBackupSettings,
  pgpassLine,
  postgresBackupSettings,
  PostgresTarget,
  s3CredentialsFile,
} from "../lib/backupFiles";
import { BackupSettings } from "../lib/backupSettings";
import { CONTAINER_PRIVILEGES, CPU_SHARES, ROOT_FILESYSTEMS } from "../lib/containerSecurity";
import { HOSTNAMES, OPEN_WEBUI_DATA_DIR, POSTGRES_DB, POSTGRES_PORT, POSTGRES_USER } from "../lib/constants";
import { runtimeFile } from "../lib/runtimeFiles";
import { ResourceProfile } from "../profiles";
import { dataVolume, ServiceFile, serviceContainer } from "./serviceContainer";

/** The S3 credentials (secrets), given with an S3 target in `settings`. */
export interface BackupS3Credentials {
  readonly accessKeyId: pulumi.Input<string>;
  readonly secretAccessKey: pulumi.Input<string>;
}

export interface BackupsArgs {
  /** The volume gets `${namePrefix}-backups`, the containers `${namePrefix}-backup-litellm` and `-backup-open-webui`. Required. */
  readonly namePrefix: string;
  /** Schedule, retention and S3 target (lib/backupSettings.ts resolveBackupSettings). Required. */
  readonly settings: BackupSettings;
  /** With an S3 target in `settings`: its credentials. Required then, refused otherwise. */
  readonly s3Credentials?: BackupS3Credentials;
  /** The pinned PostgreSQL image (backup-litellm runs its pg_dump and pg_restore). Required. */
  readonly postgresImage: string;
  /** The pinned Open WebUI image (backup-open-webui runs its python3; it has sqlite3 and boto3). Required. */
  readonly openWebuiImage: string;
  /** LiteLLM's image pin, recorded in each of its snapshots' sidecar: what a rollback returns to. Required. */
  readonly litellmImage: string;
  /** Networks of each container: lib/containerSecurity.ts serviceNetworks("backupLitellm" / "backupOpenWebui"). Required. */
  readonly networks: Readonly<Record<BackupService, readonly pulumi.Input<string>[]>>;
  /** The password of LiteLLM's role, uploaded as backup-litellm's .pgpass (0600). Required. */
  readonly postgresPassword: pulumi.Input<string>;
  /** Open WebUI's data volume (its name), mounted into backup-open-webui. Required. */
  readonly openWebuiDataVolume: pulumi.Input<string>;
  /** Memory limits. Required. */
  readonly profile: ResourceProfile;
  /** Delete the backups volume with the stack (preview stacks). Default false: the volume is kept. */
  readonly ephemeral?: boolean;
  /** What each container waits for (PostgreSQL healthy; Open WebUI healthy, so its database exists). Default none. */
  readonly startAfter?: Readonly<Partial<Record<BackupService, pulumi.Input<pulumi.Resource>[]>>>;
  /** Labels on the containers and the volume. Default none. */
  readonly labels?: Readonly<Record<string, string>>;
}

/** What the `backups` stack output says: where the snapshots are and how to read their age (no credentials). */
export interface BackupsSummary {
  readonly volume: string;
  readonly directories: Readonly<Record<string, string>>;
  readonly containers: Readonly<Record<string, string>>;
  readonly scheduled: boolean;
  readonly interval: string;
  readonly keep: number;
  readonly s3: { readonly endpoint: string; readonly bucket: string; readonly prefix: string; readonly region: string } | null;
  /** Prints each service's newest snapshot and its age; exit 1 when older than twice the interval. */
  readonly statusCommand: string;
}

/** Where backup-litellm reaches LiteLLM's database: PostgreSQL on the backend network. */
export const LITELLM_DATABASE: PostgresTarget = {
  host: HOSTNAMES.postgres,
  port: POSTGRES_PORT,
  database: POSTGRES_DB,
  user: POSTGRES_USER,
};

/**
 * Scheduled, retained backups of LiteLLM's database and Open WebUI's data (issue 12 item 2) in the
 * backups volume, optionally copied to S3, by two long-running containers with the same hardening
 * as the gateway's others (read-only roots, no capabilities, memory and pids limits):
 * - backup-litellm: the pinned PostgreSQL image running runtime/postgres-backup.sh: `pg_dump -Fc`
 *   of LiteLLM's database over the backend network, into /backups/litellm;
 * - backup-open-webui: the pinned Open WebUI image running runtime/open_webui_backup.py: a tar.gz
 *   of Open WebUI's data volume (its SQLite databases through SQLite's online backup API) into
 *   /backups/open-webui, and, with S3, both directories' new files shipped (and pruned ones deleted).
 * With `backups: false` both still run, idle: the pre-upgrade snapshot and a restore exec into
 * them (lib/backups.ts), and nothing is taken on a schedule. Their healthcheck turns unhealthy when
 * the newest scheduled snapshot is older than twice the interval.
 *
 * Each snapshot's sidecar records the service's image pin from the container's settings, so an
 * image change replaces the backup container (backup-open-webui runs that image anyway): the
 * pre-upgrade snapshot must be taken in the old container, before that replacement, to record the
 * pin a rollback returns to. `startAfter` is how it is ordered first.
 */
export class Backups extends pulumi.ComponentResource {
  /** The backups volume: a data volume, never replaced, kept on destroy unless the stack is ephemeral. */
  public readonly volume: docker.Volume;
  public readonly containers: Readonly<Record<BackupService, docker.Container>>;
  /** Docker's names of the two containers (what the snapshot, restore and status commands exec in). */
  public readonly containerNames: Readonly<Record<BackupService, string>>;
  /** The plain `backups` stack output. */
  public readonly summary: BackupsSummary;

  constructor(name: string, args: BackupsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("ai-gateway:index:Backups", name, {}, opts);
    const { settings } = args;
    if ((settings.s3 !== undefined) !== (args.s3Credentials !== undefined)) {
      throw new Error("Backups: s3Credentials go with an S3 target in settings, and only then");
    }
    const volumeName = `${args.namePrefix}-backups`;
    this.volume = dataVolume(`${name}-volume`, volumeName, args.ephemeral ?? false, this);
    const containerNames: Record<BackupService, string> = {
      litellm: `${args.namePrefix}-${BACKUP_CONTAINER_SUFFIX.litellm}`,
      openWebui: `${args.namePrefix}-${BACKUP_CONTAINER_SUFFIX.openWebui}`,
    };
    this.containerNames = containerNames;
    const backupsMount: docker.types.input.ContainerVolume = { volumeName: this.volume.name, containerPath: BACKUP_MOUNT };
    const mainCommand = (service: BackupService) => (settings.enabled ? loopCommand(service) : idleCommand(service));
    const script = (service: BackupService): ServiceFile => ({
      file: BACKUP_SCRIPTS[service].file,
      content: runtimeFile(BACKUP_SCRIPTS[service].file.split("/").pop()!),
      permissions: "0644",
    });
    const labels = (service: BackupService) => ({ ...args.labels, "ai-gateway.service": BACKUP_CONTAINER_SUFFIX[service] });

    // Pulumi names that do not end like the services' own (`-litellm`, `-open-webui`).
    const litellm = serviceContainer(
      `${name}-litellm-database`,
      {
        containerName: containerNames.litellm,
        image: args.postgresImage,
        networks: args.networks.litellm,
        aliases: [HOSTNAMES.backupLitellm],
        privileges: CONTAINER_PRIVILEGES.backupLitellm,
        rootFilesystem: ROOT_FILESYSTEMS.backupLitellm,
        cpuShares: CPU_SHARES.backupLitellm,
        memoryMb: args.profile.backups.litellmMemoryMb,
        command: mainCommand("litellm"),
        volumes: [backupsMount],
        uploads: [
          script("litellm"),
          {
            file: BACKUP_CONFIG_FILES.postgresSettings,
            content: postgresBackupSettings(settings, args.litellmImage, LITELLM_DATABASE),
            permissions: "0644",
          },
          // libpq reads the password from here (PGPASSFILE), never from the environment; it
          // refuses a file others could read.
          {
            file: BACKUP_CONFIG_FILES.pgpass,
            content: pulumi.secret(pulumi.output(args.postgresPassword).apply((password) => pgpassLine(LITELLM_DATABASE, password))),
            permissions: "0600",
          },
        ],
        healthcheck: backupHealthcheck("litellm"),
        labels: labels("litellm"),
      },
      { parent: this, dependsOn: args.startAfter?.litellm },
    ).container;

    const s3File: ServiceFile[] =
      settings.s3 !== undefined && args.s3Credentials !== undefined
        ? [
            {
              file: BACKUP_CONFIG_FILES.s3,
              content: pulumi.secret(
                pulumi
                  .all([args.s3Credentials.accessKeyId, args.s3Credentials.secretAccessKey])
                  .apply(([id, secret]) => s3CredentialsFile(settings.s3!, id, secret)),
              ),
              permissions: "0600",
            },
          ]
        : [];
    const openWebui = serviceContainer(
      `${name}-open-webui-volume`,
      {
        containerName: containerNames.openWebui,
        image: args.openWebuiImage,
        networks: args.networks.openWebui,
        aliases: [HOSTNAMES.backupOpenWebui],
        privileges: CONTAINER_PRIVILEGES.backupOpenWebui,
        rootFilesystem: ROOT_FILESYSTEMS.backupOpenWebui,
        cpuShares: CPU_SHARES.backupOpenWebui,
        memoryMb: args.profile.backups.openWebuiMemoryMb,
        command: mainCommand("openWebui"),
        // Read-write: `restore` replaces the volume's contents (with Open WebUI stopped). The
        // snapshots themselves only read it.
        volumes: [backupsMount, { volumeName: args.openWebuiDataVolume, containerPath: OPEN_WEBUI_DATA_DIR }],
        uploads: [
          script("openWebui"),
          {
            file: BACKUP_CONFIG_FILES.openWebuiSettings,
            content: openWebuiBackupSettings(settings, args.openWebuiImage, OPEN_WEBUI_DATA_DIR),
            permissions: "0644",
          },
          ...s3File,
        ],
        healthcheck: backupHealthcheck("openWebui"),
        labels: labels("openWebui"),
      },
      { parent: this, dependsOn: args.startAfter?.openWebui },
    ).container;
    this.containers = { litellm, openWebui };

    this.summary = {
      volume: volumeName,
      directories: Object.fromEntries(
        (Object.keys(BACKUP_DIRS) as BackupService[]).map((service) => [BACKUP_SERVICE_NAMES[service], BACKUP_DIRS[service]]),
      ),
      containers: Object.fromEntries(
        (Object.keys(containerNames) as BackupService[]).map((service) => [BACKUP_SERVICE_NAMES[service], containerNames[service]]),
      ),
      scheduled: settings.enabled,
      interval: settings.interval,
      keep: settings.keep,
      s3: settings.s3 ? { ...settings.s3 } : null,
      statusCommand: `npm run backups -- status --stack ${pulumi.getStack()}`,
    };
    this.registerOutputs({ volume: this.volume.name, summary: this.summary });
  }
}
