import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { CONTAINER_PRIVILEGES, CPU_SHARES, ROOT_FILESYSTEMS } from "../lib/containerSecurity";
import { HOSTNAMES, LITELLM_CONFIG_PATH, LITELLM_PORT } from "../lib/constants";
import { renderLitellmConfig } from "../lib/litellmConfig";
import { litellmArgs, litellmEnv, litellmHealthcheck } from "../lib/services";
import { ModelSpec } from "../lib/validation";
import { BudgetProfile, ResourceProfile } from "../profiles";
import { DockerEndpointArgs } from "./dockerEndpoint";
import { LitellmMigration } from "./litellmMigration";
import { serviceContainer, serviceImage } from "./serviceContainer";

export interface LitellmArgs {
  /** The container is named `${namePrefix}-litellm`. Required. */
  readonly namePrefix: string;
  /** Pinned LiteLLM image. Required. */
  readonly image: string;
  /** Names of the networks it joins: lib/containerSecurity.ts serviceNetworks("litellm"). Required. */
  readonly networks: readonly pulumi.Input<string>[];
  /** Worker count and memory limit. Required. */
  readonly profile: ResourceProfile;
  /** Proxy-wide budget written to `litellm_settings`. Required. */
  readonly budget: BudgetProfile;
  /** Models for config.yaml. Default none (models are added in the admin UI). */
  readonly models?: readonly ModelSpec[];
  readonly masterKey: pulumi.Input<string>;
  readonly saltKey: pulumi.Input<string>;
  /** PostgreSQL URL (with its password). Required. */
  readonly databaseUrl: pulumi.Input<string>;
  /** Admin UI credentials. Required. */
  readonly uiUsername: string;
  readonly uiPassword: pulumi.Input<string>;
  /**
   * Password of the Redis the workers share (`redis:6379` on the private network); pass it whenever
   * the profile runs more than one worker. Default none: no Redis.
   */
  readonly redisPassword?: pulumi.Input<string>;
  /** Provider API keys as environment variables, e.g. OPENAI_API_KEY. Default none. */
  readonly providerApiKeys?: Readonly<Record<string, pulumi.Input<string>>>;
  /** How long LiteLLM keeps spend logs, `<n>d` or `<n>h` (lib/retention.ts). Required. */
  readonly spendLogRetention: string;
  /** Labels on the container. Default none. */
  readonly labels?: Readonly<Record<string, string>>;
  /**
   * Resources the container is created after, e.g. the PostgreSQL container (created only once
   * healthy). Only the container waits: its image is pulled meanwhile. Default none.
   */
  readonly startAfter?: pulumi.Input<pulumi.Resource>[];
  /**
   * Run a new image's database migrations in a one-shot container before the container is
   * replaced (components/litellmMigration.ts): the Docker endpoint to run it on and the network
   * PostgreSQL is on. Default none: LiteLLM migrates at its own start, and a failed migration
   * leaves no LiteLLM running.
   */
  readonly migration?: DockerEndpointArgs & {
    readonly network: pulumi.Input<string>;
    /** Resources the migration runs after (e.g. the pre-upgrade snapshot), besides startAfter. Default none. */
    readonly after?: pulumi.Input<pulumi.Resource>[];
  };
}

/**
 * The LiteLLM proxy: one OpenAI-compatible API in front of the providers, with virtual keys and
 * budgets kept in PostgreSQL. Pass `startAfter: [postgres container]` so it is created only once
 * PostgreSQL is healthy (a `dependsOn` on the component would also hold back the image pull).
 */
export class Litellm extends pulumi.ComponentResource {
  public readonly container: docker.Container;
  /** Docker's name for the container (stable across replacements). */
  public readonly containerName: string;
  /** The generated config.yaml (contains no secrets). */
  public readonly configYaml: string;
  /** LiteLLM's base URL on the private network. */
  public readonly internalUrl: string = `http://${HOSTNAMES.litellm}:${LITELLM_PORT}`;
  /** The pulled image the container runs. */
  public readonly image: docker.RemoteImage;
  /** The migration step the container waits for, when `migration` is given. */
  public readonly migration?: LitellmMigration;

  constructor(name: string, args: LitellmArgs, opts?: pulumi.ComponentResourceOptions) {
    super("ai-gateway:index:Litellm", name, {}, opts);
    this.containerName = `${args.namePrefix}-litellm`;
    this.configYaml = renderLitellmConfig({
      models: args.models ?? [],
      budget: args.budget,
      redis: args.redisPassword !== undefined,
      spendLogRetention: args.spendLogRetention,
    });

    const envs = pulumi
      .all([args.masterKey, args.saltKey, args.databaseUrl, args.uiPassword, pulumi.output(args.providerApiKeys ?? {}), args.redisPassword])
      .apply(([masterKey, saltKey, databaseUrl, uiPassword, providerApiKeys, redisPassword]) =>
        litellmEnv({ masterKey, saltKey, databaseUrl, uiUsername: args.uiUsername, uiPassword, providerApiKeys, redisPassword }),
      );

    this.image = serviceImage(name, args.image, this);
    const labels = { ...args.labels, "ai-gateway.service": "litellm" };
    this.migration = args.migration
      ? new LitellmMigration(
          `${name}-migration`,
          {
            ...args.migration,
            image: args.image,
            imageId: this.image.imageId,
            databaseUrl: args.databaseUrl,
            litellmContainer: this.containerName,
            user: CONTAINER_PRIVILEGES.litellm.user,
            memoryMb: args.profile.litellm.memoryMb,
            // Not ai-gateway.service: `docker ps --filter label=ai-gateway.service=litellm` finds the service alone.
            labels: { ...args.labels, "ai-gateway.migration-of": this.containerName },
          },
          { parent: this, dependsOn: [...(args.startAfter ?? []), ...(args.migration.after ?? [])] },
        )
      : undefined;

    this.container = serviceContainer(
      name,
      {
        containerName: this.containerName,
        image: args.image,
        networks: args.networks,
        privileges: CONTAINER_PRIVILEGES.litellm,
        rootFilesystem: ROOT_FILESYSTEMS.litellm,
        cpuShares: CPU_SHARES.litellm,
        aliases: [HOSTNAMES.litellm],
        memoryMb: args.profile.litellm.memoryMb,
        command: litellmArgs(args.profile.litellm.workers),
        envs: pulumi.secret(envs),
        // A single world-readable file: a directory mounted over /app hides the image's entrypoint,
        // and newer images run as a non-root user.
        uploads: [{ file: LITELLM_CONFIG_PATH, content: this.configYaml, permissions: "0644" }],
        healthcheck: litellmHealthcheck(),
        labels,
      },
      { parent: this, image: this.image, dependsOn: [...(args.startAfter ?? []), ...(this.migration ? [this.migration] : [])] },
    ).container;

    this.registerOutputs({ containerName: this.container.name });
  }
}
