import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { CONTAINER_PRIVILEGES, CPU_SHARES, ROOT_FILESYSTEMS } from "../lib/containerSecurity";
import { HOSTNAMES, OPEN_WEBUI_DATA_DIR, OPEN_WEBUI_SECRET_KEY_FILE } from "../lib/constants";
import { runtimeFile } from "../lib/runtimeFiles";
import { openWebuiDeclaredSettings, openWebuiEnv, openWebuiHealthcheck } from "../lib/services";
import { ResourceProfile } from "../profiles";
import { DockerEndpointArgs } from "./dockerEndpoint";
import { OpenWebuiSettings } from "./openWebuiSettings";
import { dataVolume, serviceContainer } from "./serviceContainer";

/** dockerHost & co.: the Docker endpoint of the host Open WebUI runs on (the settings step execs in its container). */
export interface OpenWebuiArgs extends DockerEndpointArgs {
  /** The container and its data volume get `${namePrefix}-open-webui[-data]`. Required. */
  readonly namePrefix: string;
  /** Pinned Open WebUI image. Required. */
  readonly image: string;
  /** Names of the networks it joins: lib/containerSecurity.ts serviceNetworks("openWebui"). Required. */
  readonly networks: readonly pulumi.Input<string>[];
  /** Memory limit. Required. */
  readonly profile: ResourceProfile;
  /** Public origin (WEBUI_URL). Required. */
  readonly publicUrl: pulumi.Input<string>;
  /** Origins whose browsers may open the websocket (CORS_ALLOW_ORIGIN). Default: publicUrl only. */
  readonly allowedOrigins?: pulumi.Input<readonly string[]>;
  /** LiteLLM virtual key Open WebUI calls LiteLLM with; never the master key. Required. */
  readonly apiKey: pulumi.Input<string>;
  /** WEBUI_SECRET_KEY, stable across container replacements; uploaded as the image's key file. Required. */
  readonly secretKey: pulumi.Input<string>;
  /** Admin account created on first start. Required. */
  readonly adminEmail: string;
  readonly adminPassword: pulumi.Input<string>;
  /** Whether one of `networks` leads to the internet (sets OFFLINE_MODE when not). Default false. */
  readonly internetAccess?: boolean;
  /** Delete the data volume with the stack (preview stacks). Default false: the volume is kept. */
  readonly ephemeral?: boolean;
  /** Labels on the container. Default none. */
  readonly labels?: Readonly<Record<string, string>>;
}

/**
 * Open WebUI, the chat front end. Its users, chats and uploads live in a named volume: Docker
 * copies the image's bundled models into a new named volume, which a host directory would hide.
 * It does not wait for LiteLLM: it starts on its own and finds LiteLLM when a user asks.
 */
export class OpenWebui extends pulumi.ComponentResource {
  public readonly container: docker.Container;
  public readonly dataVolume: docker.Volume;
  /** Enforces the declared settings in Open WebUI's database on every `pulumi up`. */
  public readonly settings: OpenWebuiSettings;

  constructor(name: string, args: OpenWebuiArgs, opts?: pulumi.ComponentResourceOptions) {
    super("ai-gateway:index:OpenWebui", name, {}, opts);

    this.dataVolume = dataVolume(`${name}-data`, `${args.namePrefix}-open-webui-data`, args.ephemeral ?? false, this);

    const publicUrl = pulumi.output(args.publicUrl);
    const allowedOrigins = args.allowedOrigins !== undefined ? pulumi.output(args.allowedOrigins) : publicUrl.apply((url) => [url]);
    const envs = pulumi.all([args.apiKey, args.adminPassword, publicUrl, allowedOrigins]).apply(([apiKey, adminPassword, url, origins]) =>
      openWebuiEnv({
        publicUrl: url,
        allowedOrigins: origins,
        apiKey,
        adminEmail: args.adminEmail,
        adminPassword,
        internetAccess: args.internetAccess ?? false,
      }),
    );

    this.container = serviceContainer(
      name,
      {
        containerName: `${args.namePrefix}-open-webui`,
        image: args.image,
        networks: args.networks,
        privileges: CONTAINER_PRIVILEGES.openWebui,
        rootFilesystem: ROOT_FILESYSTEMS.openWebui,
        cpuShares: CPU_SHARES.openWebui,
        aliases: [HOSTNAMES.openWebui],
        memoryMb: args.profile.openWebui.memoryMb,
        envs: pulumi.secret(envs),
        volumes: [{ volumeName: this.dataVolume.name, containerPath: OPEN_WEBUI_DATA_DIR }],
        // Not in the environment, where `docker inspect` shows it: the image's start.sh reads this
        // file when WEBUI_SECRET_KEY is unset (and hands it to the server); root-owned, 0600.
        uploads: [{ file: OPEN_WEBUI_SECRET_KEY_FILE, content: pulumi.secret(args.secretKey), permissions: "0600" }],
        healthcheck: openWebuiHealthcheck(),
        labels: { ...args.labels, "ai-gateway.service": "open-webui" },
      },
      { parent: this, dependsOn: opts?.dependsOn },
    ).container;

    const containerName = `${args.namePrefix}-open-webui`;
    this.settings = new OpenWebuiSettings(
      `${name}-settings`,
      {
        dockerHost: args.dockerHost,
        dockerSshOpts: args.dockerSshOpts,
        dockerSshHostKey: args.dockerSshHostKey,
        dockerTls: args.dockerTls,
        container: containerName,
        adminEmail: args.adminEmail,
        settings: pulumi.all([args.apiKey, publicUrl]).apply(([apiKey, url]) => openWebuiDeclaredSettings({ publicUrl: url, apiKey })),
        script: runtimeFile("open_webui_config.py"),
      },
      // Created once the container is healthy (serviceContainer waits for its healthcheck).
      { parent: this, dependsOn: [this.container] },
    );

    this.registerOutputs({ containerName: this.container.name, dataVolume: this.dataVolume.name });
  }
}
