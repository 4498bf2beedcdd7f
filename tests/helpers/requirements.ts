/**
 * Runtime tests need real programs (nginx, PostgreSQL, a Docker engine). On a developer machine
 * without them a suite is skipped with a loud message saying what to install; in CI (CI=true) a
 * missing requirement fails the suite instead, so CI never skips.
 */
import { execFileSync } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { canUseNetns } from "./netns";
import { postgresEnv } from "../../lib/services";
import { ROOT } from "./program";

export interface Requirement {
  readonly name: string;
  readonly met: boolean;
  readonly hint: string;
}

function commandWorks(command: string, args: string[]): boolean {
  try {
    execFileSync(command, args, { stdio: "ignore", timeout: 20000 });
    return true;
  } catch {
    return false;
  }
}

/** The Debian sid root filesystem built by scripts/build-test-rootfs.sh (nginx 1.30, python3, PostgreSQL). */
export function testRootfs(): string | undefined {
  const dir = process.env.AI_GATEWAY_TEST_ROOTFS ?? path.join(ROOT, ".cache", "rootfs", "current");
  return fs.existsSync(path.join(dir, ".complete")) ? fs.realpathSync(dir) : undefined;
}

export const requirements = {
  rootfs: (): Requirement => ({
    name: "test rootfs (Debian sid with nginx 1.30)",
    met: testRootfs() !== undefined,
    hint: "run `sudo scripts/build-test-rootfs.sh` (needs debootstrap)",
  }),
  bwrap: (): Requirement => ({
    name: "bubblewrap",
    met: commandWorks("bwrap", ["--ro-bind", "/", "/", "true"]),
    hint: "apt-get install bubblewrap (and run as root, or allow unprivileged user namespaces)",
  }),
  postgres: (): Requirement => ({
    name: "PostgreSQL server binaries",
    met: postgresBinDir() !== undefined,
    hint: "apt-get install postgresql",
  }),
  docker: (): Requirement => ({
    name: "a Docker engine",
    met: commandWorks("docker", ["info"]),
    hint: "run `sudo scripts/start-dockerd.sh` (a current engine from a Debian sid rootfs)",
  }),
  dnsmasq: (): Requirement => ({
    name: "dnsmasq",
    met: commandWorks("dnsmasq", ["--version"]),
    hint: "apt-get install dnsmasq-base",
  }),
  netns: (): Requirement => ({
    name: "network namespaces (root and iproute2)",
    met: canUseNetns(),
    hint: "run the tests as root with iproute2 installed (CI does)",
  }),
  sshd: (): Requirement => ({
    name: "OpenSSH server",
    met: fs.existsSync("/usr/sbin/sshd") && process.getuid?.() === 0,
    hint: "apt-get install openssh-server, and run as root",
  }),
  python3: (): Requirement => ({ name: "python3", met: commandWorks("python3", ["--version"]), hint: "apt-get install python3" }),
  cloudInit: (): Requirement => ({
    name: `Debian's cloud-init (${CLOUD_INIT_SUITES.join(" and ")})`,
    met: cloudInitReleases().length === CLOUD_INIT_SUITES.length,
    hint: "run `scripts/cloud-init-packages.sh` (after apt-get install of the python3 packages scripts/test-all.sh lists)",
  }),
  systemd: (): Requirement => ({
    name: "systemd's tools (systemd-analyze, the fstab generator)",
    met: commandWorks("systemd-analyze", ["--version"]) && fs.existsSync("/lib/systemd/system-generators/systemd-fstab-generator"),
    hint: "apt-get install systemd",
  }),
  shellcheck: (): Requirement => ({
    name: "shellcheck",
    met: commandWorks("shellcheck", ["--version"]),
    hint: "apt-get install shellcheck",
  }),
  sshKeygen: (): Requirement => ({ name: "ssh-keygen", met: fs.existsSync("/usr/bin/ssh-keygen"), hint: "apt-get install openssh-client" }),
  actionlint: (): Requirement => ({
    name: "actionlint (built from its Go module)",
    met: actionlintBinary() !== undefined,
    hint: "run `scripts/actionlint.sh` (needs Go; scripts/test-all.sh runs it)",
  }),
  litellmVenv: (): Requirement => ({
    name: "real LiteLLM 1.110.1 in a venv",
    met: litellmVenv() !== undefined,
    hint: "run `scripts/python-packages.sh` (pip from PyPI; or set AI_GATEWAY_LITELLM_VENV)",
  }),
  s3Venv: (): Requirement => ({
    name: "moto's S3 server and boto3 in a venv",
    met: s3TestVenv() !== undefined,
    hint: "run `scripts/s3-test-packages.sh` (pip from PyPI)",
  }),
};

