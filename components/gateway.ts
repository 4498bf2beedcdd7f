import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { GatewaySettings, resolveSettings, SettingsInput } from "../lib/settings";
import { adminUiAccess, adminUiUrl } from "../lib/adminAccess";
import { originsOfSettings } from "../lib/openWebuiOrigins";
import { checkTlsMaterial } from "../lib/proxySettings";
import { checkDockerTransport, parseDockerTlsMaterial } from "../lib/dockerEndpoint";
import { pinnedSshOptions } from "../lib/dockerHost";
import { DockerTlsMaterial } from "../lib/dockerExec";
import { DeployedDockerHost, DockerEndpointArgs } from "./dockerEndpoint";
import * as validate from "../lib/validation";
import { SettingError, shown } from "../lib/errors";
import { isLoopback } from "../lib/proxySettings";
import { resolveVpsSettings, VPS_GATEWAY_DEFAULTS, VpsSettings, VpsSettingsInput } from "../lib/vpsSettings";
import { Vps } from "./vps";
import { BackupSettings, BackupSettingsInput, resolveBackupSettings } from "../lib/backupSettings";
import { Backups } from "./backups";
import { PreUpgradeSnapshot, withSnapshotBefore } from "./preUpgradeSnapshot";
import { BACKUP_CONTAINER_SUFFIX, BACKUP_SERVICE_NAMES, BackupService } from "../lib/backups";
import { KeyRecord, suppliedKeyNames, suppliedKeyValues } from "../lib/virtualKeys";
import { apiForAgents, renderContinueConfig } from "../lib/continueConfig";
import { BUDGETS, BudgetProfile, PROFILES, ResourceProfile, totalMemoryMb } from "../profiles";
import { Litellm } from "./litellm";
import { Nginx } from "./nginx";
import { OpenWebui } from "./openWebui";
import { Postgres } from "./postgres";
import { PostgresDataGuard } from "./postgresDataGuard";
import { PrivateNetwork } from "./network";
import { ContainerPidsLimit } from "./containerPidsLimit";
import { NETWORK_ROLES, NETWORKS, NetworkRole, ServiceKey, serviceNetworks } from "../lib/containerSecurity";
import { Redis } from "./redis";
import { GatewaySecrets } from "./secrets";
import { effectiveVersions, rotationLabels } from "../lib/rotation";
import { VirtualKeys } from "./virtualKeys";

/**
 * Everything a gateway is built from. With `vps: true` (and the vps* settings, lib/vpsSettings.ts)
 * it first provisions its Hetzner server (the Vps component) and deploys onto it.
 */
export interface GatewayArgs extends SettingsInput, VpsSettingsInput, BackupSettingsInput {
  /**
   * Deploy onto a host that the same program provisions some other way; dockerHost and
   * dockerSshHostKey must then be unset. With vps: true the Vps's own is used. Default none.
   */
  readonly deployedHost?: DeployedDockerHost;
  /** Prefix of every Docker object's name (containers, volumes, network). Default `${name}-${stack}`. */
  readonly namePrefix?: string;
  /** LiteLLM master key (`sk-`, 32+ characters). Default: generated once and kept. */
  readonly masterKey?: pulumi.Input<string>;
  /** Provider API keys by environment variable name, e.g. { OPENAI_API_KEY: ... }. Default none. */
  readonly providerApiKeys?: Readonly<Record<string, pulumi.Input<string>>>;
  /** Virtual key values to use instead of generated ones, by key name ("open-webui" or an apiKeys name). Default: generated. */
  readonly apiKeyValues?: Readonly<Record<string, pulumi.Input<string>>>;
  /** With tls: nginx's PEM certificate chain (leaf first) and unencrypted key, uploaded as secrets. */
  readonly tlsCertificate?: pulumi.Input<string>;
  readonly tlsKey?: pulumi.Input<string>;
  /**
   * For a tcp:// dockerHost that is not loopback (required there): the CA the engine's certificate
   * must chain to, and the client certificate and unencrypted key it trusts (PEM; `docker
   * --tlsverify`'s ca.pem, cert.pem, key.pem). Secrets in state. Default none.
   */
  readonly dockerTlsCa?: pulumi.Input<string>;
  readonly dockerTlsCert?: pulumi.Input<string>;
  readonly dockerTlsKey?: pulumi.Input<string>;
  /** With backupS3Endpoint: the S3 access key id and secret access key (secrets in state, uploaded 0600, never in an environment). */
  readonly backupS3AccessKeyId?: pulumi.Input<string>;
  readonly backupS3SecretAccessKey?: pulumi.Input<string>;
}

