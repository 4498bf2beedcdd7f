import * as hcloud from "@pulumi/hcloud";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { DOCKER_LOG_ROTATION, renderCloudInit } from "../lib/cloudInit";
import { firewallRules, SSH_FROM_ANYWHERE_LABEL } from "../lib/firewall";
import { monthlyPrice } from "../lib/hetzner";
import { HCLOUD_DEFAULT_ENDPOINT, HcloudApiAccess } from "../lib/hcloudServerPower";
import { ed25519HostKey } from "../lib/sshHostKeyPair";
import { sshCommandLine } from "../lib/adminAccess";
import { resolveVpsSettings, VpsSettings, VpsSettingsInput } from "../lib/vpsSettings";
import { ProfileName } from "../profiles";
import { DeployedDockerHost } from "./dockerEndpoint";
import { HostReady } from "./hostReady";

export interface VpsArgs extends Omit<VpsSettingsInput, "vps"> {
  /** Hetzner names: the server `${namePrefix}`, the rest `${namePrefix}-<what>`. Required. */
  readonly namePrefix: string;
  /** The gateway's profile: the default server type and the capacity check follow it. Required. */
  readonly profile: ProfileName;
  /** A preview stack: no protection by default, and the volume is deleted with the stack. Default false. */
  readonly ephemeral?: boolean;
  /** TCP ports the gateway publishes on every interface (nginx's); the firewall opens them to vpsPublicAllowedCidrs. Default none. */
  readonly publicPorts?: readonly number[];
  /** Extra ssh options (dockerSshOpts, allow-listed), e.g. `-i <deploy key>`, for the readiness gate. Default none. */
  readonly sshOpts?: readonly string[];
  /**
   * The Hetzner Cloud API the readiness gate starts a powered-off server through (after a type
   * change). Default the hcloud provider's settings: hcloud:endpoint (or HCLOUD_ENDPOINT, else
   * Hetzner's public API) and hcloud:token (or HCLOUD_TOKEN).
   */
  readonly hcloud?: pulumi.Input<HcloudApiAccess>;
  /** Labels on every Hetzner object, e.g. { "ai-gateway": "<stack>" }. Default none. */
  readonly labels?: Readonly<Record<string, string>>;
}

/** The hcloud provider's own endpoint and token settings, where it reads them. */
function hcloudProviderAccess(): pulumi.Output<HcloudApiAccess> {
  const config = new pulumi.Config("hcloud");
  const token = config.getSecret("token") ?? pulumi.secret(process.env.HCLOUD_TOKEN ?? "");
  const endpoint = config.get("endpoint") ?? process.env.HCLOUD_ENDPOINT ?? HCLOUD_DEFAULT_ENDPOINT;
  return pulumi.secret(pulumi.all([token]).apply(([t]) => ({ endpoint, token: t })));
}

/** Hetzner server names are host names (RFC 1123): no `_`, which Docker names allow. */
function serverName(namePrefix: string): string {
  return namePrefix.replace(/_/g, "-");
}

/**
 * The gateway's Hetzner Cloud server: its SSH key, a cloud firewall, a primary IPv4 address of its
 * own (kept when the server is rebuilt), a Volume where Docker keeps its volumes (the gateway's
 * data outlives the server), the server with cloud-init user data (Docker from the OS packages,
 * the deploy user, the stack's SSH host key), and a readiness gate whose outputs are the
 * endpoint the Gateway deploys to in the same `pulumi up`.
 *
 * What replaces what: a new image, location or SSH key replaces the server (Hetzner cannot change
 * them in place); a new server type resizes it in place (with a reboot); the user data is read on
 * the first boot only, so a change to it is ignored rather than rebuilding the server (re-provision
 * explicitly: README). With protection (default unless ephemeral), Pulumi refuses to replace or
 * delete the server, its address or the volume, and Hetzner refuses to delete or rebuild them.
 */
export class Vps extends pulumi.ComponentResource {
  public readonly settings: VpsSettings;
  public readonly sshKeyId: pulumi.Output<string>;
  public readonly firewall: hcloud.Firewall;
  public readonly ipv4: hcloud.PrimaryIp;
  public readonly volume: hcloud.Volume;
  public readonly server: hcloud.Server;
  public readonly ready: HostReady;
  /** The server's address. */
  public readonly ipv4Address: pulumi.Output<string>;
  /** The endpoint and pinned key to deploy to, known once the server is ready (Gateway's deployedHost). */
  public readonly deployedHost: DeployedDockerHost;
  /** `ssh deploy@<address>` with the pinned host key, for a person. */
  public readonly sshCommand: pulumi.Output<string>;
  /** The server type's monthly list price. */
  public readonly monthlyPrice: string;

