import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { GENERATED_KEY_LENGTH } from "../lib/constants";
import { masterKey as masterKeyRule } from "../lib/validation";
import { FIRST_SECRET_VERSION, rotationKeepers, SecretVersions } from "../lib/rotation";

export interface GatewaySecretsArgs {
  /** A master key to use instead of a generated one (validated: `sk-`, 32+ characters). Default: generated. */
  readonly masterKey?: pulumi.Input<string>;
  /**
   * The generation of each rotatable generated secret (lib/rotation.ts); a raised one is generated
   * anew. A supplied masterKey is used as given, whatever its version says. Default: all 1.
   */
  readonly versions?: SecretVersions;
}

/**
 * Every secret the gateway needs, generated once and kept in the stack's state, so a re-run never
 * rotates them; only raising a rotatable secret's version (postgresPasswordVersion,
 * masterKeyVersion, webuiSecretKeyVersion) generates that one anew. All are letters and digits
 * only: the PostgreSQL password sits inside DATABASE_URL, where `@ : / # % ?` would break the URL.
 * Each output is a Pulumi secret.
 */
export class GatewaySecrets extends pulumi.ComponentResource {
  /** LiteLLM's master key (`sk-`...): admin access to LiteLLM. Never given to a client. */
  public readonly masterKey: pulumi.Output<string>;
  /**
   * LiteLLM's salt key (`sk-`...): encrypts provider credentials stored in the database. Changing it
   * makes them unreadable, so it is generated once and never rotated.
   */
  public readonly saltKey: pulumi.Output<string>;
  public readonly postgresPassword: pulumi.Output<string>;
  /** Signs Open WebUI sessions; without it Open WebUI makes a new one on every container replacement. */
  public readonly webuiSecretKey: pulumi.Output<string>;
  /** Password of LiteLLM's admin UI. */
  public readonly litellmUiPassword: pulumi.Output<string>;
  /** Password of Open WebUI's admin account. */
  public readonly openWebuiAdminPassword: pulumi.Output<string>;
  /**
   * Password of the Redis LiteLLM's workers share. Generated on every profile, so a move to a
   * profile with Redis, and back, keeps one password.
   */
  public readonly redisPassword: pulumi.Output<string>;

  constructor(name: string, args: GatewaySecretsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("ai-gateway:index:GatewaySecrets", name, {}, opts);

    const versions = args.versions ?? {
      postgresPassword: FIRST_SECRET_VERSION,
      masterKey: FIRST_SECRET_VERSION,
      webuiSecretKey: FIRST_SECRET_VERSION,
    };
    // At the first version the inputs are exactly those of the stacks deployed before versions existed.
    const generate = (suffix: string, length: number, version: number = FIRST_SECRET_VERSION): pulumi.Output<string> =>
      pulumi.secret(
        new random.RandomPassword(`${name}-${suffix}`, { length, special: false, ...rotationKeepers(version) }, { parent: this }).result,
      );
    const generateKey = (suffix: string, version?: number): pulumi.Output<string> =>
      pulumi.secret(pulumi.interpolate`sk-${generate(suffix, GENERATED_KEY_LENGTH, version)}`);

    // A plain value was checked before anything was registered; one known only at deploy time is checked here.
    this.masterKey =
      args.masterKey !== undefined
        ? pulumi.secret(pulumi.output(args.masterKey).apply((key) => masterKeyRule("masterKey", key)))
        : generateKey("master-key", versions.masterKey);
    this.saltKey = generateKey("salt-key");
    this.postgresPassword = generate("postgres-password", 32, versions.postgresPassword);
    this.webuiSecretKey = generate("webui-secret-key", 48, versions.webuiSecretKey);
    this.litellmUiPassword = generate("litellm-ui-password", 24);
    this.openWebuiAdminPassword = generate("open-webui-admin-password", 24);
    this.redisPassword = generate("redis-password", 32);

    this.registerOutputs({});
  }
}