/** Memory and workers the gateway runs with, as exported in the stack outputs. */
export interface EffectiveProfile {
  readonly name: string;
  readonly litellmWorkers: number;
  readonly memoryMb: {
    readonly postgres: number;
    readonly litellm: number;
    readonly openWebui: number;
    readonly nginx: number;
    /** Absent on profiles without Redis (one LiteLLM worker). */
    readonly redis?: number;
    /** The two backup containers (components/backups.ts). */
    readonly backupLitellm: number;
    readonly backupOpenWebui: number;
  };
  readonly totalMemoryMb: number;
}

export function effectiveProfile(profile: ResourceProfile): EffectiveProfile {
  return {
    name: profile.name,
    litellmWorkers: profile.litellm.workers,
    memoryMb: {
      postgres: profile.postgres.memoryMb,
      litellm: profile.litellm.memoryMb,
      openWebui: profile.openWebui.memoryMb,
      nginx: profile.nginx.memoryMb,
      ...(profile.redis ? { redis: profile.redis.memoryMb } : {}),
      backupLitellm: profile.backups.litellmMemoryMb,
      backupOpenWebui: profile.backups.openWebuiMemoryMb,
    },
    totalMemoryMb: totalMemoryMb(profile),
  };
}

/**
 * Stands for a deployed host's address while it is not known: the settings are validated against
 * it before any resource exists (an ssh:// host with a pinned key, like the real one), and resolved
 * again with the real address once known. 192.0.2.1 is TEST-NET-1 (RFC 5737), never a real host.
 */
const DEPLOYED_HOST_STAND_IN = {
  dockerHost: "ssh://deploy@192.0.2.1",
  dockerSshHostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
} as const;

/** The settings of a gateway on a deployed host (checkArgs refuses dockerHost and dockerSshHostKey with one). */
function settingsOnHost(args: GatewayArgs, dockerHost: string, dockerSshHostKey: string): GatewaySettings {
  return resolveSettings({ ...args, dockerHost, dockerSshHostKey }, Object.keys(args.providerApiKeys ?? {}));
}

/** The arguments with the VPS's gateway defaults (VPS_GATEWAY_DEFAULTS) where the stack sets nothing. */
function withVpsDefaults(args: GatewayArgs): GatewayArgs {
  return args.vps === true
    ? {
        ...args,
        bindAddress: args.bindAddress ?? VPS_GATEWAY_DEFAULTS.bindAddress,
        httpPort: args.httpPort ?? VPS_GATEWAY_DEFAULTS.httpPort,
      }
    : args;
}

