import * as pulumi from "@pulumi/pulumi";
import { SettingError, shown, shownSecret } from "./errors";
import { parseDockerTlsMaterial } from "./dockerEndpoint";
import { parseTlsMaterial } from "./proxySettings";
import { SettingsInput } from "./settings";
import * as validate from "./validation";
import { suppliedKeyValues } from "./virtualKeys";
import { checkHcloudToken, VpsSettingsInput } from "./vpsSettings";
import { BackupSettingsInput } from "./backupSettings";

/** What the stack's config can say: the plain settings (the VPS's too) plus the secrets. */
export interface GatewayArgsFromConfig
  extends SettingsInput, VpsSettingsInput, Omit<BackupSettingsInput, "backupS3AccessKeyId" | "backupS3SecretAccessKey"> {
  readonly masterKey?: pulumi.Output<string>;
  readonly providerApiKeys?: Readonly<Record<string, pulumi.Output<string>>>;
  readonly apiKeyValues?: Readonly<Record<string, pulumi.Output<string>>>;
  /** nginx's TLS certificate chain and key (PEM), read as secrets. */
  readonly tlsCertificate?: pulumi.Output<string>;
  readonly tlsKey?: pulumi.Output<string>;
  /** A tcp:// Docker engine's TLS: the CA, the client certificate and its key (PEM), read as secrets. */
  readonly dockerTlsCa?: pulumi.Output<string>;
  readonly dockerTlsCert?: pulumi.Output<string>;
  readonly dockerTlsKey?: pulumi.Output<string>;
  /** The S3 credentials of the backups' copy, read as secrets. */
  readonly backupS3AccessKeyId?: pulumi.Output<string>;
  readonly backupS3SecretAccessKey?: pulumi.Output<string>;
  /**
   * How long an ephemeral (preview) stack lives before `npm run preview-stack -- sweep` destroys
   * it, e.g. `12h` (lib/previewStacks.ts). Not a Gateway setting: index.ts checks it and leaves it out.
   */
  readonly previewTtl?: string;
}

/** How each stack setting is written in `Pulumi.<stack>.yaml`. */
type SettingKind = "string" | "integer" | "boolean" | "json";

interface SettingDeclaration {
  readonly kind: SettingKind;
  /** Read as a Pulumi secret and never shown in messages. */
  readonly secret?: boolean;
}

/** Every setting the program reads; anything else under the project's namespace is refused. */
export const SETTINGS: Readonly<Record<keyof GatewayArgsFromConfig, SettingDeclaration>> = {
  profile: { kind: "string" },
  budget: { kind: "string" },
  httpPort: { kind: "integer" },
  bindAddress: { kind: "string" },
  adminPort: { kind: "integer" },
  publicUrl: { kind: "string" },
  dockerHost: { kind: "string" },
  dockerSshOpts: { kind: "json" },
  dockerSshHostKey: { kind: "string" },
  dockerHostMemoryMb: { kind: "integer" },
  dockerTlsCa: { kind: "string", secret: true },
  dockerTlsCert: { kind: "string", secret: true },
  dockerTlsKey: { kind: "string", secret: true },
  litellmImage: { kind: "string" },
  openWebuiImage: { kind: "string" },
  postgresImage: { kind: "string" },
  nginxImage: { kind: "string" },
  redisImage: { kind: "string" },
  models: { kind: "json" },
  adminUsername: { kind: "string" },
  adminEmail: { kind: "string" },
  ephemeral: { kind: "boolean" },
  openWebuiEgress: { kind: "boolean" },
  apiKeys: { kind: "json" },
  continueModels: { kind: "json" },
  continueKey: { kind: "string" },
  continueAnthropicTier: { kind: "integer" },
  tls: { kind: "boolean" },
  domain: { kind: "string" },
  httpsPort: { kind: "integer" },
  adminBindAddress: { kind: "string" },
  adminAllowedCidrs: { kind: "json" },
  trustedProxies: { kind: "json" },
  apiRateLimitPerMinute: { kind: "integer" },
  tlsCertificate: { kind: "string", secret: true },
  tlsKey: { kind: "string", secret: true },
  masterKey: { kind: "string", secret: true },
  providerApiKeys: { kind: "json", secret: true },
  apiKeyValues: { kind: "json", secret: true },
  vps: { kind: "boolean" },
  vpsServerType: { kind: "string" },
  vpsLocation: { kind: "string" },
  vpsImage: { kind: "string" },
  vpsSshPublicKeys: { kind: "json" },
  vpsSshKeyName: { kind: "string" },
  vpsSshAllowedCidrs: { kind: "json" },
  vpsSshFromAnywhere: { kind: "boolean" },
  vpsPublicAllowedCidrs: { kind: "json" },
  vpsVolumeSizeGb: { kind: "integer" },
  vpsBackups: { kind: "boolean" },
  vpsDeployUser: { kind: "string" },
  vpsProtection: { kind: "boolean" },
  previewTtl: { kind: "string" },
  spendLogRetention: { kind: "string" },
  postgresPasswordVersion: { kind: "integer" },
  masterKeyVersion: { kind: "integer" },
  webuiSecretKeyVersion: { kind: "integer" },
  backups: { kind: "boolean" },
  backupInterval: { kind: "string" },
  backupKeep: { kind: "integer" },
  backupS3Endpoint: { kind: "string" },
  backupS3Bucket: { kind: "string" },
  backupS3Prefix: { kind: "string" },
  backupS3Region: { kind: "string" },
  backupS3AccessKeyId: { kind: "string", secret: true },
  backupS3SecretAccessKey: { kind: "string", secret: true },
};

