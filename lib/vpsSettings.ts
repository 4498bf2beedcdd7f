/**
 * The settings of the Hetzner server the stack can provision (issue 10): defaults in one place,
 * validated before any resource is registered, each refusal one line naming the setting, the value
 * and what is allowed. Pure: the Vps component (components/vps.ts) only wires what this returns.
 */
import { PROFILES, ProfileName } from "../profiles";
import { checkCapacity, typeFits } from "./capacity";
import { deployUserName } from "./cloudInit";
import { SettingError, shown } from "./errors";
import { publicAllowedCidrs, SSH_FROM_ANYWHERE_KEY, sshAllowedCidrs } from "./firewall";
import {
  checkImage,
  checkLocation,
  checkServerType,
  DEFAULT_IMAGE,
  DEFAULT_LOCATION,
  defaultServerTypeIn,
  usableMemoryMb,
} from "./hetzner";
import { sshAuthorizedKeys } from "./sshPublicKey";
import * as validate from "./validation";

/** The VPS settings as the stack's config (or a library caller) gives them; every field optional. */
export interface VpsSettingsInput {
  /** Provision a Hetzner Cloud server and deploy the gateway onto it in the same `pulumi up`. Default false. */
  readonly vps?: boolean;
  /** Hetzner server type. Default: the cheapest type sold in vpsLocation that fits the profile (fsn1: small cpx22, medium cpx32, large cpx42). */
  readonly vpsServerType?: string;
  /** Hetzner location (fsn1, nbg1, hel1, ash, hil, sin). Default "fsn1". */
  readonly vpsLocation?: string;
  /** Server image, one the user data is validated for: ubuntu-24.04 or debian-13. Default "ubuntu-24.04". */
  readonly vpsImage?: string;
  /** OpenSSH public keys allowed to log in as the deploy user; the first is also the server's Hetzner SSH key. Required unless vpsSshKeyName. */
  readonly vpsSshPublicKeys?: readonly unknown[];
  /** An SSH key already in the Hetzner project, by name, used instead of registering the first of vpsSshPublicKeys. Default none. */
  readonly vpsSshKeyName?: string;
  /** Networks SSH is allowed from. Required (non-empty) unless vpsSshFromAnywhere. */
  readonly vpsSshAllowedCidrs?: readonly unknown[];
  /** Allow SSH from the whole internet. Default false. */
  readonly vpsSshFromAnywhere?: boolean;
  /** Networks the gateway's public ports are allowed from. Default everyone (0.0.0.0/0, ::/0). */
  readonly vpsPublicAllowedCidrs?: readonly unknown[];
  /** Size of the Hetzner Volume holding Docker's volumes, in GB (10-10240; it can grow, never shrink). Default 20. */
  readonly vpsVolumeSizeGb?: number;
  /** Hetzner's daily backups of the server (20% of its price; they do not cover the volume). Default false. */
  readonly vpsBackups?: boolean;
  /** The user the gateway is deployed as over SSH (member of group docker). Default "deploy". */
  readonly vpsDeployUser?: string;
  /**
   * Delete and rebuild protection at Hetzner, and Pulumi's protect, on the server, its IPv4 and the
   * volume. Default true, unless the stack is ephemeral. Turn it off (and `pulumi up`) before
   * `pulumi destroy` or an explicit re-provision.
   */
  readonly vpsProtection?: boolean;
}

/** Every default in one place. */
export const VPS_DEFAULTS = {
  location: DEFAULT_LOCATION,
  image: DEFAULT_IMAGE,
  volumeSizeGb: 20,
  backups: false,
  deployUser: "deploy",
  sshFromAnywhere: false,
} as const;

/**
 * Gateway settings whose defaults differ on a VPS: users reach it at `http://<its address>/`, so
 * nginx publishes port 80 (443 with TLS) on every interface; the cloud firewall decides who may
 * connect (the admin listener stays on 127.0.0.1). A value the stack sets still wins.
 */
export const VPS_GATEWAY_DEFAULTS = { bindAddress: "0.0.0.0", httpPort: 80 } as const;

/** Hetzner Volumes: 10 GB to 10 TB (docs.hetzner.com/cloud/volumes/overview, VERIFIED in image-pins-and-hetzner.md §5). */
export const VOLUME_SIZE_GB = { min: 10, max: 10240 } as const;

/** Hetzner API tokens are 64 characters (terraform-provider-hcloud refuses any other length). */
const TOKEN = /^[A-Za-z0-9]{64}$/;

/** The VPS settings after defaults and validation. */
export interface VpsSettings {
  readonly serverType: string;
  readonly location: string;
  readonly image: string;
  /** Normalised public key lines; empty only with sshKeyName. */
  readonly sshPublicKeys: readonly string[];
  readonly sshKeyName: string | undefined;
  readonly sshAllowedCidrs: readonly string[];
  readonly sshFromAnywhere: boolean;
  readonly publicAllowedCidrs: readonly string[];
  readonly volumeSizeGb: number;
  readonly backups: boolean;
  readonly deployUser: string;
  readonly protection: boolean;
}