/** Validates what can be known before any resource exists; throws a one-line SettingError. */
function checkArgs(
  name: string,
  args: GatewayArgs,
): { settings: GatewaySettings; vps: VpsSettings | undefined; backups: BackupSettings; namePrefix: string } {
  const onDeployedHost = args.vps === true || args.deployedHost !== undefined;
  if (onDeployedHost) {
    for (const key of ["dockerHost", "dockerSshHostKey"] as const) {
      if (args[key] !== undefined) {
        throw new SettingError(
          key,
          shown(args[key]),
          "must be unset with vps: true: the provisioned server is the Docker host (ssh://<vpsDeployUser>@<its IPv4>, its host key generated by the stack)",
        );
      }
    }
  }
  const settings = onDeployedHost
    ? settingsOnHost(args, DEPLOYED_HOST_STAND_IN.dockerHost, DEPLOYED_HOST_STAND_IN.dockerSshHostKey)
    : resolveSettings(args, Object.keys(args.providerApiKeys ?? {}));
  const vps = resolveVpsSettings(args, { profile: settings.profile, ephemeral: settings.ephemeral });
  if (vps !== undefined && args.deployedHost !== undefined) {
    throw new Error("Gateway: deployedHost and vps: true both name the host to deploy to; give one");
  }
  if (typeof args.masterKey === "string") {
    validate.masterKey("masterKey", args.masterKey);
  }
  const supplied = args.apiKeyValues ?? {};
  suppliedKeyNames(
    "apiKeyValues",
    Object.keys(supplied),
    settings.apiKeys.map((c) => c.name),
  );
  // Values from the stack's config were checked while still plain; a library caller's plain ones are checked here.
  suppliedKeyValues("apiKeyValues", Object.fromEntries(Object.entries(supplied).filter(([, v]) => typeof v === "string")));
  checkTlsMaterial(settings.proxy, args.tlsCertificate, args.tlsKey);
  checkDockerTransport(settings.dockerHost, { ca: args.dockerTlsCa, cert: args.dockerTlsCert, key: args.dockerTlsKey });
  const namePrefix = validate.prefix("namePrefix", args.namePrefix ?? `${name}-${pulumi.getStack()}`);
  const backups = resolveBackupSettings(args, { profile: settings.profile, ephemeral: settings.ephemeral, namePrefix });
  return { settings, vps, backups, namePrefix };
}

/**
 * The endpoint the provider and the exec steps share. TLS material given as Outputs (a library
 * caller's) is parsed once known, which fails the deployment before the provider connects with it.
 */
function dockerEndpoint(
  settings: GatewaySettings,
  placed: pulumi.Output<GatewaySettings>,
  args: GatewayArgs,
): DockerEndpointArgs & { dockerTls?: pulumi.Output<DockerTlsMaterial> } {
  const { dockerTlsCa: ca, dockerTlsCert: cert, dockerTlsKey: key } = args;
  return {
    dockerHost: placed.dockerHost,
    dockerSshOpts: settings.dockerSshOpts,
    // Present for an ssh:// host, whose kind is known before its address.
    ...(settings.dockerSshHostKey !== undefined ? { dockerSshHostKey: placed.apply((s) => s.dockerSshHostKey ?? "") } : {}),
    ...(ca !== undefined && cert !== undefined && key !== undefined
      ? {
          dockerTls: pulumi.secret(
            pulumi.all([ca, cert, key]).apply(([c, crt, k]) => {
              parseDockerTlsMaterial({ ca: c, cert: crt, key: k });
              return { ca: c, cert: crt, key: k };
            }),
          ),
        }
      : {}),
  };
}

/**
 * The whole AI gateway on one Docker host: PostgreSQL, LiteLLM, Open WebUI and nginx (and Redis for
 * LiteLLM's workers when there are several) on a private network, sized by a profile, with secrets
 * generated once. Every Docker object is created through one Docker provider, so a local socket, an
 * ssh:// host and a freshly provisioned VPS share one code path.
 *
 * Start order follows health, and nothing waits on more than it needs: LiteLLM is created once
 * PostgreSQL (and Redis, when there is one) is healthy; Open WebUI and nginx start independently
 * (nginx re-resolves its upstreams, Open WebUI reaches LiteLLM per request).
 */