  constructor(name: string, args: VpsArgs, opts?: pulumi.ComponentResourceOptions) {
    // Checked before anything is registered (the API token is the provider's: lib/config.ts checks the stack's).
    const settings = resolveVpsSettings({ ...args, vps: true }, { profile: args.profile, ephemeral: args.ephemeral ?? false })!;
    super("ai-gateway:index:Vps", name, {}, opts);
    this.settings = settings;
    const labels = { ...args.labels };
    const protection = settings.protection;
    // Pulumi's protect next to Hetzner's: a preview that would replace or delete them fails, loudly.
    const protect = { parent: this, protect: protection };

    // The host key is generated here so it can be pinned before the server exists; the seed stays
    // in state (secret), so the key, and the pin, are the same on every run.
    const hostKeySeed = new random.RandomBytes(`${name}-host-key`, { length: 32 }, { parent: this });
    const hostKey = pulumi.secret(
      hostKeySeed.base64.apply((seed) => ed25519HostKey(Buffer.from(seed, "base64"), serverName(args.namePrefix))),
    );
    const hostPublicKey = pulumi.unsecret(hostKey.apply((key) => key.publicKey.split(" ").slice(0, 2).join(" ")));

    // A key at Hetzner, so the server is created without a root password (Hetzner emails one otherwise).
    let deployKeys: pulumi.Output<string[]>;
    if (settings.sshKeyName !== undefined) {
      const existing = hcloud.getSshKeyOutput({ name: settings.sshKeyName }, { parent: this });
      this.sshKeyId = existing.apply(({ id }) => {
        if (id === undefined) {
          throw new Error(`vpsSshKeyName: the Hetzner project has no SSH key named ${settings.sshKeyName}`);
        }
        return String(id);
      });
      deployKeys = existing.publicKey.apply((key) => [key, ...settings.sshPublicKeys]);
    } else {
      const sshKey = new hcloud.SshKey(
        `${name}-ssh-key`,
        { name: `${args.namePrefix}-deploy`, publicKey: settings.sshPublicKeys[0], labels },
        { parent: this },
      );
      this.sshKeyId = sshKey.id;
      deployKeys = pulumi.output([...settings.sshPublicKeys]);
    }

    this.firewall = new hcloud.Firewall(
      `${name}-firewall`,
      {
        name: args.namePrefix,
        rules: firewallRules({
          sshAllowedCidrs: settings.sshAllowedCidrs,
          sshFromAnywhere: settings.sshFromAnywhere,
          publicAllowedCidrs: settings.publicAllowedCidrs,
          publicPorts: args.publicPorts ?? [],
        }),
        labels: settings.sshFromAnywhere ? { ...labels, [SSH_FROM_ANYWHERE_LABEL]: "true" } : labels,
      },
      { parent: this },
    );

    // Not deleted with the server (autoDelete false), so a rebuilt server keeps the address.
    this.ipv4 = new hcloud.PrimaryIp(
      `${name}-ipv4`,
      {
        name: `${args.namePrefix}-ipv4`,
        type: "ipv4",
        assigneeType: "server",
        autoDelete: false,
        location: settings.location,
        deleteProtection: protection,
        labels,
      },
      protect,
    );

    // Formatted by Hetzner, mounted by the user data at Docker's volumes directory; kept on
    // destroy unless the stack is ephemeral (Hetzner's server backups do not include volumes).
    this.volume = new hcloud.Volume(
      `${name}-data`,
      {
        name: `${args.namePrefix}-data`,
        size: settings.volumeSizeGb,
        location: settings.location,
        format: "ext4",
        automount: false,
        deleteProtection: protection,
        labels,
      },
      { ...protect, retainOnDelete: !(args.ephemeral ?? false) },
    );

    const userData = pulumi.secret(
      pulumi.all([hostKey, deployKeys, this.volume.linuxDevice]).apply(([key, keys, device]) =>
        renderCloudInit({
          deployUser: settings.deployUser,
          sshAuthorizedKeys: keys,
          sshHostKey: key,
          dataVolumeDevice: device,
          dockerLogRotation: DOCKER_LOG_ROTATION,
          unattendedUpgrades: true,
        }),
      ),
    );

    this.server = new hcloud.Server(
      `${name}-server`,
      {
        name: serverName(args.namePrefix),
        serverType: settings.serverType,
        image: settings.image,
        location: settings.location,
        sshKeys: [this.sshKeyId],
        firewallIds: [this.firewall.id.apply(Number)],
        // IPv4 only: ghcr.io, where LiteLLM's and Open WebUI's images come from, has no IPv6.
        publicNets: [{ ipv4Enabled: true, ipv4: this.ipv4.id.apply(Number), ipv6Enabled: false }],
        userData,
        backups: settings.backups,
        deleteProtection: protection,
        rebuildProtection: protection,
        // Docker and PostgreSQL stop cleanly (ACPI shutdown) before the server is deleted.
        shutdownBeforeDeletion: true,
        labels,
      },
      {
        ...protect,
        // Read on the first boot only: a change must not silently rebuild the server.
        ignoreChanges: ["userData"],
        // The address and the volume belong to one server at a time: the old one goes first.
        deleteBeforeReplace: true,
      },
    );

    const attachment = new hcloud.VolumeAttachment(
      `${name}-data-attachment`,
      { serverId: this.server.id.apply(Number), volumeId: this.volume.id.apply(Number), automount: false },
      { parent: this, deleteBeforeReplace: true },
    );

    this.ipv4Address = this.ipv4.ipAddress;
    this.ready = new HostReady(
      `${name}-ready`,
      {
        dockerHost: pulumi.interpolate`ssh://${settings.deployUser}@${this.ipv4Address}`,
        sshHostKey: hostPublicKey,
        sshOpts: args.sshOpts,
        serverId: this.server.id,
        serverType: this.server.serverType,
        hcloud: args.hcloud ?? hcloudProviderAccess(),
        volumeAttachmentId: attachment.id,
      },
      { parent: this },
    );
    this.deployedHost = { dockerHost: this.ready.dockerHost, sshHostKey: this.ready.sshHostKey };

    this.sshCommand = pulumi
      .all([this.ready.dockerHost, this.ready.sshHostKey])
      .apply(([dockerHost, key]) => sshCommandLine(dockerHost, key, args.sshOpts ?? []));
    this.monthlyPrice = monthlyPrice(settings.serverType, settings.location);

    this.registerOutputs({
      ipv4Address: this.ipv4Address,
      serverType: settings.serverType,
      location: settings.location,
      monthlyPrice: this.monthlyPrice,
    });
  }
}
