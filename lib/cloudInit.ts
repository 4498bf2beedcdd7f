import { stringify } from "yaml";
import { LOG_OPTIONS } from "./constants";
import { SettingError, shown, shownSecret } from "./errors";
import { parseSshPublicKey, sshAuthorizedKeys } from "./sshPublicKey";

/**
 * The cloud-init user data (`#cloud-config`) of the gateway's Hetzner server: Docker from the OS
 * packages, Docker's volumes on the Hetzner Volume, the deploy user, the stack's SSH host key, SSH
 * by key only, unattended security updates. Pure: the Vps component renders it from its settings and
 * outputs; the same options always give byte-identical text, so a change shows as a diff.
 *
 * Supported images (SUPPORTED_IMAGES): the text is the same for each, because both ship Docker as
 * `docker.io`, unattended upgrades as `unattended-upgrades`, systemd, OpenSSH with sshd_config.d and
 * cloud-init >= 25.1; the tests validate it with the cloud-init of each (scripts/cloud-init-packages.sh).
 *
 * When each part happens on the first boot (the module lists of /etc/cloud/cloud.cfg in Debian's
 * cloud-init 25.1.4 and 26.2 packages, VERIFIED; Ubuntu's is rendered from the same upstream
 * config/cloud.cfg.tmpl with the same order for these modules, INFERRED):
 * 1. init stage: `write_files` (daemon.json, the docker.service drop-in, sshd and apt settings), then
 *    `mounts` (the fstab line and `mount -a`: the volume is mounted), then `users_groups` (group
 *    `docker`, then the deploy user in it), then `ssh` (the host key);
 * 2. config stage: `set_passwords` (password login off; Debian's list), `disable_ec2_metadata` (the
 *    metadata address blocked, every boot);
 * 3. final stage: `package_update_upgrade_install` installs docker.io, whose first start therefore
 *    already sees daemon.json, the drop-in and the mounted volume; then `scripts-user` runs the
 *    `runcmd` script (written in the config stage) that enables Docker at boot (DOCKER_ENABLE_COMMAND).
 * The group comes before the package: `users_groups` runs in the init stage, long before packages are
 * installed, so the user data creates group `docker` itself (top-level `groups`); docker.io's
 * postinst only runs `addgroup --system docker` when the group does not exist yet (VERIFIED in
 * Debian trixie's docker.io 26.1.5 postinst), so the deploy user stays in the group Docker's socket belongs to.
 *
 * On later boots systemd orders it: docker.service requires the volume's mount unit
 * (RequiresMountsFor), so Docker starts only after the volume is mounted and does not start at all
 * when it is missing (`nofail` lets the server boot and be reached by SSH, while Docker, refusing to
 * start, cannot create new empty volumes on the root disk; the readiness check's `docker info` fails).
 * The same holds on the first boot if the volume is attached only after cloud-init's `mount -a`:
 * starting docker.service pulls in the mount unit, which waits for the device (systemd's default
 * device timeout, 90 s) and mounts it then (INFERRED: cc_mounts runs `systemctl daemon-reload` after
 * writing the fstab, so the mount unit exists).
 */

/** The mount point of the Hetzner Volume: Docker's volumes directory, where named volumes keep their data. */
export const DOCKER_VOLUMES_DIR = "/var/lib/docker/volumes";

/**
 * The Hetzner images the user data supports, the default first. ubuntu-24.04 is the default image of
 * Hetzner's own Terraform provider end-to-end tests; debian-13 is used in the provider's docs
 * (terraform-provider-hcloud internal/teste2e/testing.go, docs/guides; VERIFIED per
 * image-pins-and-hetzner.md §5.4). Ubuntu 24.04 ships cloud-init updated to each upstream release
 * (25.x-26.x; INFERRED), Debian 13 ships 25.1.4 (VERIFIED: Debian's trixie package).
 */
export const SUPPORTED_IMAGES = ["ubuntu-24.04", "debian-13"] as const;
export type SupportedImage = (typeof SUPPORTED_IMAGES)[number];
export const DEFAULT_IMAGE: SupportedImage = "ubuntu-24.04";

/** Docker's default log rotation for the server, the one every container of the gateway uses (LOG_OPTIONS). */
export const DOCKER_LOG_ROTATION = { maxSize: LOG_OPTIONS["max-size"], maxFile: Number(LOG_OPTIONS["max-file"]) } as const;

