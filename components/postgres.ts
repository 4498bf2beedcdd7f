import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { CONTAINER_PRIVILEGES, CPU_SHARES, ROOT_FILESYSTEMS } from "../lib/containerSecurity";
import { HOSTNAMES, POSTGRES_DATA_DIR, POSTGRES_DB, POSTGRES_PORT, POSTGRES_USER } from "../lib/constants";
import { runtimeFile } from "../lib/runtimeFiles";
import { postgresCommand, postgresEnv, postgresHealthcheck } from "../lib/services";
import { ResourceProfile } from "../profiles";
import { dataVolume, serviceContainer, serviceImage } from "./serviceContainer";

export interface PostgresArgs {
  /** Docker names: the container and its data volume get `${namePrefix}-postgres[-data]`. Required. */
  readonly namePrefix: string;
  /** Pinned postgres image; keep major 16 (PGDATA moved in 18). Required. */
  readonly image: string;
  /** Names of the networks it joins: lib/containerSecurity.ts serviceNetworks("postgres"). Required. */
  readonly networks: readonly pulumi.Input<string>[];
  /** Password of the `litellm` role, set at first initialisation of the volume. Required. */
  readonly password: pulumi.Input<string>;
  /** Memory limit and tuning. Required. */
  readonly profile: ResourceProfile;
  /** Delete the data volume with the stack (preview stacks). Default false: the volume is kept. */
  readonly ephemeral?: boolean;
  /** Labels on the container and volume. Default none. */
  readonly labels?: Readonly<Record<string, string>>;
  /**
   * Resources the image is pulled and the container created (or replaced) after, e.g. the
   * PostgresDataGuard, whose check refuses an image that cannot open the data volume: nothing of a
   * refused pin is pulled or planned. Default none.
   */
  readonly startAfter?: pulumi.Input<pulumi.Resource>[];
}

/**
 * PostgreSQL for LiteLLM's keys, budgets and spend. Never published on the host; reachable as
 * `postgres:5432` on the private network only.
 */
export class Postgres extends pulumi.ComponentResource {
  public readonly container: docker.Container;
  public readonly dataVolume: docker.Volume;
  /** Host name and port on the private network. */
  public readonly host: string = HOSTNAMES.postgres;
  public readonly port: number = POSTGRES_PORT;
  /** The URL LiteLLM connects with; a secret, since it holds the password. */
  public readonly databaseUrl: pulumi.Output<string>;

  constructor(name: string, args: PostgresArgs, opts?: pulumi.ComponentResourceOptions) {
    super("ai-gateway:index:Postgres", name, {}, opts);
    const labels = { ...args.labels, "ai-gateway.service": "postgres" };

    this.dataVolume = dataVolume(`${name}-data`, `${args.namePrefix}-postgres-data`, args.ephemeral ?? false, this);

    this.container = serviceContainer(
      name,
      {
        containerName: `${args.namePrefix}-postgres`,
        image: args.image,
        networks: args.networks,
        privileges: CONTAINER_PRIVILEGES.postgres,
        rootFilesystem: ROOT_FILESYSTEMS.postgres,
        cpuShares: CPU_SHARES.postgres,
        aliases: [HOSTNAMES.postgres],
        memoryMb: args.profile.postgres.memoryMb,
        shmSizeMb: args.profile.postgres.shmSizeMb,
        command: postgresCommand(args.profile.postgres.tuning, runtimeFile("postgres-start.sh")),
        envs: pulumi.secret(pulumi.output(args.password).apply(postgresEnv)),
        volumes: [{ volumeName: this.dataVolume.name, containerPath: POSTGRES_DATA_DIR }],
        healthcheck: postgresHealthcheck(),
        // The image stops with SIGINT (fast shutdown); give it time to checkpoint.
        stopGraceSeconds: 60,
        labels,
      },
      { parent: this, dependsOn: args.startAfter, image: serviceImage(name, args.image, this, args.startAfter) },
    ).container;

    this.databaseUrl = pulumi.secret(
      pulumi.interpolate`postgresql://${POSTGRES_USER}:${args.password}@${HOSTNAMES.postgres}:${POSTGRES_PORT}/${POSTGRES_DB}`,
    );
    this.registerOutputs({ containerName: this.container.name, dataVolume: this.dataVolume.name });
  }
}
