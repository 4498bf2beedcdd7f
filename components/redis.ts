import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { CONTAINER_PRIVILEGES, CPU_SHARES, ROOT_FILESYSTEMS } from "../lib/containerSecurity";
import { HOSTNAMES, REDIS_CONFIG_PATH, REDIS_PORT } from "../lib/constants";
import { renderRedisConfig } from "../lib/redisConfig";
import { redisCommand, redisHealthcheck } from "../lib/services";
import { RedisSizing } from "../profiles";
import { serviceContainer } from "./serviceContainer";

export interface RedisArgs {
  /** The container is named `${namePrefix}-redis`. Required. */
  readonly namePrefix: string;
  /** Pinned Redis image. Required. */
  readonly image: string;
  /** Names of the networks it joins: lib/containerSecurity.ts serviceNetworks("redis"). Required. */
  readonly networks: readonly pulumi.Input<string>[];
  /** Memory limit and `maxmemory`. Required. */
  readonly sizing: RedisSizing;
  /** The password clients authenticate with (letters and digits). Required. */
  readonly password: pulumi.Input<string>;
  /** Labels on the container. Default none. */
  readonly labels?: Readonly<Record<string, string>>;
}

/**
 * Redis for LiteLLM's workers: rate-limit and spend counters, key invalidations and job locks they
 * share. Never published on the host; reachable as `redis:6379` on the private network, with a
 * password. It keeps nothing on disk (see RedisSizing), so it has no volume.
 */
export class Redis extends pulumi.ComponentResource {
  public readonly container: docker.Container;
  /** Host name and port on the private network. */
  public readonly host: string = HOSTNAMES.redis;
  public readonly port: number = REDIS_PORT;

  constructor(name: string, args: RedisArgs, opts?: pulumi.ComponentResourceOptions) {
    super("ai-gateway:index:Redis", name, {}, opts);

    const config = pulumi.output(args.password).apply((password) => renderRedisConfig({ password, maxMemoryMb: args.sizing.maxMemoryMb }));

    this.container = serviceContainer(
      name,
      {
        containerName: `${args.namePrefix}-redis`,
        image: args.image,
        networks: args.networks,
        privileges: CONTAINER_PRIVILEGES.redis,
        rootFilesystem: ROOT_FILESYSTEMS.redis,
        cpuShares: CPU_SHARES.redis,
        aliases: [HOSTNAMES.redis],
        memoryMb: args.sizing.memoryMb,
        command: redisCommand(),
        // Readable by the image's redis user, which the entrypoint switches to; nothing else runs here.
        uploads: [{ file: REDIS_CONFIG_PATH, content: pulumi.secret(config), permissions: "0644" }],
        healthcheck: redisHealthcheck(),
        labels: { ...args.labels, "ai-gateway.service": "redis" },
      },
      { parent: this },
    ).container;

    this.registerOutputs({ containerName: this.container.name });
  }
}
