import { BUDGET_NAMES, BudgetName, PROFILE_NAMES, ProfileName } from "../profiles";
import { parseDockerHost, remoteDockerHost } from "./dockerHost";
import { checkHostMemory } from "./capacity";
import { sshHostKey, sshOptions } from "./dockerEndpoint";
import { SettingError, shown } from "./errors";
import * as validate from "./validation";
import { ModelSpec } from "./validation";
import { consumers, DEFAULT_CONSUMERS, KeyConsumer } from "./virtualKeys";
import { FIRST_SECRET_VERSION, SecretVersions, secretVersion } from "./rotation";
import { SPEND_LOG_RETENTION_DEFAULTS, spendLogRetention } from "./retention";
import { checkPublicUrl, defaultPublicUrl, PROXY_DEFAULTS, ProxySettings, ProxySettingsInput, resolveProxySettings } from "./proxySettings";

/** Images the gateway runs, each pinned to a release (image-pins-and-hetzner.md §0). */
export interface ImageSet {
  readonly litellm: string;
  readonly openWebui: string;
  readonly postgres: string;
  readonly nginx: string;
  readonly redis: string;
}

/**
 * Every default in one place. Pulumi.yaml declares the same values for `pulumi config`; a test
 * keeps the two in step.
 */
export const DEFAULTS = {
  profile: "medium" as ProfileName,
  budget: "test" as BudgetName,
  httpPort: 8080,
  bindAddress: "127.0.0.1",
  adminPort: 4001,
  dockerHost: "unix:///var/run/docker.sock",
  dockerSshOpts: [] as string[],
  // Docker Hub's official images are rebuilt under the same tag (base-image fixes), so they are
  // pinned to the multi-platform index digest the tag pointed at (docker-library/repo-info,
  // repos/<image>/remote/<tag>.md): every host runs the same bytes, and a re-pushed tag changes
  // nothing until the pin does. The tag stays for people; Docker pulls by the digest. ghcr.io's
  // LiteLLM and Open WebUI are tag-pinned: their release tags are not rebuilt, and no digest
  // for them could be verified here.
  images: {
    litellm: "ghcr.io/berriai/litellm:v1.110.1",
    openWebui: "ghcr.io/open-webui/open-webui:v0.11.4",
    postgres: "postgres:16.15-trixie@sha256:a3b7f434b2dc57ce85a67e171163eb8ab1a1ebcb39d27484661f26b1dfbe30d6",
    nginx: "nginx:1.30.5-alpine@sha256:0985e772fb9f729e6fa0980da05fca5d9c468e870eed43071545afa9d2e27d94",
    redis: "redis:8.10.2-alpine@sha256:72cedd9603038893af961e90ac5e1a1a0d8377d5e338dbdad8fe284ea25de18f",
  } as ImageSet,
  adminUsername: "admin",
  adminEmail: "admin@example.com",
  ephemeral: false,
  openWebuiEgress: false,
  ...PROXY_DEFAULTS,
  apiKeys: DEFAULT_CONSUMERS,
  continueModels: [] as string[],
  continueAnthropicTier: 1,
  postgresPasswordVersion: FIRST_SECRET_VERSION,
  masterKeyVersion: FIRST_SECRET_VERSION,
  webuiSecretKeyVersion: FIRST_SECRET_VERSION,
} as const;