export class Gateway extends pulumi.ComponentResource {
  /**
   * The settings as validated before any resource exists. On a deployed host (deployedHost),
   * dockerHost, dockerSshHostKey and a default publicUrl stand in for the host's until it is
   * known: read them from `placedSettings`.
   */
  public readonly settings: GatewaySettings;
  /** The settings on the host the gateway runs on, its address known (at once unless deployedHost). */
  public readonly placedSettings: pulumi.Output<GatewaySettings>;
  public readonly profile: ResourceProfile;
  public readonly budget: BudgetProfile;
  public readonly dockerProvider: docker.Provider;
  public readonly secrets: GatewaySecrets;
  /** Backend (PostgreSQL, Redis, LiteLLM), frontend (nginx, LiteLLM, Open WebUI), egress, edge (nginx's published ports). */
  public readonly networks: Readonly<Record<NetworkRole, PrivateNetwork>>;
  public readonly postgres: Postgres;
  /** The PostgreSQL image that owns the data volume; refuses a major-version or collation-OS change. */
  public readonly postgresDataGuard: PostgresDataGuard;
  /** Present when the profile runs LiteLLM with more than one worker. */
  public readonly redis?: Redis;
  public readonly litellm: Litellm;
  public readonly openWebui: OpenWebui;
  public readonly nginx: Nginx;
  /** The backups volume and the two backup containers (scheduled snapshots, the pre-upgrade ones, restores). */
  public readonly backups: Backups;
  /**
   * The snapshot of each service's data taken just before a new image replaces it (a LiteLLM pin
   * change: its database; an Open WebUI pin change: its volume); its `snapshot` output is the
   * newest one, the record `npm run rollback` returns to.
   */
  public readonly preUpgradeSnapshot: Readonly<Record<BackupService, PreUpgradeSnapshot>>;
  public readonly keys: VirtualKeys;
  /** The Hetzner server the gateway runs on, with vps: true. */
  public readonly vps?: Vps;

  /** Open WebUI in a browser. */
  public readonly openWebuiUrl: pulumi.Output<string>;
  /** OpenAI-compatible base URL for agents and SDKs. */
  public readonly apiBaseUrl: pulumi.Output<string>;
  /** LiteLLM's admin UI, on the admin listener (127.0.0.1 on the Docker host). */
  public readonly adminUiUrl: pulumi.Output<string>;
  /** How to reach the admin UI from the machine running pulumi. */
  public readonly adminUiAccess: pulumi.Output<string>;
  /** The virtual key Open WebUI uses (secret). */
  public readonly openWebuiApiKey: pulumi.Output<string>;
  /** Every other consumer's virtual key by name (secret). */
  public readonly apiKeys: pulumi.Output<Record<string, string>>;
  /**
   * Each virtual key's alias, models, budget, budget period and limits as LiteLLM should hold them,
   * by consumer name (Open WebUI's included; plain: no key value). The smoke test compares them
   * with LiteLLM's /key/info.
   */
  public readonly declaredKeys: pulumi.Output<Record<string, KeyRecord>>;
  /** Base URL, key and a working curl for agents (secret: it holds a key); undefined without apiKeys. */
  public readonly apiForAgents: pulumi.Output<{ baseUrl: string; apiKey: string; exampleCurl: string }> | undefined;
  /** A Continue.dev config.yaml for continueModels (secret: it holds a key); undefined without continueModels. */
  public readonly continueConfig: pulumi.Output<string> | undefined;
  /** LiteLLM's master key (secret). */
  public readonly masterKey: pulumi.Output<string>;
  /** Admin logins for LiteLLM's UI and Open WebUI (secret). */
  public readonly adminCredentials: pulumi.Output<{
    litellmUi: { username: string; password: string };
    openWebui: { email: string; password: string };
  }>;
  public readonly effectiveProfile: EffectiveProfile;