/** Where the user data puts each file, exported so tests and the Vps component name the same paths. */
export const CLOUD_INIT_FILES = {
  /** Docker's daemon configuration: the default log driver and rotation. */
  dockerDaemonJson: "/etc/docker/daemon.json",
  /** docker.service drop-in: Docker requires the volume's mount. */
  dockerVolumeDropIn: "/etc/systemd/system/docker.service.d/10-ai-gateway-volume.conf",
  /**
   * sshd settings. sshd keeps the first value it reads for most keywords and reads sshd_config.d in
   * name order from the top of sshd_config, so a `01-` file beats the image's and cloud-init's
   * `50-cloud-init.conf`.
   */
  sshdConfig: "/etc/ssh/sshd_config.d/01-ai-gateway.conf",
  /** apt's periodic settings; apt.conf.d is read in name order and later values win, so `90` beats `20auto-upgrades`. */
  aptPeriodic: "/etc/apt/apt.conf.d/90ai-gateway-periodic",
} as const;

/**
 * The Debian/Ubuntu packages the user data installs. Same names on both: VERIFIED in Debian trixie
 * (docker.io 26.1.5, unattended-upgrades 2.13); Ubuntu noble's docker.io and unattended-upgrades
 * (the latter preinstalled in its cloud images) INFERRED.
 */
export const DOCKER_PACKAGE = "docker.io";

/** Enables Docker's units at boot (runcmd, once per server): the engine, and so the gateway, comes back after a reboot. */
export const DOCKER_ENABLE_COMMAND = ["systemctl", "enable", "docker.service", "docker.socket"] as const;
export const UNATTENDED_UPGRADES_PACKAGE = "unattended-upgrades";

/** The server's SSH host key, generated by the stack so the Docker provider can pin it. */
export interface SshHostKey {
  /** Ed25519 private key in OpenSSH format (`-----BEGIN OPENSSH PRIVATE KEY-----`). Secret. */
  readonly privateKey: string;
  /** Its public line, `ssh-ed25519 AAAA...`. */
  readonly publicKey: string;
}

/** Docker's json-file log rotation: files of at most `maxSize` (e.g. "10m"), `maxFile` of them kept. */
export interface DockerLogRotation {
  readonly maxSize: string;
  readonly maxFile: number;
}

export interface CloudInitOptions {
  /** The user the gateway deploys as over SSH (member of group docker, no password, key login only). */
  readonly deployUser: string;
  /** OpenSSH public keys (one line each) allowed to log in as deployUser. */
  readonly sshAuthorizedKeys: readonly string[];
  /** The server's own SSH host key, generated by the stack so the Docker provider can pin it. */
  readonly sshHostKey: SshHostKey;
  /** The Linux device of the Hetzner Volume (e.g. /dev/disk/by-id/scsi-0HC_Volume_12345), formatted ext4 by Hetzner, mounted at DOCKER_VOLUMES_DIR before Docker starts. */
  readonly dataVolumeDevice: string;
  /** Docker's default json-file log rotation (DOCKER_LOG_ROTATION matches lib/constants.ts LOG_OPTIONS). */
  readonly dockerLogRotation: DockerLogRotation;
  /** Unattended security updates on (the Vps component's default: true). */
  readonly unattendedUpgrades: boolean;
}

/**
 * Accounts of Debian's base-passwd (/usr/share/base-passwd/passwd.master) and of the images' own
 * packages that a deploy user must not take over or collide with; `docker` would clash with the
 * group of that name (useradd creates a same-named group for the user).
 */
const RESERVED_USER_NAMES = new Set([
  "root",
  "daemon",
  "bin",
  "sys",
  "sync",
  "games",
  "man",
  "lp",
  "mail",
  "news",
  "uucp",
  "proxy",
  "www-data",
  "backup",
  "list",
  "irc",
  "gnats",
  "_apt",
  "nobody",
  "messagebus",
  "sshd",
  "syslog",
  "ubuntu",
  "debian",
  "docker",
]);

/**
 * The deploy user's name: a portable Linux user name (lower-case letter or `_` first, then
 * lower-case letters, digits, `_` or `-`; at most 32 characters, the utmp limit), not root nor
 * another system account of the image.
 */
export function deployUserName(key: string, value: unknown): string {
  const allowed =
    "must be a Linux user name (a-z or _ first, then a-z, 0-9, _ or -; at most 32 characters) other than root and the image's system accounts";
  if (typeof value !== "string" || !/^[a-z_][a-z0-9_-]{0,31}$/.test(value)) {
    throw new SettingError(key, shown(value), allowed);
  }
  if (RESERVED_USER_NAMES.has(value) || value.startsWith("systemd-")) {
    throw new SettingError(key, shown(value), `is a system account of the image; ${allowed}`);
  }
  return value;
}

