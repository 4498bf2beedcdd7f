import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { LOG_OPTIONS } from "../lib/constants";
import { configVolumeName, ContainerPrivileges, RootFilesystem, uploadsOutsideConfigDir } from "../lib/containerSecurity";
import { dockerLabels } from "../lib/labels";
import { dockerHealthcheck, HealthcheckSpec, waitTimeoutSeconds } from "../lib/healthchecks";

/** What differs between the gateway's containers; everything else is the same for all of them. */
export interface ServiceContainerArgs {
  /** Docker's container name, unique on the host (derived from the gateway name and the stack). */
  readonly containerName: string;
  /** Pinned image reference; pulled once and referenced by id. */
  readonly image: string;
  /** The networks the container joins (lib/containerSecurity.ts: serviceNetworks), and the DNS names it answers to on each. */
  readonly networks: readonly pulumi.Input<string>[];
  readonly aliases: readonly string[];
  /** The user it starts as and the capabilities it keeps after all are dropped (CONTAINER_PRIVILEGES). */
  readonly privileges: ContainerPrivileges;
  /** Read-only or writable root, the tmpfs mounts and config directory of a read-only one (ROOT_FILESYSTEMS). */
  readonly rootFilesystem: RootFilesystem;
  /** Relative CPU weight when the host's CPUs are busy (CPU_SHARES; Docker's default is 1024). */
  readonly cpuShares: number;
  /** Hard memory limit in MB; swap is disabled by giving memorySwap the same value. */
  readonly memoryMb: number;
  readonly healthcheck: HealthcheckSpec;
  readonly envs?: pulumi.Input<pulumi.Input<string>[]>;
  /** Arguments to the image's own entrypoint (the entrypoint is never replaced). */
  readonly command?: string[];
  readonly volumes?: docker.types.input.ContainerVolume[];
  /** Files placed before the start; with a read-only root, each directly in its config directory. */
  readonly uploads?: readonly ServiceFile[];
  readonly ports?: docker.types.input.ContainerPort[];
  /** Seconds Docker waits after the stop signal before killing. Default 10. */
  readonly stopGraceSeconds?: number;
  readonly shmSizeMb?: number;
  /** Labels identifying the gateway's containers in `docker ps --filter label=...`. */
  readonly labels: Readonly<Record<string, string>>;
}

/** A file the container reads, uploaded before it starts. */
export interface ServiceFile {
  /** Absolute path in the container. */
  readonly file: string;
  /** The file's text; a secret stays one in the state. */
  readonly content: pulumi.Input<string>;
  /** Octal mode, e.g. "0644"; the owner is root. */
  readonly permissions: string;
}

export interface ServiceContainer {
  readonly image: docker.RemoteImage;
  readonly container: docker.Container;
}

/**
 * Creates a pinned image and a hardened, health-gated container: restart unless-stopped, rotated
 * logs, a memory limit without swap, a CPU weight, every capability dropped but the ones the image
 * needs, no-new-privileges, a healthcheck that `pulumi up` waits for on create, and options chosen
 * so that a second `pulumi up` sees no difference.
 */
export function serviceContainer(
  name: string,
  args: ServiceContainerArgs,
  opts: {
    parent: pulumi.Resource;
    dependsOn?: pulumi.ResourceOptions["dependsOn"];
    /** The service's pulled image (`serviceImage(name, args.image, parent)`), when a step before the container needs it. Default: pulled here. */
    image?: docker.RemoteImage;
  },
): ServiceContainer {
  const image = opts.image ?? serviceImage(name, args.image, opts.parent);
  const stopGraceSeconds = args.stopGraceSeconds ?? 10;
  const root = args.rootFilesystem;
  const files = args.uploads ?? [];
  // Upload paths are constants of the components: a wrong one is a bug here, not bad config.
  const misplaced = uploadsOutsideConfigDir(
    root,
    files.map((file) => file.file),
  );
  if (misplaced.length > 0) {
    throw new Error(
      `${args.containerName}: its root is read-only; uploads must go directly into its config directory, not ${misplaced.join(", ")}`,
    );
  }
  const configMount =
    root.readOnly && root.configDir !== undefined && files.length > 0
      ? configVolume(name, args, image, root.configDir, files, opts.parent, opts.dependsOn)
      : undefined;
  const container = new docker.Container(
    name,
    {
      name: args.containerName,
      // The image id (sha256:...) is what the provider reads back, so it never shows a difference.
      image: image.imageId,
      command: args.command,
      envs: args.envs,
      user: args.privileges.user,
      // The engine stores added capabilities with their CAP_ prefix (CONTAINER_PRIVILEGES has it)
      // and the drop as given; the provider compares both with what it reads back.
      capabilities: { drops: ["ALL"], adds: args.privileges.capAdd.length > 0 ? [...args.privileges.capAdd] : undefined },
      restart: "unless-stopped",
      logDriver: "json-file",
      logOpts: { ...LOG_OPTIONS },
      memory: args.memoryMb,
      // Without an explicit memorySwap Docker sets twice the memory, which reads back as a diff.
      memorySwap: args.memoryMb,
      shmSize: args.shmSizeMb,
      cpuShares: args.cpuShares,
      securityOpts: ["no-new-privileges=true"],
      healthcheck: dockerHealthcheck(args.healthcheck),
      wait: true,
      waitTimeout: waitTimeoutSeconds(args.healthcheck),
      // No network at all ("none") for a container that needs none: "bridge" alone would join Docker's default bridge.
      networkMode: args.networks.length > 0 ? "bridge" : "none",
      networksAdvanced: args.networks.map((network) => ({ name: network, aliases: [...args.aliases] })),
      ports: args.ports ? [...args.ports].sort((a, b) => Number(a.internal) - Number(b.internal)) : undefined,
      readOnly: root.readOnly,
      // The provider reads tmpfs back as the engine stores it (as given): no diff on the next up.
      tmpfs: root.readOnly ? { ...root.tmpfs } : undefined,
      volumes: configMount ? [...(args.volumes ?? []), configMount] : args.volumes,
      uploads: configMount || files.length === 0 ? undefined : files.map(providerUpload),
      stopTimeout: stopGraceSeconds,
      destroyGraceSeconds: stopGraceSeconds,
      labels: dockerLabels(args.labels),
    },
    {
      parent: opts.parent,
      dependsOn: opts.dependsOn,
      // A fixed name and fixed host ports cannot exist twice: remove the old container first.
      deleteBeforeReplace: true,
      // The provider ignores healthcheck edits on update (terraform-provider-docker#988).
      // "#initerror": a container that missed its health wait is recorded with an initialization
      // error; without this the next `up` would accept it with an empty update and never wait
      // again. With it, that `up` re-creates the container and waits for it.
      replaceOnChanges: ["healthcheck", "#initerror"],
    },
  );
  return { image, container };
}