function parse(key: string, raw: string, declaration: SettingDeclaration): unknown {
  const show = declaration.secret ? shownSecret(raw) : shown(raw);
  switch (declaration.kind) {
    case "string":
      return raw;
    case "integer":
      if (!/^-?[0-9]+$/.test(raw.trim())) {
        throw new SettingError(key, show, "must be a whole number");
      }
      return Number(raw.trim());
    case "boolean":
      if (raw !== "true" && raw !== "false") {
        throw new SettingError(key, show, "must be true or false");
      }
      return raw === "true";
    case "json":
      try {
        return JSON.parse(raw);
      } catch {
        throw new SettingError(key, show, "must be a YAML list or map in the stack file (it did not parse)");
      }
  }
}

/** A secret map of name to string, each value wrapped as a Pulumi secret. */
function secretMap(key: string, raw: unknown, what: string): Record<string, pulumi.Output<string>> {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new SettingError(key, "[secret]", `must be a map of ${what}`);
  }
  const values: Record<string, pulumi.Output<string>> = {};
  for (const [name, value] of Object.entries(raw)) {
    if (typeof value !== "string" || value.length === 0) {
      throw new SettingError(`${key}.${name}`, "[secret]", "must be a non-empty string");
    }
    values[name] = pulumi.secret(value);
  }
  return values;
}

/**
 * Turns the stack's raw config (strings, as Pulumi stores them) into Gateway arguments. Unknown
 * keys are refused, so a typo such as `ai-gateway:profle` fails instead of silently using a
 * default. Secrets come back wrapped as Pulumi secrets. `environment` is where the hcloud provider
 * also finds its token (HCLOUD_TOKEN).
 */
export function argsFromConfig(
  namespace: string,
  rawConfig: Readonly<Record<string, string>>,
  environment: Readonly<Record<string, string | undefined>> = {},
): GatewayArgsFromConfig {
  const prefix = `${namespace}:`;
  const values: Record<string, unknown> = {};
  for (const [fullKey, raw] of Object.entries(rawConfig)) {
    if (!fullKey.startsWith(prefix)) {
      continue;
    }
    const key = fullKey.slice(prefix.length);
    const declaration = (SETTINGS as Record<string, SettingDeclaration | undefined>)[key];
    if (!declaration) {
      throw new SettingError(
        key,
        shown(raw),
        `is not a setting of ${namespace}; known settings: ${Object.keys(SETTINGS).sort().join(", ")}`,
      );
    }
    values[key] = parse(key, raw, declaration);
  }
  const {
    masterKey,
    providerApiKeys: rawProviderKeys,
    apiKeyValues: rawKeyValues,
    tlsCertificate,
    tlsKey,
    dockerTlsCa,
    dockerTlsCert,
    dockerTlsKey,
    backupS3AccessKeyId,
    backupS3SecretAccessKey,
    ...plain
  } = values;
  if (masterKey !== undefined) {
    validate.masterKey("masterKey", String(masterKey));
  }
  // The certificate and key are parsed here, while they are still plain strings; the Gateway checks that TLS has both.
  parseTlsMaterial(typeof plain.domain === "string" ? validate.hostName("domain", plain.domain) : undefined, tlsCertificate, tlsKey);
  // Likewise the Docker engine's TLS material; the Gateway checks it against dockerHost.
  parseDockerTlsMaterial({ ca: dockerTlsCa, cert: dockerTlsCert, key: dockerTlsKey });
  // The hcloud provider's own setting, read where the provider reads it (config or environment).
  if (plain.vps === true) {
    checkHcloudToken(rawConfig["hcloud:token"], Boolean(environment.HCLOUD_TOKEN));
  }
  if (rawKeyValues !== undefined) {
    // Values are checked here, while they are still plain; the Gateway checks the names.
    suppliedKeyValues("apiKeyValues", rawKeyValues);
  }
  return {
    ...(plain as Omit<GatewayArgsFromConfig, "masterKey" | "providerApiKeys">),
    ...(masterKey !== undefined ? { masterKey: pulumi.secret(String(masterKey)) } : {}),
    ...(tlsCertificate !== undefined ? { tlsCertificate: pulumi.secret(String(tlsCertificate)) } : {}),
    ...(tlsKey !== undefined ? { tlsKey: pulumi.secret(String(tlsKey)) } : {}),
    ...(dockerTlsCa !== undefined ? { dockerTlsCa: pulumi.secret(String(dockerTlsCa)) } : {}),
    ...(dockerTlsCert !== undefined ? { dockerTlsCert: pulumi.secret(String(dockerTlsCert)) } : {}),
    ...(dockerTlsKey !== undefined ? { dockerTlsKey: pulumi.secret(String(dockerTlsKey)) } : {}),
    ...(backupS3AccessKeyId !== undefined ? { backupS3AccessKeyId: pulumi.secret(String(backupS3AccessKeyId)) } : {}),
    ...(backupS3SecretAccessKey !== undefined ? { backupS3SecretAccessKey: pulumi.secret(String(backupS3SecretAccessKey)) } : {}),
    ...(rawProviderKeys !== undefined
      ? { providerApiKeys: secretMap("providerApiKeys", rawProviderKeys, "environment variable name to API key") }
      : {}),
    ...(rawKeyValues !== undefined ? { apiKeyValues: secretMap("apiKeyValues", rawKeyValues, "key name to key value") } : {}),
  };
}
