/**
 * `npm run restore -- --stack NAME --service litellm|open-webui --snapshot FILE|latest|latest-pre-upgrade [--yes]`:
 * puts a snapshot of the backups volume back over a service's live data. It finds the stack's
 * containers and Docker endpoint in the stack's state (through the Pulumi Automation API in the
 * project directory, with whatever backend and secrets provider the environment selects), talks to
 * the engine the way the stack's own steps do (lib/dockerExec: unix socket, tcp with TLS, or ssh://
 * with the pinned host key, so a VPS stack works from the machine that deploys it), and then:
 * resolves the snapshot with the backup container's `list`; stops the service's container (for
 * LiteLLM that is the only writer of its database: the key registration writes through it); runs
 * `restore` in the backup container; starts the service again and waits until it is healthy.
 *
 * Exit codes: 0 restored, 1 a step failed (one line), 2 a bad command line or a snapshot that is
 * not there (one line naming it and the newest that are). Nothing printed holds a secret.
 */
import * as readline from "readline";
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { BACKUP_SERVICE_NAMES, BackupService, listSnapshotsCommand, restoreCommand, SnapshotRecord } from "../lib/backups";
import { DockerEndpoint, endpointOf, execInContainer, inspectContainer, lastLines, startContainer, stopContainer } from "../lib/dockerExec";
import { scrubSecrets } from "../lib/scrub";
import {
  confirmation,
  parseRestoreArgs,
  parseSnapshotList,
  resolveSnapshot,
  RestoreTarget,
  restoreTargetInState,
  UsageError,
} from "./restoreArgs";

/** How long `list` may take, and `restore` (a large database or volume). */
const LIST_TIMEOUT_MS = 2 * 60 * 1000;
const RESTORE_TIMEOUT_MS = 60 * 60 * 1000;
/** How long a service may take to become healthy again (LiteLLM's start on a large database). */
const HEALTHY_TIMEOUT_MS = 10 * 60 * 1000;
/** The services' stop grace (components/serviceContainer.ts' default is 10 s): SIGTERM, then SIGKILL. */
const STOP_GRACE_SECONDS = 30;

/** What restoreSnapshot is asked to do. */
export interface RestoreRequest {
  /** The stack's name. */
  readonly stack: string;
  /** The project directory (Pulumi.yaml). */
  readonly cwd: string;
  readonly service: BackupService;
  /** A snapshot's file name, "latest" or "latest-pre-upgrade". */
  readonly snapshot: string;
}

/** A restore resolved against the stack: where, and which snapshot. */
export interface RestorePlan {
  readonly stack: Stack;
  readonly service: BackupService;
  readonly target: RestoreTarget;
  readonly endpoint: DockerEndpoint;
  readonly record: SnapshotRecord;
  /** Values no message may show (the Docker TLS key). */
  readonly secrets: readonly string[];
}

/** Everything this tool prints goes through here: one line each. */
export type Say = (line: string) => void;

const quiet: Say = () => undefined;

/** A step failed: its message is the one line the tools print (already scrubbed). */
export class RestoreFailed extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RestoreFailed";
  }
}

/** The stack, its state read through the Automation API (secrets shown: the TLS key stays in this process). */
export async function openStack(stackName: string, cwd: string): Promise<{ stack: Stack; deployment: unknown }> {
  const stack = await LocalWorkspace.selectStack({ stackName, workDir: cwd });
  const exported = await stack.exportStack();
  return { stack, deployment: exported.deployment };
}

/** Finds the stack's containers and the snapshot `request.snapshot` names; a missing one is a UsageError. */
export async function planRestore(request: RestoreRequest): Promise<RestorePlan> {
  const { stack, deployment } = await openStack(request.stack, request.cwd);
  const target = restoreTargetInState(deployment, request.stack, request.service);
  const endpoint = endpointOf(target.endpoint);
  const secrets = target.endpoint.dockerTls ? [target.endpoint.dockerTls.key] : [];
  const listed = await execInContainer(endpoint, target.backupContainer, listSnapshotsCommand(request.service), "", LIST_TIMEOUT_MS);
  if (listed.exitCode !== 0) {
    throw new RestoreFailed(
      scrubSecrets(`listing the snapshots in ${target.backupContainer} failed (exit ${listed.exitCode}): ${lastLines(listed, 6)}`, secrets),
    );
  }
  const record = resolveSnapshot(parseSnapshotList(listed.stdout), request.service, request.snapshot);
  return { stack, service: request.service, target, endpoint, record, secrets };
}