/** What the VPS settings are checked against: the gateway's own settings. */
export interface VpsContext {
  readonly profile: ProfileName;
  readonly ephemeral: boolean;
}

/**
 * The Hetzner Cloud API token, which the hcloud provider reads from `hcloud:token` or HCLOUD_TOKEN:
 * required with vps, and of the form Hetzner issues, so a pasted-wrong token fails before anything
 * is registered rather than on the first API call.
 */
export function checkHcloudToken(fromConfig: string | undefined, inEnvironment: boolean): void {
  if (fromConfig === undefined && !inEnvironment) {
    throw new SettingError(
      "hcloud:token",
      "(not set)",
      "is required with vps: true: a Hetzner Cloud API token with read & write access (pulumi config set --secret hcloud:token <token>, or HCLOUD_TOKEN in the environment)",
    );
  }
  if (fromConfig !== undefined && !TOKEN.test(fromConfig)) {
    throw new SettingError(
      "hcloud:token",
      "[secret]",
      `must be a Hetzner Cloud API token: 64 letters and digits (it has ${fromConfig.length} characters)`,
    );
  }
}

function flag(key: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) {
    return fallback;
  }
  if (typeof value !== "boolean") {
    throw new SettingError(key, shown(value), "must be true or false");
  }
  return value;
}

/** The name of an SSH key in the Hetzner project (the Cloud Console's Security → SSH keys). */
function sshKeyNameSetting(value: unknown): string {
  if (typeof value === "string" && value.trim() !== "" && value.length <= 128 && !/[\r\n]/.test(value)) {
    return value;
  }
  throw new SettingError(
    "vpsSshKeyName",
    shown(value),
    "must be the name of an SSH key in the Hetzner project (Security → SSH keys), one line",
  );
}

/**
 * The VPS settings, or undefined when `vps` is off (then every other vps* setting is refused, so a
 * forgotten `vps: true` does not silently deploy to the local Docker engine).
 */
export function resolveVpsSettings(input: VpsSettingsInput, context: VpsContext): VpsSettings | undefined {
  const enabled = flag("vps", input.vps, false);
  if (!enabled) {
    // The input may be a whole stack's settings: only the vps* ones are looked at.
    const stray = (Object.keys(input) as (keyof VpsSettingsInput)[]).find(
      (key) => key.startsWith("vps") && key !== "vps" && input[key] !== undefined,
    );
    if (stray !== undefined) {
      throw new SettingError(stray, shown(input[stray]), "only applies with vps: true (a Hetzner server provisioned by the stack)");
    }
    return undefined;
  }
  const location = checkLocation("vpsLocation", input.vpsLocation ?? VPS_DEFAULTS.location);
  const profile = PROFILES[context.profile];
  const serverTypeName = input.vpsServerType ?? defaultServerTypeIn(context.profile, location);
  if (typeof serverTypeName !== "string") {
    throw new SettingError("vpsServerType", shown(serverTypeName), "must be a Hetzner server type name such as cpx32");
  }
  const serverType = checkServerType(serverTypeName, location, typeFits(profile));
  checkCapacity(
    "vpsServerType",
    serverTypeName,
    context.profile,
    profile,
    usableMemoryMb(serverType),
    `server type ${serverTypeName}`,
    location,
  );
  const image = checkImage("vpsImage", input.vpsImage ?? VPS_DEFAULTS.image);

  const sshKeyName = input.vpsSshKeyName === undefined ? undefined : sshKeyNameSetting(input.vpsSshKeyName);
  const sshPublicKeys =
    input.vpsSshPublicKeys === undefined && sshKeyName !== undefined ? [] : sshAuthorizedKeys("vpsSshPublicKeys", input.vpsSshPublicKeys);
  const sshFromAnywhere = flag(SSH_FROM_ANYWHERE_KEY, input.vpsSshFromAnywhere, VPS_DEFAULTS.sshFromAnywhere);
  const volumeSizeGb = validate.integerBetween(
    "vpsVolumeSizeGb",
    input.vpsVolumeSizeGb ?? VPS_DEFAULTS.volumeSizeGb,
    "GB",
    VOLUME_SIZE_GB.min,
    VOLUME_SIZE_GB.max,
  );

  return {
    serverType: serverType.name,
    location,
    image,
    sshPublicKeys,
    sshKeyName,
    sshAllowedCidrs: sshAllowedCidrs("vpsSshAllowedCidrs", input.vpsSshAllowedCidrs, sshFromAnywhere),
    sshFromAnywhere,
    publicAllowedCidrs: publicAllowedCidrs("vpsPublicAllowedCidrs", input.vpsPublicAllowedCidrs),
    volumeSizeGb,
    backups: flag("vpsBackups", input.vpsBackups, VPS_DEFAULTS.backups),
    deployUser: deployUserName("vpsDeployUser", input.vpsDeployUser ?? VPS_DEFAULTS.deployUser),
    protection: flag("vpsProtection", input.vpsProtection, !context.ephemeral),
  };
}