/** Hetzner Volume devices are /dev/disk/by-id/scsi-0HC_Volume_<id> (the API's `linux_device`); any other /dev path is allowed for tests and other hosts, but nothing an fstab field cannot hold. */
function dataVolumeDevice(key: string, value: string): string {
  if (!/^\/dev\/[A-Za-z0-9._/:-]+$/.test(value) || value.includes("/../")) {
    throw new SettingError(key, shown(value), "must be a device path under /dev such as /dev/disk/by-id/scsi-0HC_Volume_12345");
  }
  return value;
}

/** Docker's size syntax for `max-size` (a number and an optional k, m or g unit, as in `docker run --log-opt max-size`). */
function dockerLogRotation(key: string, value: DockerLogRotation): DockerLogRotation {
  if (!/^[1-9][0-9]*[kmg]?$/.test(value.maxSize)) {
    throw new SettingError(`${key}.maxSize`, shown(value.maxSize), 'must be a size such as "10m" (a whole number, then k, m or g)');
  }
  if (!Number.isInteger(value.maxFile) || value.maxFile < 1 || value.maxFile > 100) {
    throw new SettingError(`${key}.maxFile`, shown(value.maxFile), "must be a whole number of files from 1 to 100");
  }
  return value;
}

const OPENSSH_PRIVATE_KEY = /^-----BEGIN OPENSSH PRIVATE KEY-----\n[A-Za-z0-9+/=\n]+\n-----END OPENSSH PRIVATE KEY-----\n?$/;

function sshHostKey(key: string, value: SshHostKey): SshHostKey {
  const publicKey = (() => {
    try {
      return parseSshPublicKey(value.publicKey);
    } catch (error) {
      throw new SettingError(`${key}.publicKey`, shown(value.publicKey), (error as Error).message);
    }
  })();
  if (publicKey.type !== "ssh-ed25519") {
    throw new SettingError(`${key}.publicKey`, shown(value.publicKey), "must be an ssh-ed25519 key");
  }
  if (!OPENSSH_PRIVATE_KEY.test(value.privateKey)) {
    throw new SettingError(
      `${key}.privateKey`,
      shownSecret(value.privateKey),
      "must be an OpenSSH private key (-----BEGIN OPENSSH PRIVATE KEY-----)",
    );
  }
  // Normalised: one trailing newline, whether or not the generator ended the PEM with one.
  return { privateKey: `${value.privateKey.replace(/\n$/, "")}\n`, publicKey: publicKey.line };
}

/** A file for cloud-init's write_files: root-owned, mode 0644, written in the init stage (before packages). */
function rootFile(path: string, content: string): Record<string, string> {
  return { path, owner: "root:root", permissions: "0644", content };
}

/** The docker.service drop-in: Docker requires (and so starts after) the mount of its volumes directory. */
export function dockerVolumeDropIn(): string {
  return [
    "# ai-gateway: Docker's volumes live on the Hetzner Volume mounted here. Docker starts only after",
    "# it is mounted and not at all without it, so it never fills an empty directory on the root disk.",
    "[Unit]",
    `RequiresMountsFor=${DOCKER_VOLUMES_DIR}`,
    "",
  ].join("\n");
}

/** sshd settings: only the deploy user, only by key, only with the stack's host key. */
export function sshdSettings(deployUser: string): string {
  return [
    "# ai-gateway: SSH by public key only, for the deploy user only; the one host key is the stack's,",
    "# which the Docker provider pins.",
    "PermitRootLogin no",
    "PasswordAuthentication no",
    "KbdInteractiveAuthentication no",
    "AuthenticationMethods publickey",
    `AllowUsers ${deployUser}`,
    "HostKey /etc/ssh/ssh_host_ed25519_key",
    "",
  ].join("\n");
}

/**
 * apt's periodic jobs (apt-daily and apt-daily-upgrade timers): refresh the lists daily and, when on,
 * run unattended-upgrade daily. Its default origins are the security archive only on both Debian
 * and Ubuntu (50unattended-upgrades; INFERRED from the packages' defaults); it does not reboot.
 */
export function aptPeriodicSettings(unattendedUpgrades: boolean): string {
  return [
    "// ai-gateway: unattended security updates " + (unattendedUpgrades ? "on" : "off") + ".",
    'APT::Periodic::Update-Package-Lists "1";',
    `APT::Periodic::Unattended-Upgrade "${unattendedUpgrades ? 1 : 0}";`,
    "",
  ].join("\n");
}

/** Docker's daemon.json: the json-file driver with the rotation, for every container that sets none. */
export function dockerDaemonJson(rotation: DockerLogRotation): string {
  return `${JSON.stringify({ "log-driver": "json-file", "log-opts": { "max-size": rotation.maxSize, "max-file": String(rotation.maxFile) } }, null, 2)}\n`;
}

