/**
 * Stand-ins of the commands the readiness gate runs on a new server (lib/hostReadiness.ts), put
 * first on the logged-in user's PATH (sshd_config SetEnv):
 *
 * - `cloud-init` stands in for `cloud-init status [--wait] [--long]` as cloudinit/cmd/status.py
 *   (26.2, VERIFIED) behaves: with --wait one "." per 0.25 s poll while cloud-init runs, then
 *   `status: <done|error>` and, with --long, the extended fields (TABULAR_LONG_TMPL); exit 0 done,
 *   1 error, 2 done with recoverable errors; argparse's usage error on an unknown option (exit 2).
 *   The test sets its output, status and number of polls.
 * - `docker` stands in for `docker info --format '{{.ServerVersion}}'`: while the daemon does not
 *   answer, the CLI prints "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is
 *   the docker daemon running?" and exits 1 (VERIFIED with the docker 28.5 CLI here, daemon
 *   stopped); then the version. Left out (RemoteCommands(false)) where the real CLI and engine answer.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const CLOUD_INIT_STUB = `#!/bin/sh
# Stand-in of \`cloud-init status\` (cloudinit/cmd/status.py); its behaviour is set by files next to it.
dir=$(dirname "$0")
echo "$*" >> "$dir/cloud-init.calls"
usage() {
  echo "usage: cloud-init status [-h] [--format {json,tabular,yaml}] [-l] [-w]" >&2
  echo "cloud-init status: error: unrecognized arguments: $1" >&2
  exit 2
}
[ "$1" = status ] || usage "$1"
shift
for arg in "$@"; do
  case "$arg" in
    --wait | -w | --long | -l) grep -qx -- "$arg" "$dir/cloud-init.unknown-options" 2>/dev/null && usage "$arg" ;;
    *) usage "$arg" ;;
  esac
done
polls=$(cat "$dir/cloud-init.polls")
while [ "$polls" -gt 0 ]; do printf .; sleep 0.25; polls=$((polls - 1)); done
cat "$dir/cloud-init.output"
exit "$(cat "$dir/cloud-init.exit")"
`;

const DOCKER_STUB = `#!/bin/sh
# Stand-in of \`docker info --format '{{.ServerVersion}}'\`: fails as the CLI does while the daemon does not answer, then answers.
dir=$(dirname "$0")
echo "$*" >> "$dir/docker.calls"
[ "$*" = "info --format {{.ServerVersion}}" ] || { echo "unexpected docker arguments: $*" >&2; exit 64; }
if [ "$(wc -l < "$dir/docker.calls")" -le "$(cat "$dir/docker.failures")" ]; then
  echo
  echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?" >&2
  exit 1
fi
echo 28.5.2
`;

/** `cloud-init status --long` output as status.py prints it (tabular). */
export function cloudInitLong(status: string, extended: string, errors: string[] = [], recoverable: Record<string, string[]> = {}): string {
  const errorLines = errors.length ? errors.map((e) => `\n\t- ${e}`).join("") : " []";
  const recoverableLines = Object.keys(recoverable).length
    ? "\n" +
      Object.entries(recoverable)
        .map(([level, messages]) => `${level}:${messages.map((m) => `\n\t- ${m}`).join("")}`)
        .join("\n")
    : " {}";
  return [
    `status: ${status}`,
    `extended_status: ${extended}`,
    "boot_status_code: enabled-by-generator",
    "last_update: Thu, 01 Jan 1970 00:03:41 +0000",
    "detail: DataSourceHetzner",
    `errors:${errorLines}`,
    `recoverable_errors:${recoverableLines}`,
    "",
  ].join("\n");
}

/** The stand-ins' directory, first on the logged-in user's PATH, and the knobs the tests turn. */
export class RemoteCommands {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), "aigw-readiness-bin-"));

  constructor(withDocker: boolean) {
    // Readable and runnable by any user a test logs in as (mkdtemp makes the directory 0700).
    fs.chmodSync(this.dir, 0o755);
    fs.writeFileSync(path.join(this.dir, "cloud-init"), CLOUD_INIT_STUB, { mode: 0o755 });
    if (withDocker) {
      fs.writeFileSync(path.join(this.dir, "docker"), DOCKER_STUB, { mode: 0o755 });
    }
    this.reset();
  }

  /** cloud-init done and healthy, Docker answering at once; no calls recorded. */
  reset(): void {
    for (const file of ["cloud-init.calls", "docker.calls", "cloud-init.unknown-options"]) {
      fs.rmSync(path.join(this.dir, file), { force: true });
    }
    // The stand-ins append to these as whichever user runs them.
    for (const file of ["cloud-init.calls", "docker.calls"]) {
      fs.writeFileSync(path.join(this.dir, file), "", { mode: 0o666 });
      fs.chmodSync(path.join(this.dir, file), 0o666);
    }
    this.cloudInit(0, cloudInitLong("done", "done"));
    this.dockerFailures(0);
  }

  cloudInit(exitCode: number, output: string, polls = 0): void {
    fs.writeFileSync(path.join(this.dir, "cloud-init.exit"), `${exitCode}\n`);
    fs.writeFileSync(path.join(this.dir, "cloud-init.output"), output);
    fs.writeFileSync(path.join(this.dir, "cloud-init.polls"), `${polls}\n`);
  }

  /** Options the stand-in refuses as an older cloud-init's argparse would. */
  unknownOptions(...options: string[]): void {
    fs.writeFileSync(path.join(this.dir, "cloud-init.unknown-options"), options.map((o) => `${o}\n`).join(""));
  }

  dockerFailures(count: number): void {
    fs.writeFileSync(path.join(this.dir, "docker.failures"), `${count}\n`);
  }

  calls(command: "cloud-init" | "docker"): string[] {
    const file = path.join(this.dir, `${command}.calls`);
    return fs.readFileSync(file, "utf8").split("\n").filter(Boolean);
  }

  /** The sshd_config line that puts the stand-ins first for every session. */
  sshdSetting(): string {
    return `SetEnv PATH=${this.dir}:/usr/local/bin:/usr/bin:/bin`;
  }

  remove(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
