/**
 * `npm run rollback -- --stack NAME --service litellm|open-webui [--snapshot FILE]`: brings a
 * service back to where it was before an upgrade. The newest `pre-upgrade-<service>` snapshot (or
 * the one given) was taken just before the upgrade replaced anything; its record's image is the
 * pin before the upgrade. The rollback restores that snapshot (tools/restore.ts), sets the stack's
 * litellmImage / openWebuiImage back to that pin, and runs `pulumi up`, which puts the old image
 * back (its migration step and its container run on the restored data).
 *
 * If the service's container still runs the old image (the upgrade failed before replacing it), it
 * is started again right after the restore. If it runs the new one, it stays stopped until the
 * `pulumi up` replaces it: starting it would run the new image's migrations over the restored data.
 *
 * Prints each step. Exit codes: 0 rolled back, 1 a step failed (one line), 2 bad usage or no such
 * snapshot.
 */
import { BACKUP_SERVICE_NAMES } from "../lib/backups";
import { imageId, inspectContainer } from "../lib/dockerExec";
import { failureLine, performRestore, planRestore, RestoreFailed, Say } from "./restore";
import { IMAGE_SETTING, parseRollbackArgs, restartAfterRestore, UsageError } from "./restoreArgs";

async function main(argv: readonly string[]): Promise<number> {
  const options = parseRollbackArgs(argv);
  const say: Say = (line) => process.stdout.write(`${line}\n`);
  const name = BACKUP_SERVICE_NAMES[options.service];
  say(`rollback of ${name} on stack ${options.stack}`);
  const plan = await planRestore({ stack: options.stack, cwd: process.cwd(), service: options.service, snapshot: options.snapshot });
  const previous = plan.record.image;
  say(`1/4 snapshot ${plan.record.file}, taken ${plan.record.created} before ${name} left ${previous}`);

  const running = await inspectContainer(plan.endpoint, plan.target.serviceContainer);
  const restart = restartAfterRestore(running.imageId, await imageId(plan.endpoint, previous));
  say(
    restart
      ? `2/4 ${plan.target.serviceContainer} still runs ${previous}: restoring, then starting it`
      : `2/4 ${plan.target.serviceContainer} runs another image: restoring, and leaving it stopped for pulumi up to replace`,
  );
  await performRestore(plan, { restart, say: (line) => say(`    ${line}`) });

  const setting = IMAGE_SETTING[options.service];
  say(`3/4 pulumi config set ${setting} ${previous}`);
  await plan.stack.setConfig(setting, { value: previous });

  say(`4/4 pulumi up`);
  try {
    await plan.stack.up({ onOutput: (out) => process.stdout.write(out) });
  } catch (e) {
    throw new RestoreFailed(`pulumi up after the restore failed (${setting} is set to ${previous}): ${failureLine(e as Error)}`);
  }
  say(`rolled back ${name} of stack ${options.stack} to ${previous} with the data of ${plan.record.file}`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: Error) => {
    process.stderr.write(`rollback: ${failureLine(error)}\n`);
    process.exit(error instanceof UsageError ? 2 : 1);
  },
);