/**
 * The `mounts` entry: fstab fields device, mount point, type, options, dump, pass. `nofail`: a
 * missing volume does not stop the boot (docker.service's drop-in keeps Docker off instead);
 * `discard`: Hetzner Volumes are thin-provisioned (Hetzner's docs mount them with
 * `discard,nofail,defaults`; INFERRED). Pass 2: checked by fsck after the root file system.
 */
export function dataVolumeMount(device: string): string[] {
  return [device, DOCKER_VOLUMES_DIR, "ext4", "defaults,nofail,discard", "0", "2"];
}

/**
 * Renders the `#cloud-config` user data. Validates every option (SettingError, one line). The text
 * holds the SSH host private key: the caller must treat it as a secret.
 */
export function renderCloudInit(options: CloudInitOptions): string {
  const deployUser = deployUserName("deployUser", options.deployUser);
  const authorizedKeys = sshAuthorizedKeys("sshAuthorizedKeys", options.sshAuthorizedKeys);
  const hostKey = sshHostKey("sshHostKey", options.sshHostKey);
  const device = dataVolumeDevice("dataVolumeDevice", options.dataVolumeDevice);
  const rotation = dockerLogRotation("dockerLogRotation", options.dockerLogRotation);

  const config = {
    // users_groups creates these groups before the users (see the module order above).
    groups: ["docker"],
    users: [
      {
        name: deployUser,
        groups: ["docker"],
        shell: "/bin/bash",
        lock_passwd: true,
        ssh_authorized_keys: authorizedKeys,
      },
    ],
    disable_root: true,
    ssh_pwauth: false,
    // The image's host keys are deleted and only the stack's Ed25519 key is installed; cloud-init
    // generates only missing keys of the listed types (the schema wants at least one), so none.
    ssh_deletekeys: true,
    ssh_genkeytypes: ["ed25519"],
    ssh_keys: { ed25519_private: hostKey.privateKey, ed25519_public: hostKey.publicKey },
    // The metadata address 169.254.169.254 serves this user data, host private key included, to any
    // process that asks, containers too (their traffic is routed through the host). cloud-init's
    // disable_ec2_metadata module (config stage, every boot, after the datasource was read) adds
    // `ip route add prohibit 169.254.169.254`, which blocks it for the host and forwarded traffic
    // alike (VERIFIED in cloud-init 25.1.4 and 26.2's cc_disable_ec2_metadata: ALL_DISTROS, PER_ALWAYS).
    disable_ec2_metadata: true,
    mounts: [dataVolumeMount(device)],
    write_files: [
      rootFile(CLOUD_INIT_FILES.dockerDaemonJson, dockerDaemonJson(rotation)),
      rootFile(CLOUD_INIT_FILES.dockerVolumeDropIn, dockerVolumeDropIn()),
      rootFile(CLOUD_INIT_FILES.sshdConfig, sshdSettings(deployUser)),
      rootFile(CLOUD_INIT_FILES.aptPeriodic, aptPeriodicSettings(options.unattendedUpgrades)),
    ],
    package_update: true,
    // No full upgrade on the first boot: it would add minutes to every server creation and may leave
    // a kernel waiting for a reboot; unattended-upgrades applies security fixes within a day.
    package_upgrade: false,
    packages: options.unattendedUpgrades ? [DOCKER_PACKAGE, UNATTENDED_UPGRADES_PACKAGE] : [DOCKER_PACKAGE],
    // Docker starts at every boot, and with it every container (restart unless-stopped): after a
    // reboot the gateway comes back by itself. docker.io's postinst already enables both units on a
    // new install (dh_installsystemd; VERIFIED in Debian trixie's 26.1.5, docker.service
    // WantedBy=multi-user.target); written out so that it does not rest on a package default.
    // The runcmd module writes it as a script that scripts-user runs in the final stage, after
    // package-update-upgrade-install (VERIFIED in cloud-init 25.1.4's and 26.2's cloud.cfg).
    runcmd: [DOCKER_ENABLE_COMMAND],
  };
  const header = [
    "#cloud-config",
    "# ai-gateway VPS user data (lib/cloudInit.ts). It holds the server's SSH host private key: keep it secret.",
    "",
  ].join("\n");
  // YAML 1.1, the version cloud-init's PyYAML reads: a deploy user named "on" or "no" must be quoted,
  // or it reads as a boolean (YAML 1.2, the library's default, would leave it plain). No folding:
  // long key lines stay on one line.
  return header + stringify(config, { version: "1.1", lineWidth: 0 });
}