  constructor(name: string, givenArgs: GatewayArgs = {}, opts?: pulumi.ComponentResourceOptions) {
    const args = withVpsDefaults(givenArgs);
    const { settings, vps, backups, namePrefix } = checkArgs(name, args);
    super("ai-gateway:index:Gateway", name, {}, opts);
    this.settings = settings;
    this.profile = PROFILES[settings.profile];
    this.budget = BUDGETS[settings.budget];
    const labels = { "ai-gateway.gateway": namePrefix };
    // Its check refuses a PostgreSQL image that cannot open the data volume. The Docker provider,
    // and with it every Docker resource, waits for it: after a refusal nothing on the host changes,
    // whatever else the run would have changed.
    this.postgresDataGuard = new PostgresDataGuard(`${name}-postgres-data-guard`, { image: settings.images.postgres }, { parent: this });

    this.vps = vps
      ? new Vps(
          `${name}-vps`,
          {
            ...args,
            namePrefix,
            profile: settings.profile,
            ephemeral: settings.ephemeral,
            // nginx's published ports, unless they are bound to the server's loopback only.
            publicPorts: isLoopback(settings.bindAddress)
              ? []
              : [settings.httpPort, ...(settings.proxy.tls ? [settings.proxy.httpsPort] : [])],
            sshOpts: settings.dockerSshOpts,
            labels,
          },
          { parent: this },
        )
      : undefined;
    const deployed = args.deployedHost ?? this.vps?.deployedHost;
    this.placedSettings = deployed
      ? pulumi
          .all([deployed.dockerHost, deployed.sshHostKey])
          .apply(([dockerHost, sshHostKey]) => settingsOnHost(args, dockerHost, sshHostKey))
      : pulumi.output(settings);
    const placed = this.placedSettings;
    const endpoint = dockerEndpoint(settings, placed, args);
    this.dockerProvider = new docker.Provider(
      `${name}-docker`,
      {
        host: placed.dockerHost,
        // The pinned host key's options first: ssh keeps the first value of each option.
        sshOpts: settings.dockerSshHostKey
          ? placed.apply((s) => [...pinnedSshOptions(s.dockerSshHostKey!), ...s.dockerSshOpts])
          : undefined,
        ...(endpoint.dockerTls
          ? {
              caMaterial: pulumi.secret(endpoint.dockerTls.ca),
              certMaterial: pulumi.secret(endpoint.dockerTls.cert),
              keyMaterial: pulumi.secret(endpoint.dockerTls.key),
            }
          : {}),
      },
      { parent: this, dependsOn: [this.postgresDataGuard] },
    );
    const inGateway = { parent: this, providers: [this.dockerProvider] };

    const secretVersions = effectiveVersions(settings.secretVersions, { masterKey: args.masterKey !== undefined });
    this.secrets = new GatewaySecrets(`${name}-secrets`, { masterKey: args.masterKey, versions: secretVersions }, { parent: this });
    const networks = Object.fromEntries(
      NETWORK_ROLES.map((role) => [
        role,
        new PrivateNetwork(`${name}-${role}`, { networkName: `${namePrefix}-${role}`, spec: NETWORKS[role], labels }, inGateway),
      ]),
    ) as Record<NetworkRole, PrivateNetwork>;
    this.networks = networks;
    const networksOf = (service: ServiceKey) =>
      serviceNetworks(service, { openWebuiEgress: settings.openWebuiEgress, backupS3: backups.s3 !== undefined }).map(
        (role) => networks[role].name,
      );

    this.postgres = new Postgres(
      `${name}-postgres`,
      {
        namePrefix,
        image: settings.images.postgres,
        networks: networksOf("postgres"),
        password: this.secrets.postgresPassword,
        profile: this.profile,
        ephemeral: settings.ephemeral,
        labels: { ...labels, ...rotationLabels(secretVersions, ["postgresPassword"]) },
        startAfter: [this.postgresDataGuard],
      },
      inGateway,
    );

    const redisSizing = this.profile.redis;
    this.redis = redisSizing
      ? new Redis(
          `${name}-redis`,
          {
            namePrefix,
            image: settings.images.redis,
            networks: networksOf("redis"),
            sizing: redisSizing,
            password: this.secrets.redisPassword,
            labels,
          },
          inGateway,
        )
      : undefined;

    // Before anything an image change replaces: the service's container, LiteLLM's migration step,
    // and the backup container (whose settings hold the pin). The step names the containers
    // rather than depending on them, which would be a cycle.
    const preUpgradeSnapshot = (service: BackupService, image: string) =>
      new PreUpgradeSnapshot(
        `${name}-${BACKUP_SERVICE_NAMES[service]}-pre-upgrade`,
        {
          ...endpoint,
          service,
          backupContainer: `${namePrefix}-${BACKUP_CONTAINER_SUFFIX[service]}`,
          serviceContainer: `${namePrefix}-${BACKUP_SERVICE_NAMES[service]}`,
          image,
        },
        // Nothing is snapshotted for an upgrade the PostgreSQL guard refuses; and a refusal finds
        // the step waiting in the program rather than in flight in the engine.
        { parent: this, dependsOn: [this.postgresDataGuard] },
      );
    this.preUpgradeSnapshot = {
      litellm: preUpgradeSnapshot("litellm", settings.images.litellm),
      openWebui: preUpgradeSnapshot("openWebui", settings.images.openWebui),
    };

    this.litellm = new Litellm(
      `${name}-litellm`,
      {
        namePrefix,
        image: settings.images.litellm,
        networks: networksOf("litellm"),
        profile: this.profile,
        budget: this.budget,
        models: settings.models,
        masterKey: this.secrets.masterKey,
        saltKey: this.secrets.saltKey,
        databaseUrl: this.postgres.databaseUrl,
        uiUsername: settings.adminUsername,
        uiPassword: this.secrets.litellmUiPassword,
        providerApiKeys: args.providerApiKeys,
        redisPassword: this.redis ? this.secrets.redisPassword : undefined,
        spendLogRetention: settings.spendLogRetention,
        labels: { ...labels, ...rotationLabels(secretVersions, ["postgresPassword", "masterKey"]) },
        // LiteLLM exits when its database is unusable at start, and its workers count limits in
        // Redis from the first request. The pre-upgrade snapshot comes first, before the migration
        // step (which also waits for startAfter) and the container.
        startAfter: [this.postgres.container, ...(this.redis ? [this.redis.container] : []), this.preUpgradeSnapshot.litellm],
        // A new image's migrations run (and must succeed) before the container is replaced.
        migration: { ...endpoint, network: networks.backend.name },
      },
      inGateway,
    );

    this.keys = new VirtualKeys(
      `${name}-keys`,
      {
        namePrefix,
        consumers: settings.apiKeys,
        budget: this.budget,
        suppliedValues: args.apiKeyValues,
        ...endpoint,
        litellm: this.litellm.container,
        litellmContainerName: this.litellm.containerName,
        masterKey: this.secrets.masterKey,
      },
      { parent: this },
    );

    this.openWebui = new OpenWebui(
      `${name}-open-webui`,
      {
        namePrefix,
        image: settings.images.openWebui,
        networks: networksOf("openWebui"),
        internetAccess: settings.openWebuiEgress,
        profile: this.profile,
        publicUrl: placed.publicUrl,
        allowedOrigins: placed.apply((s) => originsOfSettings(s)),
        apiKey: this.keys.openWebuiKey,
        secretKey: this.secrets.webuiSecretKey,
        adminEmail: settings.adminEmail,
        adminPassword: this.secrets.openWebuiAdminPassword,
        ...endpoint,
        ephemeral: settings.ephemeral,
        labels: { ...labels, ...rotationLabels(secretVersions, ["webuiSecretKey"]) },
      },
      withSnapshotBefore(inGateway, this.preUpgradeSnapshot.openWebui),
    );

    this.nginx = new Nginx(
      `${name}-nginx`,
      {
        namePrefix,
        image: settings.images.nginx,
        networks: networksOf("nginx"),
        profile: this.profile,
        httpPort: settings.httpPort,
        bindAddress: settings.bindAddress,
        adminPort: settings.adminPort,
        proxy: settings.proxy,
        publicUrl: placed.publicUrl,
        dockerHost: placed.dockerHost,
        tlsCertificate: args.tlsCertificate,
        tlsKey: args.tlsKey,
        labels,
      },
      inGateway,
    );

    this.backups = new Backups(
      `${name}-backups`,
      {
        namePrefix,
        settings: backups,
        s3Credentials:
          backups.s3 !== undefined ? { accessKeyId: args.backupS3AccessKeyId!, secretAccessKey: args.backupS3SecretAccessKey! } : undefined,
        postgresImage: settings.images.postgres,
        openWebuiImage: settings.images.openWebui,
        litellmImage: settings.images.litellm,
        networks: { litellm: networksOf("backupLitellm"), openWebui: networksOf("backupOpenWebui") },
        postgresPassword: this.secrets.postgresPassword,
        openWebuiDataVolume: this.openWebui.dataVolume.name,
        profile: this.profile,
        ephemeral: settings.ephemeral,
        // A dump needs PostgreSQL up; Open WebUI's first start creates the database a snapshot copies.
        // LiteLLM's backup container (its settings hold the pin) is replaced only once the new
        // image's migration succeeded: a failed one leaves it in place for `npm run rollback`.
        startAfter: {
          litellm: [this.postgres.container, this.preUpgradeSnapshot.litellm, ...(this.litellm.migration ? [this.litellm.migration] : [])],
          openWebui: [this.openWebui.container, this.preUpgradeSnapshot.openWebui],
        },
        labels,
      },
      inGateway,
    );

    // The docker provider has no pids limit: each container gets its own once it exists.
    const pidsLimits: [string, docker.Container, number][] = [
      ["postgres", this.postgres.container, this.profile.postgres.pidsLimit],
      ["litellm", this.litellm.container, this.profile.litellm.pidsLimit],
      ["open-webui", this.openWebui.container, this.profile.openWebui.pidsLimit],
      ["nginx", this.nginx.container, this.profile.nginx.pidsLimit],
      ["backups-litellm-database", this.backups.containers.litellm, this.profile.backups.pidsLimit],
      ["backups-open-webui-volume", this.backups.containers.openWebui, this.profile.backups.pidsLimit],
      ...(this.redis && redisSizing ? [["redis", this.redis.container, redisSizing.pidsLimit] as [string, docker.Container, number]] : []),
    ];
    for (const [service, container, pidsLimit] of pidsLimits) {
      new ContainerPidsLimit(
        `${name}-${service}-pids`,
        {
          ...endpoint,
          container: container.name,
          containerId: container.id,
          pidsLimit,
        },
        { parent: this },
      );
    }

    this.openWebuiUrl = placed.apply((s) => `${s.publicUrl}/`);
    this.apiBaseUrl = placed.apply((s) => `${s.publicUrl}/api/litellm/v1`);
    this.adminUiUrl = placed.apply(adminUiUrl);
    this.adminUiAccess = placed.apply(adminUiAccess);
    this.openWebuiApiKey = this.keys.openWebuiKey;
    this.apiKeys = this.keys.consumerKeys;
    this.declaredKeys = this.keys.declaredKeys;
    const agentKey = settings.continueKey;
    const exampleModel = settings.continueModels[0] ?? settings.models[0]?.name ?? "gpt-4o";
    this.apiForAgents = agentKey
      ? pulumi.secret(
          pulumi.all([this.apiKeys, this.apiBaseUrl]).apply(([keys, baseUrl]) => apiForAgents(baseUrl, keys[agentKey], exampleModel)),
        )
      : undefined;
    this.continueConfig =
      agentKey && settings.continueModels.length > 0
        ? pulumi.secret(
            pulumi.all([this.apiKeys, this.apiBaseUrl]).apply(([keys, apiBase]) =>
              renderContinueConfig({
                apiBase,
                apiKey: keys[agentKey],
                models: settings.continueModels,
                anthropicTier: settings.continueAnthropicTier,
              }),
            ),
          )
        : undefined;
    this.masterKey = this.secrets.masterKey;
    this.adminCredentials = pulumi.secret(
      pulumi.all([this.secrets.litellmUiPassword, this.secrets.openWebuiAdminPassword]).apply(([uiPassword, webuiPassword]) => ({
        litellmUi: { username: settings.adminUsername, password: uiPassword },
        openWebui: { email: settings.adminEmail, password: webuiPassword },
      })),
    );
    this.effectiveProfile = effectiveProfile(this.profile);

    this.registerOutputs({
      openWebuiUrl: this.openWebuiUrl,
      apiBaseUrl: this.apiBaseUrl,
      adminUiUrl: this.adminUiUrl,
      adminUiAccess: this.adminUiAccess,
      effectiveProfile: this.effectiveProfile,
      declaredKeys: this.declaredKeys,
    });
  }
}