/** The plain (non-secret) settings a gateway is built from; every field is optional. */
export interface SettingsInput extends ProxySettingsInput {
  /** Resource profile: small, medium or large. Default "medium". */
  readonly profile?: string;
  /** Budget profile: test ($15), prod ($200) or unlimited ($1000) per calendar month. Default "test". */
  readonly budget?: string;
  /** Host port nginx publishes the gateway on: 1024-65535, 80 or 443. Default 8080. */
  readonly httpPort?: number;
  /** Host address the public port is bound to. Default "127.0.0.1" (this host only). */
  readonly bindAddress?: string;
  /** Host port of the admin listener (LiteLLM admin UI), always bound to 127.0.0.1. Default 4001. */
  readonly adminPort?: number;
  /** Public origin users reach the gateway at. Default derived from bindAddress and httpPort. */
  readonly publicUrl?: string;
  /** Docker endpoint. Default "unix:///var/run/docker.sock". */
  readonly dockerHost?: string;
  /** Extra ssh options for an ssh:// Docker host, from an allow-list (key file, timeouts, ProxyJump, ...). Default none. */
  readonly dockerSshOpts?: readonly string[];
  /**
   * The ssh:// Docker host's public key (`ssh-ed25519 AAAA...`, or its known_hosts line): the only
   * key ssh accepts for it. Required with an ssh:// dockerHost; no default.
   */
  readonly dockerSshHostKey?: string;
  /**
   * The Docker host's memory in MB, as `free -m` reports its total. When given, the profile's
   * memory (every container limit, plus the OS and Docker, plus headroom: lib/capacity.ts) must fit
   * in it, or the deployment is refused before anything is created. Default: not checked.
   */
  readonly dockerHostMemoryMb?: number;
  /** LiteLLM image, pinned to a version or digest. Default "ghcr.io/berriai/litellm:v1.110.1". */
  readonly litellmImage?: string;
  /** Open WebUI image, pinned. Default "ghcr.io/open-webui/open-webui:v0.11.4". */
  readonly openWebuiImage?: string;
  /** PostgreSQL image, pinned; keep major 16 and the OS suffix of an existing volume. Default "postgres:16.15-trixie@sha256:a3b7f434…". */
  readonly postgresImage?: string;
  /** nginx image, pinned; 1.27.3 or newer (upstream re-resolution). Default "nginx:1.30.5-alpine@sha256:0985e772…". */
  readonly nginxImage?: string;
  /** Redis image (profiles with more than one LiteLLM worker), pinned. Default "redis:8.10.2-alpine@sha256:72cedd96…". */
  readonly redisImage?: string;
  /** Models declared in LiteLLM's config. Default none (add them in the admin UI). */
  readonly models?: readonly unknown[];
  /** LiteLLM admin UI user name. Default "admin". */
  readonly adminUsername?: string;
  /** Open WebUI admin account's email. Default "admin@example.com". */
  readonly adminEmail?: string;
  /** Whether data volumes are deleted with the stack (preview stacks). Default false: volumes are kept. */
  readonly ephemeral?: boolean;
  /**
   * Whether Open WebUI may open connections to the internet (web search, fetching URLs, tool
   * installs, OAuth). Default false: it reaches LiteLLM and nothing else.
   */
  readonly openWebuiEgress?: boolean;
  /** API consumers (agents, CI jobs, IDEs), each with its own virtual key and limits. Default [{ name: "agents" }]. */
  readonly apiKeys?: readonly unknown[];
  /** Model ids the Continue.dev config output lists. Default none (no Continue.dev config). */
  readonly continueModels?: readonly string[];
  /** Which apiKeys consumer's key the Continue.dev config uses. Default the first one. */
  readonly continueKey?: string;
  /** Anthropic API tier (1-4) the Continue.dev config sizes context windows for. Default 1. */
  readonly continueAnthropicTier?: number;
  /**
   * How long LiteLLM keeps its spend logs, `<n>d` or `<n>h` (LiteLLM's own cleanup job deletes older
   * ones). Default per profile: small 30d, medium 90d, large 365d (lib/retention.ts).
   */
  readonly spendLogRetention?: string;
  /** Generation of the generated PostgreSQL password; raising it rotates the password on the next `pulumi up`. Default 1. */
  readonly postgresPasswordVersion?: number;
  /** Generation of the generated LiteLLM master key (not a supplied `masterKey`); raising it rotates the key. Default 1. */
  readonly masterKeyVersion?: number;
  /** Generation of Open WebUI's generated WEBUI_SECRET_KEY; raising it rotates it (every session ends). Default 1. */
  readonly webuiSecretKeyVersion?: number;
}

