import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse, stringify } from "yaml";
import {
  CLOUD_INIT_FILES,
  CloudInitOptions,
  DOCKER_ENABLE_COMMAND,
  DOCKER_LOG_ROTATION,
  DOCKER_PACKAGE,
  DOCKER_VOLUMES_DIR,
  UNATTENDED_UPGRADES_PACKAGE,
  deployUserName,
  renderCloudInit,
} from "../../lib/cloudInit";
import { LOG_OPTIONS } from "../../lib/constants";
import { SettingError } from "../../lib/errors";
import { cloudInitReleases, CloudInitRelease, describeWith, requirements } from "../helpers/requirements";
import { generateSshKey, GeneratedKey } from "../helpers/sshKeys";

interface WrittenFile {
  path: string;
  content: string;
  permissions?: string;
}
interface UserData {
  groups: string[];
  users: { name: string; groups: string[]; lock_passwd: boolean; ssh_authorized_keys: string[] }[];
  ssh_keys: { ed25519_private: string; ed25519_public: string };
  mounts: string[][];
  write_files: WrittenFile[];
  packages: string[];
  runcmd?: unknown[];
  bootcmd?: unknown[];
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ai-gateway-cloudinit-"));
let fileCount = 0;
function tmpFile(name: string, content: string): string {
  const file = path.join(tmp, `${fileCount++}-${name}`);
  fs.writeFileSync(file, content);
  return file;
}

function run(command: string, args: string[], env?: NodeJS.ProcessEnv): { status: number | null; output: string } {
  const result = spawnSync(command, args, { encoding: "utf8", env: { ...process.env, ...env }, timeout: 60000 });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

function file(userData: UserData, filePath: string): WrittenFile {
  const found = userData.write_files.find((f) => f.path === filePath);
  if (!found) {
    throw new Error(`no ${filePath} in write_files`);
  }
  return found;
}

let hostKey: GeneratedKey;
let keys: string[];
function options(overrides: Partial<CloudInitOptions> = {}): CloudInitOptions {
  return {
    deployUser: "deploy",
    sshAuthorizedKeys: [keys[0]],
    sshHostKey: { privateKey: hostKey.privateKey, publicKey: hostKey.publicKey },
    dataVolumeDevice: "/dev/disk/by-id/scsi-0HC_Volume_12345",
    dockerLogRotation: DOCKER_LOG_ROTATION,
    unattendedUpgrades: true,
    ...overrides,
  };
}

/** A unit directory with a stand-in docker.service and the given drop-in in docker.service.d, for systemd-analyze verify. */
function dockerServiceWithDropIn(dropIn: string): string {
  const units = fs.mkdtempSync(path.join(tmp, "units-"));
  fs.writeFileSync(path.join(units, "docker.service"), "[Unit]\nDescription=Docker stand-in\n[Service]\nExecStart=/bin/true\n");
  fs.mkdirSync(path.join(units, "docker.service.d"));
  fs.writeFileSync(path.join(units, "docker.service.d", path.basename(CLOUD_INIT_FILES.dockerVolumeDropIn)), dropIn);
  return units;
}

/** systemd's generator that turns /etc/fstab into mount units at boot (package systemd). */
const SYSTEMD_FSTAB_GENERATOR = "/lib/systemd/system-generators/systemd-fstab-generator";

/**
 * Every option combination that changes the text: unattended upgrades on/off × one or several keys
 * (one of each type), plus a deploy user whose name is a YAML 1.1 boolean word. The images share one text.
 */
function combinations(): [string, CloudInitOptions][] {
  const all = [true, false].flatMap((unattendedUpgrades) =>
    [keys.slice(0, 1), keys].map((sshAuthorizedKeys): [string, CloudInitOptions] => [
      `unattended upgrades ${unattendedUpgrades ? "on" : "off"}, ${sshAuthorizedKeys.length} key(s)`,
      options({ unattendedUpgrades, sshAuthorizedKeys }),
    ]),
  );
  return [...all, ['deploy user "on"', options({ deployUser: "on" })]];
}

beforeAll(() => {
  hostKey = generateSshKey("ed25519", undefined, "");
  keys = [generateSshKey("ed25519").publicKey, generateSshKey("ecdsa", 384).publicKey, generateSshKey("rsa", 3072).publicKey];
});

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describeWith("cloud-init user data: the text", [requirements.sshKeygen()], () => {
  test("is a #cloud-config document, deterministic: the same options give byte-identical text, another key another text", () => {
    const text = renderCloudInit(options());
    expect(text.startsWith("#cloud-config\n")).toBe(true);
    expect(renderCloudInit({ ...options(), sshAuthorizedKeys: [...options().sshAuthorizedKeys] })).toBe(text);
    expect(renderCloudInit(options({ sshAuthorizedKeys: [keys[1]] }))).not.toBe(text);
  });

  test("holds what the server needs: user in group docker, the host key, the volume at Docker's volumes directory, log rotation", () => {
    const userData = parse(renderCloudInit(options({ sshAuthorizedKeys: keys }))) as UserData;
    expect(userData.groups).toEqual(["docker"]);
    expect(userData.users).toEqual([
      expect.objectContaining({ name: "deploy", groups: ["docker"], lock_passwd: true, ssh_authorized_keys: keys }),
    ]);
    expect(userData.ssh_keys).toEqual({ ed25519_private: hostKey.privateKey, ed25519_public: hostKey.publicKey });
    expect(userData.mounts).toEqual([
      ["/dev/disk/by-id/scsi-0HC_Volume_12345", DOCKER_VOLUMES_DIR, "ext4", expect.stringContaining("nofail"), "0", "2"],
    ]);
    expect(JSON.parse(file(userData, CLOUD_INIT_FILES.dockerDaemonJson).content)).toEqual({
      "log-driver": "json-file",
      "log-opts": LOG_OPTIONS,
    });
  });

  test("installs unattended-upgrades only when on", () => {
    expect((parse(renderCloudInit(options({ unattendedUpgrades: true }))) as UserData).packages).toEqual([
      DOCKER_PACKAGE,
      UNATTENDED_UPGRADES_PACKAGE,
    ]);
    expect((parse(renderCloudInit(options({ unattendedUpgrades: false }))) as UserData).packages).toEqual([DOCKER_PACKAGE]);
  });

  test("enables Docker's units at boot (runcmd), so that after a reboot the engine and the gateway's containers come back", () => {
    for (const [, combination] of combinations()) {
      expect((parse(renderCloudInit(combination)) as UserData).runcmd).toEqual([
        ["systemctl", "enable", "docker.service", "docker.socket"],
      ]);
    }
  });

  test("the host key's private half is the public half's (ssh-keygen -y)", () => {
    const userData = parse(renderCloudInit(options())) as UserData;
    const keyFile = tmpFile("hostkey", userData.ssh_keys.ed25519_private);
    fs.chmodSync(keyFile, 0o600);
    expect(execFileSync("ssh-keygen", ["-y", "-f", keyFile], { encoding: "utf8" }).trim()).toBe(userData.ssh_keys.ed25519_public);
  });

  test.each<[string, Partial<CloudInitOptions>, RegExp]>([
    ["root as deploy user", { deployUser: "root" }, /deployUser = "root": is a system account/],
    ["an invalid user name", { deployUser: "Deploy User" }, /deployUser = "Deploy User": must be a Linux user name/],
    ["no authorized key", { sshAuthorizedKeys: [] }, /sshAuthorizedKeys = \[\]: must be a non-empty list/],
    ["a bad authorized key", { sshAuthorizedKeys: ["ssh-ed25519 AAAA"] }, /sshAuthorizedKeys\[0\]/],
    ["a host key that is not Ed25519", { sshHostKey: { privateKey: "x", publicKey: "" } }, /sshHostKey\.publicKey/],
    ["a device outside /dev", { dataVolumeDevice: "/mnt/data" }, /dataVolumeDevice = "\/mnt\/data": must be a device path under \/dev/],
    ["a device with a space", { dataVolumeDevice: "/dev/sdb 1" }, /dataVolumeDevice/],
    ["a log size Docker cannot read", { dockerLogRotation: { maxSize: "10 MB", maxFile: 3 } }, /dockerLogRotation\.maxSize = "10 MB"/],
    ["no log file", { dockerLogRotation: { maxSize: "10m", maxFile: 0 } }, /dockerLogRotation\.maxFile = 0/],
  ])("refuses %s with one line", (_, override, message) => {
    expect(() => renderCloudInit(options(override))).toThrow(SettingError);
    expect(() => renderCloudInit(options(override))).toThrow(message);
  });

  test("refuses a host private key that is not OpenSSH's, without showing it", () => {
    const privateKey = "-----BEGIN PRIVATE KEY-----\nsecretsecret\n-----END PRIVATE KEY-----\n";
    expect(() => renderCloudInit(options({ sshHostKey: { privateKey, publicKey: hostKey.publicKey } }))).toThrow(
      /sshHostKey\.privateKey = \[secret, \d+ characters\]: must be an OpenSSH private key/,
    );
  });
});

describe("deployUserName", () => {
  test.each(["deploy", "gateway", "_ops", "ai-gateway", "a".repeat(32)])("accepts %s", (name) => {
    expect(deployUserName("vps.deployUser", name)).toBe(name);
  });
  test.each(["root", "docker", "nobody", "ubuntu", "systemd-network", "", "1deploy", "Deploy", "de ploy", "a".repeat(33), "deploy$", 7])(
    "refuses %s",
    (name) => {
      expect(() => deployUserName("vps.deployUser", name)).toThrow(SettingError);
    },
  );
});

/** `cloud-init schema --annotate`: its exit status and everything it printed. */
function schemaCheck(release: CloudInitRelease, text: string): { status: number | null; output: string } {
  return run(release.bin, ["schema", "--config-file", tmpFile("user-data.yaml", text), "--annotate"]);
}

describeWith("cloud-init user data: Debian's real `cloud-init schema`", [requirements.cloudInit(), requirements.sshKeygen()], () => {
  const releases = cloudInitReleases();

  test.each(releases.map((r): [string, CloudInitRelease] => [`${r.suite} ${r.version}`, r]))(
    "cloud-init %s accepts every option combination, without a deprecation",
    (_, release) => {
      for (const [name, combination] of combinations()) {
        const { status, output } = schemaCheck(release, renderCloudInit(combination));
        expect({ name, status, output }).toEqual({ name, status: 0, output: expect.stringContaining("Valid schema") });
        expect(output).not.toMatch(/deprecat|error|warn/i);
      }
    },
  );

  test.each(releases.map((r): [string, CloudInitRelease] => [`${r.suite} ${r.version}`, r]))(
    "cloud-init %s refuses a broken document and reports a deprecated key (the check can fail)",
    (_, release) => {
      const userData = parse(renderCloudInit(options())) as Record<string, unknown> & UserData;
      // Wrong types, and (separately: cloud-init then reports only that) a misspelt module key.
      const brokenDocuments: [Record<string, unknown>, RegExp][] = [
        [
          { ...userData, package_update: "yes", users: [{ ...userData.users[0], lock_passwd: "yes" }] },
          /E1: 'yes' is not of type 'boolean'\n# E2: 'yes' is not of type 'boolean'/,
        ],
        [{ ...userData, mount: userData.mounts }, /'mount' was unexpected/],
      ];
      for (const [broken, message] of brokenDocuments) {
        const { status, output } = schemaCheck(release, `#cloud-config\n${stringify(broken, { version: "1.1", lineWidth: 0 })}`);
        expect(status).not.toBe(0);
        expect(output).toMatch(message);
      }
      // A deprecated key passes ("Valid schema", status 0) but is reported: what the check above rejects.
      const withDeprecatedKey: Record<string, unknown> = { ...userData, apt_update: true };
      delete withDeprecatedKey.package_update;
      const deprecated = schemaCheck(release, `#cloud-config\n${stringify(withDeprecatedKey, { version: "1.1", lineWidth: 0 })}`);
      expect(deprecated).toEqual({
        status: 0,
        output: expect.stringMatching(/Deprecated in version 22\.2\. Use \*\*package_update\*\* instead/),
      });
    },
  );
});

/** Runs one of cloud-init's config modules (tests/fixtures/cloud-init/run-module.py) on the user data inside `root`; commands are printed, not run. */
function runCloudInitModule(
  release: CloudInitRelease,
  module: string,
  userData: string,
  root: string,
): { status: number | null; output: string } {
  const pythonPath = path.join(path.dirname(path.dirname(release.bin)), "root", "usr", "lib", "python3", "dist-packages");
  const runModule = path.join(__dirname, "..", "fixtures", "cloud-init", "run-module.py");
  return run("/usr/bin/python3", [runModule, module, tmpFile("user-data.yaml", userData), root], { PYTHONPATH: pythonPath });
}

describeWith("cloud-init user data: cloud-init's own modules run on it", [requirements.cloudInit(), requirements.sshKeygen()], () => {
  test.each(cloudInitReleases().map((r): [string, CloudInitRelease] => [`${r.suite} ${r.version}`, r]))(
    "cloud-init %s: write_files writes each file byte for byte, mode 0644, owned by root",
    (_, release) => {
      for (const unattendedUpgrades of [true, false]) {
        const text = renderCloudInit(options({ unattendedUpgrades }));
        const root = fs.mkdtempSync(path.join(tmp, "root-"));
        const ran = runCloudInitModule(release, "cc_write_files", text, root);
        const expected = (parse(text) as UserData).write_files;
        expect(ran).toEqual({ status: 0, output: expected.map((f) => `chown root:root ${f.path}\n`).join("") });
        for (const { path: filePath, content } of expected) {
          expect(fs.readFileSync(path.join(root, filePath), "utf8")).toBe(content);
          expect(fs.statSync(path.join(root, filePath)).mode & 0o7777).toBe(0o644);
        }
      }
    },
  );

  test.each(cloudInitReleases().map((r): [string, CloudInitRelease] => [`${r.suite} ${r.version}`, r]))(
    "cloud-init %s: runcmd writes the script that enables Docker at boot, which scripts-user runs after docker.io is installed",
    (_, release) => {
      const root = fs.mkdtempSync(path.join(tmp, "root-"));
      expect(runCloudInitModule(release, "cc_runcmd", renderCloudInit(options()), root)).toEqual({ status: 0, output: "" });
      const script = path.join(root, "var", "lib", "cloud", "instance", "scripts", "runcmd");
      expect(fs.readFileSync(script, "utf8")).toBe(`#!/bin/sh\n${DOCKER_ENABLE_COMMAND.map((word) => `'${word}'`).join(" ")}\n`);
      expect(fs.statSync(script).mode & 0o777).toBe(0o700);
      // The release's module order (/etc/cloud/cloud.cfg): the runcmd module writes the script in the
      // config stage; the final stage installs the packages first, then runs the script.
      const cloudCfg = parse(
        fs.readFileSync(path.join(path.dirname(path.dirname(release.bin)), "root", "etc", "cloud", "cloud.cfg"), "utf8"),
      ) as Record<string, string[]>;
      expect(cloudCfg.cloud_config_modules).toContain("runcmd");
      const final = cloudCfg.cloud_final_modules;
      expect(final.indexOf("package-update-upgrade-install")).toBeGreaterThanOrEqual(0);
      expect(final.indexOf("scripts-user")).toBeGreaterThan(final.indexOf("package-update-upgrade-install"));
    },
  );

  test.each(cloudInitReleases().map((r): [string, CloudInitRelease] => [`${r.suite} ${r.version}`, r]))(
    "cloud-init %s: disable_ec2_metadata blocks the metadata address (which serves the user data, host private key included) after cloud-init has read it",
    (_, release) => {
      const root = fs.mkdtempSync(path.join(tmp, "root-"));
      expect(runCloudInitModule(release, "cc_disable_ec2_metadata", renderCloudInit(options()), root)).toEqual({
        status: 0,
        output: "ip route add prohibit 169.254.169.254\n",
      });
      const without = parse(renderCloudInit(options())) as Record<string, unknown>;
      delete without.disable_ec2_metadata;
      expect(runCloudInitModule(release, "cc_disable_ec2_metadata", stringify(without, { version: "1.1" }), root)).toEqual({
        status: 0,
        output: "",
      });
    },
  );
});

describeWith(
  "cloud-init user data: cloud-init's own mounts module writes the fstab",
  [requirements.cloudInit(), requirements.sshKeygen(), requirements.systemd()],
  () => {
    const releases = cloudInitReleases();
    const imageRootLine = "UUID=0e4d8d9e-4d51-4f4e-8a8c-2f1f3e2d1c0b\t/\text4\tdiscard,errors=remount-ro\t0\t1";
    const device = "/dev/disk/by-id/scsi-0HC_Volume_12345";
    const eachRelease = releases.map((r): [string, CloudInitRelease] => [`${r.suite} ${r.version}`, r]);

    /** Runs cloud-init's mounts module on the user data over an image's fstab; returns the fstab file, the root its mount points were made under, and the commands it ran. */
    function cloudInitFstab(release: CloudInitRelease): { fstabFile: string; root: string; commands: string } {
      const root = fs.mkdtempSync(path.join(tmp, "root-"));
      fs.mkdirSync(path.join(root, "etc"));
      const fstabFile = path.join(root, "etc", "fstab");
      fs.writeFileSync(fstabFile, `${imageRootLine}\n`);
      const ran = runCloudInitModule(release, "cc_mounts", renderCloudInit(options({ dataVolumeDevice: device })), root);
      expect(ran.status).toBe(0);
      return { fstabFile, root, commands: ran.output };
    }

    test.each(eachRelease)(
      "cloud-init %s: the volume's line is added to the image's fstab, its mount point made, `mount -a` run; libmount reads the line (findmnt --verify)",
      (_, release) => {
        const { fstabFile, root, commands } = cloudInitFstab(release);
        expect(commands).toContain("mount -a\n");
        const fstab = fs.readFileSync(fstabFile, "utf8").split("\n");
        const [volumeDevice, mountPoint, type, mountOptions, dump, pass] = fstab[1].split("\t");
        expect(fstab[0]).toBe(imageRootLine);
        expect([volumeDevice, mountPoint, type, dump, pass]).toEqual([device, DOCKER_VOLUMES_DIR, "ext4", "0", "2"]);
        expect(mountOptions.split(",")).toEqual(expect.arrayContaining(["nofail", "discard"]));
        expect(fs.statSync(path.join(root, DOCKER_VOLUMES_DIR)).isDirectory()).toBe(true);

        // libmount's verdict on the volume's line, with the mount point under the test's root (it must exist).
        const findmntVerify = (line: string): string =>
          run("findmnt", [
            "--verify",
            "--verbose",
            "--tab-file",
            tmpFile("fstab", `${line.replace(`\t${DOCKER_VOLUMES_DIR}\t`, `\t${root}${DOCKER_VOLUMES_DIR}\t`)}\n`),
          ]).output;
        const verified = findmntVerify(fstab[1]);
        expect(verified).toContain("0 parse errors, 0 errors,");
        expect(verified).toContain("[ ] FS options: discard\n");
        expect(verified).toContain("[ ] userspace options: nofail,comment=cloudconfig\n");
        // The Hetzner device is absent here: a warning, not an error (findmnt does not judge nofail).
        expect(verified).toContain(`[W] unreachable source: ${device}`);
        expect(findmntVerify(`${device}\t${DOCKER_VOLUMES_DIR}`)).toMatch(/1 parse error/);
      },
    );

    test.each(eachRelease)(
      "cloud-init %s's fstab through systemd's fstab generator: the volume's mount unit is only wanted at boot (nofail), and docker.service with the drop-in verifies against it",
      (_, release) => {
        const { fstabFile } = cloudInitFstab(release);
        const generated = fs.mkdtempSync(path.join(tmp, "generator-"));
        const [normal, early, late] = ["normal", "early", "late"].map((dir) => path.join(generated, dir));
        [normal, early, late].forEach((dir) => fs.mkdirSync(dir));
        const ran = run(SYSTEMD_FSTAB_GENERATOR, [normal, early, late], { SYSTEMD_FSTAB: fstabFile });
        expect(ran.status).toBe(0);
        const mountUnit = "var-lib-docker-volumes.mount";
        const unit = fs.readFileSync(path.join(normal, mountUnit), "utf8");
        expect(unit).toContain(`\nWhere=${DOCKER_VOLUMES_DIR}\n`);
        expect(unit).toContain(`\nWhat=${device}\n`);
        // nofail: local-fs.target (and so the boot) wants the mount but does not require it.
        expect(fs.existsSync(path.join(normal, "local-fs.target.wants", mountUnit))).toBe(true);
        expect(fs.existsSync(path.join(normal, "local-fs.target.requires", mountUnit))).toBe(false);
        // ... while the image's root file system (no nofail) is required.
        expect(fs.existsSync(path.join(normal, "local-fs.target.requires", "-.mount"))).toBe(true);

        const units = dockerServiceWithDropIn(
          file(parse(renderCloudInit(options())) as UserData, CLOUD_INIT_FILES.dockerVolumeDropIn).content,
        );
        const verified = run("systemd-analyze", ["verify", path.join(units, "docker.service"), path.join(normal, mountUnit)], {
          SYSTEMD_UNIT_PATH: `${units}:${normal}:`,
        });
        expect(verified).toEqual({ status: 0, output: "" });
      },
    );
  },
);

/** Shell run by cloud-init: runcmd and bootcmd entries, and files written executable or starting with #!. */
function shellParts(userData: UserData): string[] {
  const commands = [...(userData.bootcmd ?? []), ...(userData.runcmd ?? [])].map((entry) =>
    Array.isArray(entry) ? entry.map((word) => `'${String(word).replace(/'/g, `'\\''`)}'`).join(" ") : String(entry),
  );
  const scripts = userData.write_files
    .filter((f) => f.content.startsWith("#!") || /[1357]/.test(f.permissions ?? ""))
    .map((f) => f.content);
  return [...commands.map((command) => `#!/bin/sh\n${command}\n`), ...scripts];
}

describeWith("cloud-init user data: shell parts pass shellcheck", [requirements.shellcheck(), requirements.sshKeygen()], () => {
  function shellcheck(script: string): { status: number | null; output: string } {
    return run("shellcheck", ["-s", "sh", tmpFile("part.sh", script)]);
  }

  test("every shell part of every combination passes `shellcheck -s sh` (today runcmd's enable of Docker; no bootcmd or script)", () => {
    for (const [, combination] of combinations()) {
      const userData = parse(renderCloudInit(combination)) as UserData;
      const parts = shellParts(userData);
      expect(parts).toHaveLength(1);
      for (const part of parts) {
        expect(shellcheck(part)).toEqual({ status: 0, output: "" });
      }
      expect(userData.write_files.map((f) => f.permissions)).toEqual(["0644", "0644", "0644", "0644"]);
    }
  });

  test("the extraction finds shell in runcmd, bootcmd and scripts, and shellcheck refuses a bad one", () => {
    const userData = parse(renderCloudInit(options())) as UserData;
    const withShell: UserData = {
      ...userData,
      bootcmd: [["echo", "it's"]],
      runcmd: ["cd $DIR && ls"],
      write_files: [...userData.write_files, { path: "/usr/local/bin/x", permissions: "0755", content: "#!/bin/sh\necho ok\n" }],
    };
    const parts = shellParts(withShell);
    expect(parts).toHaveLength(3);
    expect(parts.map((part) => shellcheck(part).status)).toEqual([0, 1, 0]);
  });
});

describeWith(
  "cloud-init user data: files checked by the programs that read them",
  [requirements.sshd(), requirements.sshKeygen(), requirements.systemd()],
  () => {
    const userData = (): UserData => parse(renderCloudInit(options({ deployUser: "gateway", unattendedUpgrades: false }))) as UserData;

    test("sshd loads its drop-in with the user data's host key: root and passwords off, only the deploy user, only by key", () => {
      const data = userData();
      const keyFile = tmpFile("ssh_host_ed25519_key", data.ssh_keys.ed25519_private);
      fs.chmodSync(keyFile, 0o600);
      const config = file(data, CLOUD_INIT_FILES.sshdConfig).content.replace("/etc/ssh/ssh_host_ed25519_key", keyFile);
      const { status, output } = run("/usr/sbin/sshd", ["-T", "-f", tmpFile("sshd_config", config)]);
      expect(status).toBe(0);
      const settings = output.split("\n");
      for (const expected of [
        "permitrootlogin no",
        "passwordauthentication no",
        "kbdinteractiveauthentication no",
        "authenticationmethods publickey",
        "allowusers gateway",
        `hostkey ${keyFile}`,
      ]) {
        expect(settings).toContain(expected);
      }
      expect(settings.filter((s) => s.startsWith("hostkey "))).toEqual([`hostkey ${keyFile}`]);
      expect(run("/usr/sbin/sshd", ["-t", "-f", tmpFile("sshd_config", `${config}PermitRootLogin maybe\n`)]).status).not.toBe(0);
    });

    test("apt reads the periodic settings: unattended upgrades on or off", () => {
      for (const on of [true, false]) {
        const data = parse(renderCloudInit(options({ unattendedUpgrades: on }))) as UserData;
        const settingsFile = tmpFile("apt.conf", file(data, CLOUD_INIT_FILES.aptPeriodic).content);
        const { status, output } = run("apt-config", [
          "-c",
          settingsFile,
          "shell",
          "ON",
          "APT::Periodic::Unattended-Upgrade",
          "LISTS",
          "APT::Periodic::Update-Package-Lists",
        ]);
        expect({ status, output }).toEqual({ status: 0, output: `ON='${on ? 1 : 0}'\nLISTS='1'\n` });
      }
      expect(run("apt-config", ["-c", tmpFile("apt.conf", 'APT::Periodic::Unattended-Upgrade "1"\n'), "dump"]).status).not.toBe(0);
    });

    test("systemd reads the docker.service drop-in without a complaint (and complains about a broken one)", () => {
      const verify = (dropIn: string): { status: number | null; output: string } => {
        const units = dockerServiceWithDropIn(dropIn);
        return run("systemd-analyze", ["verify", path.join(units, "docker.service")], { SYSTEMD_UNIT_PATH: `${units}:` });
      };
      const dropIn = file(userData(), CLOUD_INIT_FILES.dockerVolumeDropIn).content;
      expect(dropIn).toContain(`RequiresMountsFor=${DOCKER_VOLUMES_DIR}\n`);
      expect(verify(dropIn)).toEqual({ status: 0, output: "" });
      expect(verify(dropIn.replace(DOCKER_VOLUMES_DIR, "var/lib/docker/volumes")).output).toMatch(
        /RequiresMountsFor= path is not absolute/,
      );
    });
  },
);