/**
 * The pinned image of service `name` (the container's resource name), pulled once; its `imageId`
 * is what the container runs. serviceContainer pulls it itself unless given one.
 */
export function serviceImage(
  name: string,
  image: string,
  parent: pulumi.Resource,
  dependsOn?: pulumi.ResourceOptions["dependsOn"],
): docker.RemoteImage {
  // keepLocally: deleting or replacing the RemoteImage must not delete an image other stacks use.
  return new docker.RemoteImage(`${name}-image`, { name: image, keepLocally: true }, { parent, dependsOn });
}

function providerUpload(file: ServiceFile): docker.types.input.ContainerUpload {
  return { file: file.file, content: file.content, permissions: file.permissions };
}

/**
 * The config volume of a read-only container (RootFilesystem.configDir): a volume named after
 * its files, filled through a container of the same image that is created and never started (the
 * provider uploads into a created container; Docker writes files that land in one of its volumes
 * even though it never ran). The service mounts the volume read-only; the mount depends on the
 * filling container, so the service starts only once its files are there. Both follow the files:
 * other files, another volume, a new filling container and a new service container.
 *
 * Both wait for what the service waits for (`dependsOn`). A replaced filling container is removed
 * first (deleteBeforeReplace), and Pulumi then removes the containers that mount its volume at
 * once, before their own dependencies have run: without this, a backup container whose settings
 * changed was removed while the pre-upgrade snapshot still ran in it.
 */
function configVolume(
  name: string,
  args: ServiceContainerArgs,
  image: docker.RemoteImage,
  configDir: string,
  files: readonly ServiceFile[],
  parent: pulumi.Resource,
  dependsOn: pulumi.ResourceOptions["dependsOn"],
): docker.types.input.ContainerVolume {
  // The stack's labels, but not the service's: `docker ps --filter label=ai-gateway.service=nginx`
  // finds nginx alone.
  const stackLabels = Object.fromEntries(Object.entries(args.labels).filter(([label]) => label !== "ai-gateway.service"));
  const labels = dockerLabels({ ...stackLabels, "ai-gateway.config-of": args.containerName });
  // A digest of the files, secret ones included, is not itself a secret (configVolumeName).
  const volumeName = pulumi.unsecret(
    pulumi.all(files.map((file) => file.content)).apply((contents) =>
      configVolumeName(
        args.containerName,
        files.map((file, i) => ({ ...file, content: contents[i] })),
      ),
    ),
  );
  const volume = new docker.Volume(`${name}-config`, { name: volumeName, driver: "local", labels }, { parent, dependsOn });
  const filler = new docker.Container(
    `${name}-config`,
    {
      name: `${args.containerName}-config`,
      image: image.imageId,
      // Created, never started: nothing runs in it, and no `pulumi up` or engine restart starts it.
      start: false,
      mustRun: false,
      restart: "no",
      networkMode: "none",
      capabilities: { drops: ["ALL"] },
      securityOpts: ["no-new-privileges=true"],
      logDriver: "json-file",
      logOpts: { ...LOG_OPTIONS },
      volumes: [{ volumeName: volume.name, containerPath: configDir }],
      uploads: files.map(providerUpload),
      labels,
    },
    // A fixed name cannot exist twice: remove the old one first.
    { parent, dependsOn, deleteBeforeReplace: true },
  );
  // The volume's name, known once the filling container holds the files.
  const filledVolume = pulumi.all([volume.name, filler.id]).apply(([volumeName]) => volumeName);
  return { volumeName: filledVolume, containerPath: configDir, readOnly: true };
}

/**
 * A named data volume that nothing but `pulumi destroy` of an ephemeral stack removes. Its name
 * comes from the stack name (or `namePrefix`), which can change (`pulumi stack rename`); since a
 * new name would replace the volume with an empty one, its inputs are fixed at creation
 * (`ignoreChanges`) and the containers keep mounting the volume that holds the data. It is kept on
 * `pulumi destroy` (left in Docker, with its data) unless the stack is ephemeral.
 */
export function dataVolume(name: string, volumeName: string, ephemeral: boolean, parent: pulumi.Resource): docker.Volume {
  return new docker.Volume(
    name,
    { name: volumeName, driver: "local" },
    { parent, retainOnDelete: !ephemeral, ignoreChanges: ["name", "driver"] },
  );
}
