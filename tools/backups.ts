/**
 * `npm run backups -- status --stack NAME`: each service's newest scheduled snapshot and its age;
 * exit 1 when one is twice the backup interval old or more, or there is none (so cron or a CI
 * schedule can alert), 2 on a bad command line. `npm run backups -- list --stack NAME`: every
 * snapshot kept. It reads the stack's `backups` output and Docker endpoint through the Pulumi
 * Automation API in the project directory (cwd), and execs the backup scripts' status and list
 * commands (lib/backups.ts) in the two backup containers over the Engine API, as the stack's
 * steps do (lib/dockerExec.ts).
 */
import { LocalWorkspace, OutputMap, Stack } from "@pulumi/pulumi/automation";
import {
  BACKUP_SERVICES,
  BackupService,
  BACKUP_SERVICE_NAMES,
  BackupStatus,
  listSnapshotsCommand,
  parseSnapshotRecord,
  statusCommand,
} from "../lib/backups";
import { BackupsOutput, parseBackupsArgs, renderList, renderStatus, ServiceBackups, statusExitCode, statusRows } from "../lib/backupReport";
import { DockerEndpoint, execInContainer } from "../lib/dockerExec";
import { sshHostKey } from "../lib/dockerEndpoint";
import { DEFAULTS } from "../lib/settings";
import { UsageError } from "../lib/smoke";
import { scrubSecrets } from "../lib/scrub";

function output<T>(outputs: OutputMap, name: string): T {
  const value = outputs[name]?.value;
  if (value === undefined) {
    throw new Error(`the stack has no ${name} output: run \`pulumi up\` with this version of the package first`);
  }
  return value as T;
}

/** The Docker endpoint the stack deploys to, as its docker provider reaches it (config, or the VPS's outputs). */
async function endpointOf(stack: Stack, outputs: OutputMap): Promise<DockerEndpoint> {
  const config = await stack.getAllConfig();
  const setting = (key: string) => config[`ai-gateway:${key}`]?.value;
  const sshOpts = setting("dockerSshOpts") ? (JSON.parse(setting("dockerSshOpts")!) as string[]) : [];
  const vps = outputs.vps?.value as { dockerHost: string; sshHostKey: string } | undefined;
  if (vps) {
    return { host: vps.dockerHost, sshHostKey: vps.sshHostKey, sshOpts };
  }
  const [ca, cert, key] = ["dockerTlsCa", "dockerTlsCert", "dockerTlsKey"].map(setting);
  return {
    host: setting("dockerHost") ?? DEFAULTS.dockerHost,
    sshOpts,
    sshHostKey: setting("dockerSshHostKey") !== undefined ? sshHostKey("dockerSshHostKey", setting("dockerSshHostKey")) : undefined,
    tls: ca && cert && key ? { ca, cert, key } : undefined,
  };
}

async function run(endpoint: DockerEndpoint, container: string, argv: string[]): Promise<string> {
  const result = await execInContainer(endpoint, container, argv, "", 60000);
  if (result.exitCode !== 0) {
    throw new Error(
      `${argv.slice(1).join(" ")} in ${container} exited with ${result.exitCode}: ${result.stderr.trim().split("\n").pop() ?? ""}`,
    );
  }
  return result.stdout;
}

async function serviceBackups(endpoint: DockerEndpoint, backups: BackupsOutput, service: BackupService): Promise<ServiceBackups> {
  const container = backups.containers[BACKUP_SERVICE_NAMES[service]];
  const status = JSON.parse((await run(endpoint, container, statusCommand(service))).trim()) as BackupStatus;
  const snapshots = (await run(endpoint, container, listSnapshotsCommand(service)))
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map(parseSnapshotRecord);
  return { service, status, snapshots };
}

async function main(argv: readonly string[]): Promise<number> {
  const command = parseBackupsArgs(argv);
  const stack = await LocalWorkspace.selectStack({ stackName: command.stack, workDir: process.cwd() });
  const outputs = await stack.outputs();
  const backups = output<BackupsOutput>(outputs, "backups");
  const endpoint = await endpointOf(stack, outputs);
  const services = await Promise.all(BACKUP_SERVICES.map((service) => serviceBackups(endpoint, backups, service)));
  if (command.action === "list") {
    process.stdout.write(`${renderList(services) || "no snapshots"}\n`);
    return 0;
  }
  const rows = statusRows(backups, services, Date.now());
  process.stdout.write(`backups of stack ${command.stack}\n${renderStatus(rows)}\n`);
  return statusExitCode(rows);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: Error) => {
    // One line, never a secret: the Automation API's errors start with "code: 255"; the CLI's own line says what went wrong.
    const lines = String(error.message).split("\n");
    const line = lines.find((l) => /\berror: /.test(l))?.trim() ?? lines[0];
    process.stderr.write(`backups: ${scrubSecrets(line, [], 300)}\n`);
    process.exit(error instanceof UsageError ? 2 : 1);
  },
);