/** The cache directory the install scripts share (scripts/python-packages.sh, scripts/cloud-init-packages.sh). */
function aiGatewayCache(): string {
  return process.env.AI_GATEWAY_CACHE ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), ".cache"), "ai-gateway");
}

/**
 * The actionlint binary scripts/actionlint.sh built: its cache folder for the script's
 * ACTIONLINT_VERSION (any Go version), with the `.complete` marker. Undefined until built.
 */
export function actionlintBinary(): string | undefined {
  const script = fs.readFileSync(path.join(ROOT, "scripts", "actionlint.sh"), "utf8");
  const version = /^ACTIONLINT_VERSION=(\S+)$/m.exec(script)?.[1];
  const dir = path.join(aiGatewayCache(), "actionlint");
  if (!version || !fs.existsSync(dir)) {
    return undefined;
  }
  const built = fs
    .readdirSync(dir)
    .filter((name) => name.startsWith(`${version}-`) && fs.existsSync(path.join(dir, name, ".complete")))
    .sort();
  return built.length > 0 ? path.join(dir, built[built.length - 1], "actionlint") : undefined;
}

/** A real cloud-init from Debian, unpacked by scripts/cloud-init-packages.sh. */
export interface CloudInitRelease {
  /** The Debian suite it comes from: trixie (the debian-13 image's) or sid (the newest). */
  readonly suite: string;
  /** The Debian package version, e.g. 25.1.4-1+deb13u1. */
  readonly version: string;
  /** Its command: `<bin> schema --config-file <file>`. */
  readonly bin: string;
}

/** The Debian suites scripts/cloud-init-packages.sh fetches cloud-init from (its SUITES). */
export const CLOUD_INIT_SUITES = ["trixie", "sid"] as const;

/** Every cloud-init release scripts/cloud-init-packages.sh has unpacked (those whose `.complete` marker exists). */
export function cloudInitReleases(): CloudInitRelease[] {
  return CLOUD_INIT_SUITES.flatMap((suite) => {
    const dir = path.join(aiGatewayCache(), "cloud-init", suite);
    if (!fs.existsSync(path.join(dir, ".complete"))) {
      return [];
    }
    return [{ suite, version: fs.readFileSync(path.join(dir, "version"), "utf8").trim(), bin: path.join(dir, "bin", "cloud-init") }];
  });
}

/**
 * The venv scripts/python-packages.sh creates, with real LiteLLM and the proxy's dependencies: the
 * same path the script computes (its version and a digest of its pinned requirements), or
 * AI_GATEWAY_LITELLM_VENV. Undefined until the install has finished (its `.complete` marker).
 */
export function litellmVenv(): string | undefined {
  const given = process.env.AI_GATEWAY_LITELLM_VENV;
  if (given) {
    return fs.existsSync(path.join(given, "bin", "litellm")) ? given : undefined;
  }
  const requirements = fs.readFileSync(path.join(ROOT, "scripts", "litellm-requirements.txt"), "utf8");
  const version = /^litellm==(\S+)$/m.exec(requirements)?.[1];
  const digest = createHash("sha256").update(requirements).digest("hex").slice(0, 12);
  const dir = path.join(aiGatewayCache(), `venv-litellm-${version}-${digest}`);
  return fs.existsSync(path.join(dir, ".complete")) ? dir : undefined;
}

/**
 * The venv scripts/s3-test-packages.sh creates, with moto's S3 server and boto3: the same path the
 * script computes. Undefined until the install has finished (its `.complete` marker).
 */