/** Polls the container until the engine reports it healthy (or running, without a healthcheck). */
async function waitHealthy(endpoint: DockerEndpoint, container: string, secrets: readonly string[]): Promise<void> {
  const deadline = Date.now() + HEALTHY_TIMEOUT_MS;
  for (;;) {
    const state = await inspectContainer(endpoint, container);
    if (state.running && (state.health === undefined || state.health === "healthy")) {
      return;
    }
    if (!state.running && state.status !== "restarting" && state.status !== "created") {
      throw new RestoreFailed(`${container} stopped (${state.status}) after the restore: see docker logs ${container}`);
    }
    if (Date.now() > deadline) {
      const why = state.lastHealthOutput ? `; its last healthcheck said: ${state.lastHealthOutput}` : "";
      throw new RestoreFailed(
        scrubSecrets(
          `${container} is not healthy ${HEALTHY_TIMEOUT_MS / 60000} minutes after the restore (${state.health ?? state.status})${why}`,
          secrets,
        ),
      );
    }
    await new Promise((r) => setTimeout(r, 2000));
  }
}

/**
 * Restores `plan.record` over the service's live data: stops the service's container, runs the
 * backup container's restore, then (unless `restart` is false: a rollback whose `pulumi up`
 * replaces the container) starts it and waits until it is healthy.
 */
export async function performRestore(plan: RestorePlan, options: { restart?: boolean; say?: Say } = {}): Promise<void> {
  const say = options.say ?? quiet;
  const { endpoint, target, record, secrets } = plan;
  const fail = (what: string, e: unknown): RestoreFailed =>
    e instanceof RestoreFailed ? e : new RestoreFailed(scrubSecrets(`${what}: ${(e as Error).message}`, secrets));
  say(`stopping ${target.serviceContainer}`);
  try {
    await stopContainer(endpoint, target.serviceContainer, STOP_GRACE_SECONDS);
  } catch (e) {
    throw fail(`stopping ${target.serviceContainer} failed`, e);
  }
  say(`restoring ${record.file} (taken ${record.created}, ${record.image}) in ${target.backupContainer}`);
  let result;
  try {
    result = await execInContainer(endpoint, target.backupContainer, restoreCommand(plan.service, record.file), "", RESTORE_TIMEOUT_MS);
  } catch (e) {
    throw fail(`restoring ${record.file} failed (${target.serviceContainer} is left stopped)`, e);
  }
  if (result.exitCode !== 0) {
    throw new RestoreFailed(
      scrubSecrets(
        `restoring ${record.file} failed (exit ${result.exitCode}; ${target.serviceContainer} is left stopped): ${lastLines(result, 6)}`,
        secrets,
      ),
    );
  }
  if (options.restart === false) {
    say(`${target.serviceContainer} stays stopped until pulumi up replaces it`);
    return;
  }
  say(`starting ${target.serviceContainer}`);
  try {
    await startContainer(endpoint, target.serviceContainer);
    await waitHealthy(endpoint, target.serviceContainer, secrets);
  } catch (e) {
    throw fail(`starting ${target.serviceContainer} after the restore failed`, e);
  }
  say(`${target.serviceContainer} is healthy`);
}

/**
 * Restores a snapshot of the backups volume over a service's live data and waits until the
 * service is healthy again. Resolves to the snapshot's file and the image pin it was taken with;
 * rejects with a UsageError (the stack or snapshot is not there) or a RestoreFailed (one line).
 */
export async function restoreSnapshot(opts: RestoreRequest): Promise<{ restored: string; image: string }> {
  const plan = await planRestore(opts);
  await performRestore(plan);
  return { restored: plan.record.file, image: plan.record.image };
}

/** One line for a failure: the CLI's own error line for a Pulumi failure, never a secret (scrubbed of key shapes). */
export function failureLine(error: Error): string {
  const lines = String(error.message).split("\n");
  const line = lines.find((l) => /\berror: /.test(l))?.trim() ?? lines[0];
  return scrubSecrets(line, [], 500);
}

async function ask(question: string): Promise<boolean> {
  const rl = readline.createInterface({ input: process.stdin, output: process.stdout });
  try {
    const answer = await new Promise<string>((resolve) => rl.question(question, resolve));
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

async function main(argv: readonly string[]): Promise<number> {
  const options = parseRestoreArgs(argv);
  const decision = confirmation(options, process.stdin.isTTY === true);
  const say: Say = (line) => process.stdout.write(`${line}\n`);
  const plan = await planRestore({ stack: options.stack, cwd: process.cwd(), service: options.service, snapshot: options.snapshot });
  const name = BACKUP_SERVICE_NAMES[options.service];
  if (decision === "ask" && !(await ask(`restore ${plan.record.file} over ${name}'s live data on stack ${options.stack}? [y/N] `))) {
    say("nothing restored");
    return 1;
  }
  await performRestore(plan, { say });
  say(`restored ${name} of stack ${options.stack} from ${plan.record.file} (taken ${plan.record.created} with ${plan.record.image})`);
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: Error) => {
      process.stderr.write(`restore: ${failureLine(error)}\n`);
      process.exit(error instanceof UsageError ? 2 : 1);
    },
  );
}