/** Settings after defaults and validation. */
export interface GatewaySettings {
  readonly profile: ProfileName;
  readonly budget: BudgetName;
  readonly httpPort: number;
  readonly bindAddress: string;
  readonly adminPort: number;
  readonly publicUrl: string;
  readonly dockerHost: string;
  readonly dockerSshOpts: readonly string[];
  /** `<type> <base64>` of the ssh host's pinned key; undefined unless dockerHost is ssh://. */
  readonly dockerSshHostKey: string | undefined;
  /** The Docker host's stated memory in MB; undefined when not stated (not checked). */
  readonly dockerHostMemoryMb: number | undefined;
  readonly images: ImageSet;
  readonly models: readonly ModelSpec[];
  readonly adminUsername: string;
  readonly adminEmail: string;
  readonly ephemeral: boolean;
  readonly openWebuiEgress: boolean;
  readonly apiKeys: readonly KeyConsumer[];
  readonly continueModels: readonly string[];
  /** Undefined when there is no consumer key to give Continue.dev. */
  readonly continueKey: string | undefined;
  readonly continueAnthropicTier: 1 | 2 | 3 | 4;
  /** nginx: TLS, admin listener exposure, trusted proxies, API rate limit. */
  readonly proxy: ProxySettings;
  /** How long LiteLLM keeps spend logs, e.g. "90d" (the profile's default unless the stack says). */
  readonly spendLogRetention: string;
  /** The generation of each rotatable generated secret (lib/rotation.ts). */
  readonly secretVersions: SecretVersions;
}

function boolean(key: string, value: unknown): boolean {
  if (typeof value === "boolean") {
    return value;
  }
  throw new SettingError(key, shown(value), "must be true or false");
}

/**
 * The host part of the default public URL: the address the port is bound to, or, when it is bound
 * to every interface, the remote Docker host's name (locally: localhost).
 */
function defaultPublicHost(bindAddress: string, dockerHost: string): string {
  return bindAddress !== "0.0.0.0" ? bindAddress : (remoteDockerHost(dockerHost) ?? "localhost");
}

/** The largest host memory accepted (16 TiB): beyond any machine, so a typo in the unit is caught. */
const MAX_HOST_MEMORY_MB = 16 * 1024 * 1024;