export function s3TestVenv(): string | undefined {
  const requirements = fs.readFileSync(path.join(ROOT, "scripts", "s3-test-requirements.txt"), "utf8");
  const version = /^moto==(\S+)$/m.exec(requirements)?.[1];
  const digest = createHash("sha256").update(requirements).digest("hex").slice(0, 12);
  const dir = path.join(aiGatewayCache(), `venv-moto-${version}-${digest}`);
  return fs.existsSync(path.join(dir, ".complete")) ? dir : undefined;
}

/** The directory holding pg_ctl, initdb and postgres from Debian's postgresql package. */
export function postgresBinDir(): string | undefined {
  const base = "/usr/lib/postgresql";
  if (!fs.existsSync(base)) {
    return undefined;
  }
  const versions = fs
    .readdirSync(base)
    .filter((v) => fs.existsSync(path.join(base, v, "bin", "pg_ctl")))
    .sort((a, b) => Number(b) - Number(a));
  return versions.length > 0 ? path.join(base, versions[0], "bin") : undefined;
}

/**
 * `describe`, or a skipped `describe` with a message when a requirement is missing; in CI a missing
 * requirement makes the suite fail.
 */
export function describeWith(title: string, needs: Requirement[], body: () => void): void {
  const missing = needs.filter((r) => !r.met);
  if (missing.length === 0) {
    describe(title, body);
    return;
  }
  const message = `${title}: missing ${missing.map((r) => `${r.name} (${r.hint})`).join("; ")}`;
  if (process.env.CI) {
    describe(title, () => {
      test("has what it needs", () => {
        throw new Error(`${message}. CI never skips runtime tests.`);
      });
    });
    return;
  }
  console.warn(`\n*** SKIPPED ${message} ***\n`);
  describe.skip(title, body);
}

/**
 * UTF-8 whatever the test's locale: the official image's clusters are UTF8 (its LANG is
 * en_US.utf8); initdb would otherwise take the environment's, SQL_ASCII under a bare `env -i`,
 * where text such as "é" cannot be stored.
 */
export const INITDB_ENCODING = ["--encoding=UTF8", "--locale=C"];

/** initdb for a cluster in `<dir>/data` owned by POSTGRES_USER, with the password in `<dir>/pw`, as the image's initialisation does. */
export function initdbCommand(bin: string, dir: string, user: string): string[] {
  return [
    path.join(bin, "initdb"),
    "-D",
    path.join(dir, "data"),
    "-U",
    user,
    `--pwfile=${path.join(dir, "pw")}`,
    "--auth-host=scram-sha-256",
    "--auth-local=trust",
    ...INITDB_ENCODING,
  ];
}

/** psql over TCP on 127.0.0.1 (so the password is checked), running `sql` and printing bare rows. */
export function psqlOverTcpCommand(bin: string, user: string, password: string, sql: string, port?: number): string[] {
  return [
    "env",
    `PGPASSWORD=${password}`,
    path.join(bin, "psql"),
    "-w",
    "-X",
    "-h",
    "127.0.0.1",
    ...(port !== undefined ? ["-p", String(port)] : []),
    "-U",
    user,
    "-d",
    "postgres",
    "-Atc",
    sql,
  ];
}

/**
 * runtime/postgres-start.sh (copied to `<dir>/start.sh`) as PostgreSQL's container starts it: the
 * environment the program gives it for `password` (database `postgres` here), the cluster in
 * `<dir>/data`, the socket in `<dir>/sock`, TCP on 127.0.0.1, and `serverArgs` after.
 */
export function postgresStartCommand(bin: string, dir: string, password: string, serverArgs: readonly string[] = []): string[] {
  const env = postgresEnv(password).map((entry) => entry.replace(/^POSTGRES_DB=.*/, "POSTGRES_DB=postgres"));
  return [
    "env",
    `PATH=${path.join(dir, "bin")}:${bin}:/usr/bin:/bin`,
    `PGDATA=${path.join(dir, "data")}`,
    `PGHOST=${path.join(dir, "sock")}`,
    ...env,
    "sh",
    path.join(dir, "start.sh"),
    "postgres",
    "-c",
    "listen_addresses=127.0.0.1",
    "-c",
    `unix_socket_directories=${path.join(dir, "sock")}`,
    ...serverArgs,
  ];
}
