import { SettingError, shown } from "./errors";

/**
 * The generated secrets that can be rotated by raising a version setting: the PostgreSQL password,
 * LiteLLM's master key and Open WebUI's WEBUI_SECRET_KEY. LiteLLM's salt key is not among them: it
 * encrypts the provider credentials stored in the database, which a new one could not read.
 */
export const ROTATABLE_SECRETS = ["postgresPassword", "masterKey", "webuiSecretKey"] as const;
export type RotatableSecret = (typeof ROTATABLE_SECRETS)[number];

/** The stack setting that holds each rotatable secret's version. */
export const VERSION_SETTINGS: Readonly<Record<RotatableSecret, "postgresPasswordVersion" | "masterKeyVersion" | "webuiSecretKeyVersion">> =
  {
    postgresPassword: "postgresPasswordVersion",
    masterKey: "masterKeyVersion",
    webuiSecretKey: "webuiSecretKeyVersion",
  };

/** Which generation of each rotatable secret the stack runs with. */
export type SecretVersions = Readonly<Record<RotatableSecret, number>>;

/** The version every secret starts at: the value generated at the stack's first `pulumi up`. */
export const FIRST_SECRET_VERSION = 1;

/** Far beyond any real number of rotations, so a typo (an extra digit or two) is still a number it accepts; only a wrong kind of value is refused. */
const MAX_SECRET_VERSION = 1_000_000;

/** A version setting's value: a whole number from 1 up; throws a one-line SettingError otherwise. */
export function secretVersion(key: string, value: unknown): number {
  if (typeof value === "number" && Number.isInteger(value) && value >= FIRST_SECRET_VERSION && value <= MAX_SECRET_VERSION) {
    return value;
  }
  throw new SettingError(
    key,
    shown(value),
    `must be a whole number from ${FIRST_SECRET_VERSION} to ${MAX_SECRET_VERSION} (${FIRST_SECRET_VERSION} is the first generated value; raise it by one to rotate)`,
  );
}

/**
 * The RandomPassword inputs that tie a generated secret to its version. At the first version there
 * are none, exactly as before the versions existed, so an existing stack sees no change; any other
 * version is a `keepers` entry, and a changed keeper makes the random provider generate a new value.
 * Going back to the first version removes the keeper, which is a change too: the value is new
 * again, never the old one (that is gone from the state).
 */
export function rotationKeepers(version: number): { keepers?: Record<string, string> } {
  return version === FIRST_SECRET_VERSION ? {} : { keepers: { version: String(version) } };
}

/** The Docker label that names a raised version on the containers that use that secret. */
export const VERSION_LABELS: Readonly<Record<RotatableSecret, string>> = {
  postgresPassword: "ai-gateway.postgres-password-version",
  masterKey: "ai-gateway.master-key-version",
  webuiSecretKey: "ai-gateway.webui-secret-key-version",
};

/**
 * Labels for a container that uses `secrets`: one per secret whose version was raised, none at the
 * first version (so existing containers see no change). `pulumi preview` cannot know a secret's new
 * value, which is generated during `up`, and a container whose environment is then unknown is
 * planned as unchanged; the label is known at preview, so the preview shows the replacement the
 * rotation brings.
 */
export function rotationLabels(versions: SecretVersions, secrets: readonly RotatableSecret[]): Record<string, string> {
  return Object.fromEntries(
    secrets
      .filter((secret) => versions[secret] !== FIRST_SECRET_VERSION)
      .map((secret) => [VERSION_LABELS[secret], String(versions[secret])]),
  );
}

/**
 * The versions that rotate something: a supplied master key (the `masterKey` setting) is used as
 * given, so its version is the first whatever the setting says.
 */
export function effectiveVersions(versions: SecretVersions, supplied: { readonly masterKey: boolean }): SecretVersions {
  return supplied.masterKey ? { ...versions, masterKey: FIRST_SECRET_VERSION } : versions;
}