/** Applies defaults and validates every setting; throws SettingError on the first bad one. */
export function resolveSettings(input: SettingsInput, providerKeyNames: readonly string[] = []): GatewaySettings {
  const profile = validate.oneOf("profile", input.profile ?? DEFAULTS.profile, PROFILE_NAMES);
  const budget = validate.oneOf("budget", input.budget ?? DEFAULTS.budget, BUDGET_NAMES);
  const httpPort = validate.hostPort("httpPort", input.httpPort ?? DEFAULTS.httpPort, true);
  const bindAddress = validate.bindAddress("bindAddress", input.bindAddress ?? DEFAULTS.bindAddress);
  const adminPort = validate.hostPort("adminPort", input.adminPort ?? DEFAULTS.adminPort, false);
  if (adminPort === httpPort) {
    throw new SettingError("adminPort", shown(adminPort), `must differ from httpPort (${httpPort})`);
  }
  const dockerHost = validate.dockerHost("dockerHost", input.dockerHost ?? DEFAULTS.dockerHost);
  const overSsh = parseDockerHost(dockerHost)?.kind === "ssh";
  const dockerSshOpts = sshOptions("dockerSshOpts", input.dockerSshOpts ?? DEFAULTS.dockerSshOpts);
  if (dockerSshOpts.length > 0 && !overSsh) {
    throw new SettingError(
      "dockerSshOpts",
      shown(dockerSshOpts),
      `only applies to an ssh:// dockerHost (dockerHost is ${shown(dockerHost)})`,
    );
  }
  if (input.dockerSshHostKey !== undefined && !overSsh) {
    throw new SettingError(
      "dockerSshHostKey",
      shown(input.dockerSshHostKey),
      `only applies to an ssh:// dockerHost (dockerHost is ${shown(dockerHost)})`,
    );
  }
  // Required rather than learnt on first use: whoever answers at that address first would be
  // trusted with the master key and every container's secrets.
  if (overSsh && input.dockerSshHostKey === undefined) {
    throw new SettingError(
      "dockerSshHostKey",
      shown(undefined),
      `is required with an ssh:// dockerHost: the host's public key, which is the only one ssh will accept (on the host: cat /etc/ssh/ssh_host_ed25519_key.pub; or here, from a known_hosts you trust: ssh-keygen -F ${remoteDockerHost(dockerHost)})`,
    );
  }
  const dockerSshHostKey = overSsh ? sshHostKey("dockerSshHostKey", input.dockerSshHostKey) : undefined;
  const dockerHostMemoryMb =
    input.dockerHostMemoryMb !== undefined
      ? validate.positiveInteger(
          "dockerHostMemoryMb",
          input.dockerHostMemoryMb,
          "megabytes (the total `free -m` shows)",
          MAX_HOST_MEMORY_MB,
        )
      : undefined;
  if (dockerHostMemoryMb !== undefined) {
    checkHostMemory("dockerHostMemoryMb", dockerHostMemoryMb, profile);
  }
  const images: ImageSet = {
    litellm: validate.pinnedImage("litellmImage", input.litellmImage ?? DEFAULTS.images.litellm),
    openWebui: validate.pinnedImage("openWebuiImage", input.openWebuiImage ?? DEFAULTS.images.openWebui),
    postgres: validate.pinnedImage("postgresImage", input.postgresImage ?? DEFAULTS.images.postgres),
    nginx: validate.pinnedImage("nginxImage", input.nginxImage ?? DEFAULTS.images.nginx),
    redis: validate.pinnedImage("redisImage", input.redisImage ?? DEFAULTS.images.redis),
  };
  const models = validate.models("models", input.models ?? [], validate.providerKeyNames("providerApiKeys", [...providerKeyNames]));
  const proxy = resolveProxySettings(input, { httpPort, adminPort });
  const publicUrl = checkPublicUrl(
    proxy,
    input.publicUrl !== undefined
      ? validate.publicUrl("publicUrl", input.publicUrl)
      : defaultPublicUrl(proxy, defaultPublicHost(bindAddress, dockerHost), httpPort),
  );
  const apiKeys = consumers("apiKeys", input.apiKeys ?? DEFAULTS.apiKeys);
  const continueModels = validate.modelNames("continueModels", input.continueModels ?? DEFAULTS.continueModels);
  const continueKey = input.continueKey ?? apiKeys[0]?.name;
  if (input.continueKey !== undefined && !apiKeys.some((c) => c.name === input.continueKey)) {
    throw new SettingError(
      "continueKey",
      shown(input.continueKey),
      `must name one of apiKeys: ${apiKeys.map((c) => c.name).join(", ") || "(none declared)"}`,
    );
  }
  if (continueModels.length > 0 && continueKey === undefined) {
    throw new SettingError("continueModels", shown(continueModels), "needs a key that is not Open WebUI's: declare one in apiKeys");
  }
  const tier = input.continueAnthropicTier ?? DEFAULTS.continueAnthropicTier;
  if (![1, 2, 3, 4].includes(tier)) {
    throw new SettingError("continueAnthropicTier", shown(tier), "must be 1, 2, 3 or 4");
  }
  const spendLogRetentionValue = spendLogRetention("spendLogRetention", input.spendLogRetention ?? SPEND_LOG_RETENTION_DEFAULTS[profile]);
  const secretVersions: SecretVersions = {
    postgresPassword: secretVersion("postgresPasswordVersion", input.postgresPasswordVersion ?? DEFAULTS.postgresPasswordVersion),
    masterKey: secretVersion("masterKeyVersion", input.masterKeyVersion ?? DEFAULTS.masterKeyVersion),
    webuiSecretKey: secretVersion("webuiSecretKeyVersion", input.webuiSecretKeyVersion ?? DEFAULTS.webuiSecretKeyVersion),
  };
  return {
    profile,
    budget,
    httpPort,
    bindAddress,
    adminPort,
    publicUrl,
    dockerHost,
    dockerSshOpts,
    dockerSshHostKey,
    dockerHostMemoryMb,
    images,
    models,
    adminUsername: validate.username("adminUsername", input.adminUsername ?? DEFAULTS.adminUsername),
    adminEmail: validate.email("adminEmail", input.adminEmail ?? DEFAULTS.adminEmail),
    ephemeral: boolean("ephemeral", input.ephemeral ?? DEFAULTS.ephemeral),
    openWebuiEgress: boolean("openWebuiEgress", input.openWebuiEgress ?? DEFAULTS.openWebuiEgress),
    apiKeys,
    continueModels,
    continueKey,
    continueAnthropicTier: tier as 1 | 2 | 3 | 4,
    proxy,
    spendLogRetention: spendLogRetentionValue,
    secretVersions,
  };
}
